import { mkdtempSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PersistentVolume, PersistentVolumeClaim } from '../../src/wire/k8s-types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoxCsi, localCsiDriver, localSnapshotClass, localStorageClass } from '../../src/box/csi/box-csi.js';
import { runCommand } from '../../src/box/command.js';
import {
  csiSnapshotClassAnnotation,
  csiSnapshotResources,
  type CsiVolumeSnapshot,
  type CsiVolumeSnapshotContent,
} from '../../src/drivers/csi/csi-snapshots.js';
import type { Rule, RuleItem } from '../../src/k8s/crds/rule.js';
import type { VolumeSnapshot, VolumeSnapshotData } from '../../src/k8s/crds/volume-snapshot.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { createTestNamespace, isRunning, testPod, waitForPod } from './helpers.js';
import { useStorkBox } from './stork-helpers.js';

const gib = 2 ** 30;
const markerDir = mkdtempSync(join(tmpdir(), 'stork-csisnap-markers-'));
const logDir = mkdtempSync(join(tmpdir(), 'stork-csisnap-'));

/**
 * Stork's VolumeSnapshot API on CSI storage, with real bytes: the upstream external-snapshotter (sidecar
 * per node, snapshot-controller) over the box's local CSI plugin, whose snapshots are tar archives of the
 * volume's directory. KWOK runs a pod's exec on this host, so a rule's command writes into the volume's
 * directory; what the archive holds is what the volume held when the snapshot was cut.
 */
describe('application-consistent snapshots on CSI storage', () => {
  const ctx = useStorkBox({
    box: { nodes: [{ name: 'node-1' }] },
    stork: {
      driver: 'csi',
      driverEndpoint: '',
      csiDriverNames: [localCsiDriver],
      rulesConfig: {
        markerDir,
        commandTimeoutMs: 15_000,
        commandAttempts: 2,
        retryIntervalMs: 100,
        backgroundReadyTimeoutMs: 15_000,
        backgroundPollIntervalMs: 100,
        releaseRetryIntervalMs: 100,
        releaseExitTimeoutMs: 20_000,
      },
    },
  });
  const api = () => ctx.box.api;
  let csi: BoxCsi | undefined;
  let ns = '';
  /** The claim's volume directory on node-1's storage. */
  let volumeDir = '';

  beforeAll(async () => {
    csi = await BoxCsi.start(ctx.box, {
      nodes: [{ name: 'node-1', capacityBytes: 8 * gib }],
      snapshots: true,
    });
    ns = await createTestNamespace(api(), 'csisnap');
    const claim: PersistentVolumeClaim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: ns },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: localStorageClass,
        resources: { requests: { storage: '1Gi' } },
      },
    };
    await api().create(resources.persistentVolumeClaims, claim, ns);
    await api().create(
      resources.pods,
      testPod('db', { schedulerName: 'stork', labels: { app: 'db' }, claims: ['data'] }),
      ns,
    );
    await waitForPod(api(), ns, 'db', isRunning, 90_000);
    const bound = await api().get<PersistentVolumeClaim>(resources.persistentVolumeClaims, {
      namespace: ns,
      name: 'data',
    });
    const pv = await api().get<PersistentVolume>(resources.persistentVolumes, {
      name: bound.spec?.volumeName ?? '',
    });
    volumeDir = csi.plugins.get('node-1')?.dataDir(pv.spec?.csi?.volumeHandle ?? '') ?? '';
    await mkdir(volumeDir, { recursive: true });
    await writeFile(join(volumeDir, 'table.txt'), 'data\n');
  }, 600_000);

  afterAll(async () => {
    await csi?.stop();
    await rm(markerDir, { recursive: true, force: true });
    await rm(logDir, { recursive: true, force: true });
  });

  let rules = 0;
  async function rule(items: RuleItem[]): Promise<string> {
    const name = `rule-${++rules}`;
    const body: Rule = {
      apiVersion: 'stork.libopenstorage.org/v1alpha1',
      kind: 'Rule',
      metadata: { name },
      rules: items,
    };
    await api().create(resources.rules, body, ns);
    return name;
  }
  const command = (value: string, background = false): RuleItem => ({
    podSelector: { app: 'db' },
    actions: [{ type: 'command', value, ...(background ? { background: true } : {}) }],
  });

  async function snapshot(name: string, annotations: Record<string, string>): Promise<void> {
    await api().create<VolumeSnapshot>(
      resources.volumeSnapshots,
      {
        apiVersion: 'volumesnapshot.external-storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name, annotations },
        spec: { persistentVolumeClaimName: 'data' },
      },
      ns,
    );
  }
  async function settled(name: string): Promise<VolumeSnapshot> {
    return waitFor(
      `snapshot ${ns}/${name} Ready or Error`,
      async () => {
        const s = await api().get<VolumeSnapshot>(resources.volumeSnapshots, { namespace: ns, name });
        const type = s.status?.conditions?.at(-1)?.type;
        return type === 'Ready' || type === 'Error' ? s : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );
  }
  const csiSnapshots = async (): Promise<CsiVolumeSnapshot[]> =>
    (await api().list<CsiVolumeSnapshot>(csiSnapshotResources.volumeSnapshots, ns)).items;

  /** The files of a CSI snapshot's archive on node-1's storage, by its content's snapshot handle. */
  async function archived(contentName: string): Promise<{ archive: string; files: Record<string, string> }> {
    const content = await api().get<CsiVolumeSnapshotContent>(csiSnapshotResources.volumeSnapshotContents, {
      name: contentName,
    });
    const handle = content.status?.snapshotHandle ?? '';
    const archive = join(csi?.plugins.get('node-1')?.options.stateDir ?? '', 'snapshots', `${handle}.tgz`);
    const out = join(logDir, `unpacked-${handle}`);
    await mkdir(out, { recursive: true });
    await runCommand('tar', ['-xzf', archive, '-C', out]);
    return { archive, files: { 'table.txt': await readFile(join(out, 'table.txt'), 'utf8') } };
  }

  it('cuts the CSI snapshot between the pre- and post-rule: the archive has the pre marker, not the post one', async () => {
    const table = join(volumeDir, 'table.txt');
    const pre = await rule([command(`echo pre >> ${table}`)]);
    const post = await rule([command(`echo post >> ${table}`)]);
    await snapshot('consistent', {
      'stork.libopenstorage.org/pre-snapshot-rule': pre,
      'stork.libopenstorage.org/post-snapshot-rule': post,
    });
    const snap = await settled('consistent');
    expect(snap.status?.conditions?.at(-1), JSON.stringify(snap.status)).toMatchObject({ type: 'Ready' });
    const [csiSnapshot] = await csiSnapshots();
    expect(csiSnapshot?.metadata.name).toBe(`snapshot-${snap.metadata.uid ?? ''}`);
    expect(csiSnapshot?.spec.volumeSnapshotClassName).toBe(localSnapshotClass);
    expect(csiSnapshot?.status?.readyToUse).toBe(true);
    const data = await api().get<VolumeSnapshotData>(resources.volumeSnapshotDatas, {
      name: snap.spec.snapshotDataName ?? '',
    });
    const contentName = csiSnapshot?.status?.boundVolumeSnapshotContentName ?? '';
    expect(data.spec.csiSnapshot).toMatchObject({ namespace: ns, volumeSnapshotContentName: contentName });
    const { archive, files } = await archived(contentName);
    expect(files['table.txt']).toBe('data\npre\n');
    expect(await readFile(table, 'utf8')).toBe('data\npre\npost\n');

    // Deleting the seed snapshot deletes the CSI snapshot, and the class's Delete policy the content and
    // the archive.
    await api().delete(resources.volumeSnapshots, { namespace: ns, name: 'consistent' });
    await waitFor(
      'the CSI snapshot, its content and its archive gone',
      async () => {
        const left = (await csiSnapshots()).length;
        const content = await api()
          .get(csiSnapshotResources.volumeSnapshotContents, { name: contentName })
          .then(
            () => true,
            () => false,
          );
        const file = await stat(archive).then(
          () => true,
          () => false,
        );
        return left === 0 && !content && !file;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  });

  it('holds a background pre-rule exactly while the CSI snapshot is cut', async () => {
    const log = join(logDir, 'bg.log');
    const stamp = (word: string): string => `echo "${word} $(date +%s%3N)" >> ${log}`;
    const pre = await rule([command(`${stamp('locked')}; \${WAIT_CMD}; ${stamp('unlocked')}`, true)]);
    await snapshot('held', { 'stork.libopenstorage.org/pre-snapshot-rule': pre });
    const snap = await settled('held');
    expect(snap.status?.conditions?.at(-1), JSON.stringify(snap.status)).toMatchObject({ type: 'Ready' });
    const [csiSnapshot] = (await csiSnapshots()).filter(
      (s) => s.metadata.name === `snapshot-${snap.metadata.uid ?? ''}`,
    );
    const cut = Date.parse(csiSnapshot?.status?.creationTime ?? '');
    const lines = await waitFor(
      'the background command released',
      async () => {
        const text = await readFile(log, 'utf8').catch(() => '');
        return /unlocked/.test(text) ? text.trim().split('\n') : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const at = (word: string): number => Number(lines.find((l) => l.startsWith(`${word} `))?.split(' ')[1]);
    // creationTime has a resolution of one second (the plugin's): locked before the end of that second,
    // released no earlier than its start.
    expect(at('locked')).toBeLessThan(cut + 1000);
    expect(at('unlocked')).toBeGreaterThanOrEqual(cut);
    expect(at('locked')).toBeLessThanOrEqual(at('unlocked'));
  });

  it('ends in Error with the cause, leaving no CSI snapshot, when the named class does not exist', async () => {
    const before = (await csiSnapshots()).length;
    await snapshot('no-class', { [csiSnapshotClassAnnotation]: 'missing' });
    const snap = await settled('no-class');
    expect(snap.status?.conditions?.at(-1)).toMatchObject({ type: 'Error' });
    expect(snap.status?.conditions?.at(-1)?.message).toMatch(
      /^snapshot failed due to err: VolumeSnapshotClass missing not found/,
    );
    expect((await csiSnapshots()).length).toBe(before);
  });
});
