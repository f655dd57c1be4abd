// The pxd driver, built on this project's own subset of the OpenStorage proto, against the upstream osd
// server (fake driver): the same calls the extender's cache and the health monitor make, answered by the
// reference implementation. osd's fake driver has one node and places no replicas, so replica-aware
// behaviour is tested against the simulator instead (src/simulator/pxd-driver.test.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOsd, type OsdServer } from '../../src/box/osd/server.js';
import { DriverError } from '../../src/drivers/driver.js';
import { waitFor } from '../../src/lib/wait.js';
import { PortworxDriver } from '../../src/drivers/portworx/portworx-driver.js';
import { GroupSnapshotRefused } from '../../src/drivers/portworx/group-snapshots.js';

function missingTool(): string | undefined {
  if (process.platform !== 'linux') return 'osd runs in Linux namespaces';
  const path = [...(process.env.PATH ?? '').split(':'), '/usr/local/go/bin', '/usr/sbin', '/sbin'];
  return ['go', 'unshare', 'ip'].find((tool) => !path.some((dir) => dir && existsSync(join(dir, tool))));
}

const missing = missingTool();
// On CI nothing may be skipped silently: a missing tool is a broken install step.
if (missing && process.env.CI) throw new Error(`pxd-osd protocol test needs ${missing}`);

describe.skipIf(missing !== undefined)('pxd driver against upstream osd', () => {
  let osd: OsdServer | undefined;
  let driver: PortworxDriver | undefined;
  let volumeId = '';

  beforeAll(async () => {
    osd = await startOsd({
      clusterId: 'pxd-check',
      nodeId: 'osd-node-0',
      schedulerNodeName: 'node-1',
      log: (l) => console.error(l),
    });
    const pxd = new PortworxDriver({ endpoint: osd.sdkEndpoint, callTimeoutMs: 10_000 });
    driver = pxd;
    const created = await pxd.sdk.call('OpenStorageVolume/Create', {
      name: 'pxd-check-volume',
      spec: { size: String(2 ** 30), ha_level: 1 },
      labels: { app: 'check' },
    });
    volumeId = created.volume_id;
  }, 1_200_000);

  afterAll(async () => {
    await driver?.close();
    await osd?.stop();
  });

  const pxd = (): PortworxDriver => {
    if (!driver) throw new Error('osd did not start (see beforeAll)');
    return driver;
  };

  it('reads the SDK version and cluster', async () => {
    const version = await pxd().version();
    expect(version.driver).toBe('fake');
    expect(version.sdkVersion).toMatch(/^0\.\d+\.\d+$/);
  });

  it('lists and inspects the node with its status and addresses', async () => {
    // osd's one node can drop out of quorum for a moment when its gossip heartbeat is late (a starved
    // process on a busy machine) and comes back by itself: wait out such a moment.
    const nodes = await waitFor(
      'osd node Online',
      async () => {
        const listed = await pxd().listNodes();
        return listed.every((n) => n.status === 'Online') && listed;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(nodes).toHaveLength(1);
    const [node] = nodes;
    expect(node?.id).toBe('osd-node-0');
    expect(node?.status).toBe('Online');
    expect(node?.ips).toContain('127.0.0.1');
    expect(node?.schedulerNodeName).toBe('node-1');
    expect(await pxd().inspectNode('osd-node-0')).toEqual(node);
  });

  it('reports an unknown node as a driver error naming it', async () => {
    // osd answers INTERNAL ("Unable to locate node"), not NOT_FOUND, so callers must not rely on
    // DriverNotFoundError for nodes: the health monitor treats any error as "status unknown" and acts on none.
    const failure = pxd().inspectNode('no-such-node');
    await expect(failure).rejects.toBeInstanceOf(DriverError);
    await expect(failure).rejects.toThrow(/no-such-node/);
  });

  it('lists volumes', async () => {
    const listed = await pxd().listVolumes();
    const volume = listed.find((v) => v.id === volumeId);
    expect(volume).toMatchObject({ name: 'pxd-check-volume', sizeBytes: 2 ** 30 });
    expect(volume?.labels.app).toBe('check');
  });

  it("sends the group snapshot to osd's REST route, which its fake driver refuses as not supported", async () => {
    // osd decodes the JSON body before it asks the driver: a body it could not decode would be refused
    // with the decoder's error instead, so this answer shows the path, the method and the body are right.
    const withRest = new PortworxDriver({
      endpoint: osd?.sdkEndpoint ?? '',
      restEndpoint: osd?.mgmtEndpoint ?? '',
    });
    try {
      const group = withRest.snapshots.groupCall();
      expect(group).toBeDefined();
      const refused = await group
        ?.snapshotGroup([volumeId], { 'stork.libopenstorage.org/group-snapshot-uid': 'g' })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(refused).toBeInstanceOf(GroupSnapshotRefused);
      expect(String(refused)).toMatch(/refused \(400\): Operation not supported/);
    } finally {
      await withRest.close();
    }
  });

  it('finds snapshots by their labels across volumes (what a restarted group looks for)', async () => {
    const snapshots = pxd().snapshots;
    const labels = { 'stork.libopenstorage.org/group-snapshot-uid': 'labelled-check' };
    const taken = await snapshots.createSnapshot(volumeId, 'snapshot-labelled-check', labels);
    const other = await snapshots.createSnapshot(volumeId, 'snapshot-unlabelled-check', { app: 'x' });
    try {
      const withRest = new PortworxDriver({
        endpoint: osd?.sdkEndpoint ?? '',
        restEndpoint: osd?.mgmtEndpoint ?? '',
      });
      try {
        const found = await withRest.snapshots.groupCall()?.findLabelled(labels);
        expect(found?.map((s) => s.id)).toEqual([taken.id]);
        expect(found?.[0]?.volumeId).toBe(volumeId);
      } finally {
        await withRest.close();
      }
    } finally {
      await snapshots.deleteSnapshot(taken.id);
      await snapshots.deleteSnapshot(other.id);
    }
  });

  it('takes, finds, restores and deletes a snapshot the way the snapshot controller does', async () => {
    const snapshots = pxd().snapshots;
    const taken = await snapshots.createSnapshot(volumeId, 'snapshot-check-uid', {
      'kubernetes.io/created-for/snapshot/uid': 'check-uid',
    });
    expect(taken.volumeId).toBe(volumeId);
    expect(taken.ready).toBe(true);
    expect((await snapshots.findSnapshot('snapshot-check-uid'))?.id).toBe(taken.id);
    expect((await snapshots.inspectSnapshot(taken.id))?.id).toBe(taken.id);
    const restored = await snapshots.restoreSnapshot(taken.id, 'pvc-check-uid', {});
    expect(restored.parentId).toBe(taken.id);
    expect((await snapshots.findVolume('pvc-check-uid'))?.id).toBe(restored.id);
    await snapshots.deleteVolume(restored.id);
    await snapshots.deleteSnapshot(taken.id);
    expect(await snapshots.inspectSnapshot(taken.id)).toBeUndefined();
    expect(await snapshots.findVolume('pvc-check-uid')).toBeUndefined();
  });
});
