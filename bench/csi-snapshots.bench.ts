// Snapshots of CSI storage through stork's API against the same snapshots taken directly, in the box with
// the upstream external-snapshotter over the box's local CSI plugin and stork in its own process
// (`--driver=pxd,csi`). Per round, N seed-API VolumeSnapshots are created at once and timed until the last
// is Ready, and N snapshot.storage.k8s.io VolumeSnapshots of the same claims until the last is
// readyToUse; the two alternate which goes first, over ROUNDS (≥ 3) rounds. Writes
// bench/results/csi-snapshots.json: {count, rounds, stork_ready_s, direct_ready_s, ratio} with
// min/median/max of each.
import { writeFile } from 'node:fs/promises';
import type { PersistentVolumeClaim } from '../src/wire/k8s-types.js';
import { Box, createNamespace } from '../src/box/box.js';
import { BoxCsi, localCsiDriver, localSnapshotClass, localStorageClass } from '../src/box/csi/box-csi.js';
import { freePorts } from '../src/box/ports.js';
import { startBoxStorage } from '../src/box/storage.js';
import { startStorkProcess } from '../src/box/stork-process.js';
import { csiSnapshotResources, type CsiVolumeSnapshot } from '../src/drivers/csi/csi-snapshots.js';
import type { VolumeSnapshot } from '../src/k8s/crds/volume-snapshot.js';
import { resources } from '../src/k8s/paths.js';
import { waitFor } from '../src/lib/wait.js';
import { machine, percentile, printTable, round } from './stats.js';

const count = Number(process.env.BENCH_SNAPSHOTS ?? 50);
const rounds = Math.max(3, Number(process.env.ROUNDS ?? 3));
const nodes = ['node-1', 'node-2', 'node-3', 'node-4'];
const namespace = 'csi-snap-bench';

const [extenderPort = 0] = await freePorts(1);
const box = await Box.start({
  nodes: nodes.map((name) => ({ name })),
  storkScheduler: { urlPrefix: `http://127.0.0.1:${extenderPort}`, shipped: true },
});
const storage = await startBoxStorage(box);
const { api } = box;

/** `count` claims of the local class, each provisioned on a node chosen here (no pod needed). */
async function sourceClaims(): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `data-${i}`);
  await Promise.all(
    names.map((name, i) =>
      api.create(
        resources.persistentVolumeClaims,
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: {
            name,
            // What the scheduler would write for a WaitForFirstConsumer claim: that node's provisioner serves it.
            annotations: { 'volume.kubernetes.io/selected-node': nodes[i % nodes.length] ?? 'node-1' },
          },
          spec: {
            accessModes: ['ReadWriteOnce'],
            storageClassName: localStorageClass,
            resources: { requests: { storage: '64Mi' } },
          },
        } satisfies PersistentVolumeClaim,
        namespace,
      ),
    ),
  );
  await waitFor(
    'source claims bound',
    async () => {
      const items = (await api.list<PersistentVolumeClaim>(resources.persistentVolumeClaims, namespace))
        .items;
      return items.filter((c) => c.status?.phase === 'Bound').length >= count;
    },
    { timeoutMs: 300_000, intervalMs: 200 },
  );
  return names;
}

async function throughStork(claims: readonly string[], r: number): Promise<number> {
  const started = performance.now();
  await Promise.all(
    claims.map((claim) =>
      api.create(
        resources.volumeSnapshots,
        {
          apiVersion: 'volumesnapshot.external-storage.k8s.io/v1',
          kind: 'VolumeSnapshot',
          metadata: { name: `stork-${r}-${claim}` },
          spec: { persistentVolumeClaimName: claim },
        },
        namespace,
      ),
    ),
  );
  await waitFor(
    `${count} stork snapshots Ready`,
    async () => {
      const items = (await api.list<VolumeSnapshot>(resources.volumeSnapshots, namespace)).items;
      return (
        items.filter(
          (s) =>
            s.metadata.name?.startsWith(`stork-${r}-`) &&
            s.status?.conditions?.at(-1)?.type === 'Ready' &&
            s.spec.snapshotDataName,
        ).length >= count
      );
    },
    { timeoutMs: 600_000, intervalMs: 50 },
  );
  return (performance.now() - started) / 1000;
}

async function direct(claims: readonly string[], r: number): Promise<number> {
  const started = performance.now();
  await Promise.all(
    claims.map((claim) =>
      api.create(
        csiSnapshotResources.volumeSnapshots,
        {
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshot',
          metadata: { name: `direct-${r}-${claim}` },
          spec: { source: { persistentVolumeClaimName: claim }, volumeSnapshotClassName: localSnapshotClass },
        } satisfies CsiVolumeSnapshot,
        namespace,
      ),
    ),
  );
  await waitFor(
    `${count} direct snapshots readyToUse`,
    async () => {
      const items = (await api.list<CsiVolumeSnapshot>(csiSnapshotResources.volumeSnapshots, namespace))
        .items;
      return (
        items.filter((s) => s.metadata.name?.startsWith(`direct-${r}-`) && s.status?.readyToUse === true)
          .length >= count
      );
    },
    { timeoutMs: 600_000, intervalMs: 50 },
  );
  return (performance.now() - started) / 1000;
}

const spread = (values: readonly number[]) => ({
  min: round(Math.min(...values), 2),
  median: round(percentile(values, 50), 2),
  max: round(Math.max(...values), 2),
});

let csi: BoxCsi | undefined;
try {
  csi = await BoxCsi.start(box, {
    nodes: nodes.map((name) => ({ name, capacityBytes: 64 * 2 ** 30 })),
    snapshots: true,
  });
  await createNamespace(api, namespace);
  const stork = await startStorkProcess({
    box,
    storage,
    extenderPort,
    args: ['--driver=pxd,csi', `--csi-driver-names=${localCsiDriver}`],
  });
  const storkTimes: number[] = [];
  const directTimes: number[] = [];
  try {
    const claims = await sourceClaims();
    // Warm-up, not recorded: the first watch events on freshly installed CRDs come late.
    await throughStork(claims.slice(0, 1), -1);
    for (let r = 0; r < rounds; r++) {
      console.error(`round ${r + 1}/${rounds}: ${count} snapshots each way`);
      if (r % 2 === 0) {
        storkTimes.push(await throughStork(claims, r));
        directTimes.push(await direct(claims, r));
      } else {
        directTimes.push(await direct(claims, r));
        storkTimes.push(await throughStork(claims, r));
      }
    }
  } finally {
    await stork.stop();
  }
  const ratios = storkTimes.map((s, i) => s / (directTimes[i] ?? s));
  const result = {
    count,
    rounds,
    stork_ready_s: spread(storkTimes),
    direct_ready_s: spread(directTimes),
    ratio: { ...spread(ratios), min: round(Math.min(...ratios), 3), max: round(Math.max(...ratios), 3) },
  };
  printTable([
    { figure: 'stork VolumeSnapshot to Ready (s)', ...result.stork_ready_s },
    { figure: 'snapshot.storage.k8s.io to readyToUse (s)', ...result.direct_ready_s },
    { figure: 'ratio (stork / direct)', ...result.ratio },
  ]);
  await writeFile(
    new URL('./results/csi-snapshots.json', import.meta.url),
    JSON.stringify(result, null, 2) + '\n',
  );
  await writeFile(
    new URL('./results/csi-snapshots.machine.json', import.meta.url),
    JSON.stringify({ ...(await machine()), command: 'npm run bench -- csi-snapshots' }, null, 2) + '\n',
  );
} finally {
  await csi?.stop();
  await storage.stop();
  await box.stop();
}
