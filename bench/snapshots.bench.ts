// Snapshots and restores in the box, with stork in its own process (`--driver=pxd,csi`), the storage
// simulator for pxd and the upstream external-snapshotter and external-provisioner over the box's local CSI
// plugin. Per round, for N claims of each storage at once (N = BENCH_SNAPSHOTS, default 50):
//   - pxd: N seed-API VolumeSnapshots until the last is Ready, then N restore claims (stork-snapshot-sc)
//     until the last is Bound;
//   - csi: N seed-API VolumeSnapshots through stork until the last is Ready, against N
//     snapshot.storage.k8s.io VolumeSnapshots of the same claims created directly until the last is
//     readyToUse; then N restores through stork-snapshot-sc against N claims with the direct snapshots as
//     `dataSource`, each until the last is Bound (stork and direct alternate which goes first);
//   - a GroupVolumeSnapshot of G claims (BENCH_GROUP_CLAIMS, default 10) of each storage until Successful.
// Over ROUNDS (≥ 3) rounds; min / median / max of each figure and of the ratios. Writes
// bench/results/snapshots.json.
import { writeFile } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import type { PersistentVolumeClaim } from '../src/wire/k8s-types.js';
import { Box, createNamespace } from '../src/box/box.js';
import { BoxCsi, localCsiDriver, localSnapshotClass, localStorageClass } from '../src/box/csi/box-csi.js';
import { applyManifests } from '../src/box/manifests.js';
import { freePorts } from '../src/box/ports.js';
import { createStaticDriverVolume, startBoxStorage } from '../src/box/storage.js';
import { startStorkProcess } from '../src/box/stork-process.js';
import { csiSnapshotResources, type CsiVolumeSnapshot } from '../src/drivers/csi/csi-snapshots.js';
import type { GroupVolumeSnapshot } from '../src/k8s/crds/group-volume-snapshot.js';
import type { VolumeSnapshot } from '../src/k8s/crds/volume-snapshot.js';
import { resources } from '../src/k8s/paths.js';
import { waitFor } from '../src/lib/wait.js';
import { loadAverage, machine, printTable, round, spread, type Spread } from './stats.js';

const count = Number(process.env.BENCH_SNAPSHOTS ?? 50);
const groupCount = Number(process.env.BENCH_GROUP_CLAIMS ?? 10);
const rounds = Math.max(3, Number(process.env.ROUNDS ?? 3));
const nodes = ['node-1', 'node-2', 'node-3', 'node-4'];
const namespace = 'snap-bench';
const csiSize = '64Mi';
const nodeOf = (i: number): string => nodes[i % nodes.length] ?? 'node-1';

const [extenderPort = 0] = await freePorts(1);
const box = await Box.start({
  nodes: nodes.map((name) => ({ name })),
  storkScheduler: { urlPrefix: `http://127.0.0.1:${extenderPort}`, shipped: true },
});
const storage = await startBoxStorage(box);
const { api } = box;

const seconds = (since: number): number => (performance.now() - since) / 1000;

async function boundClaims(names: readonly string[]): Promise<boolean> {
  const claims = (await api.list<PersistentVolumeClaim>(resources.persistentVolumeClaims, namespace)).items;
  const bound = new Set(claims.filter((c) => c.status?.phase === 'Bound').map((c) => c.metadata?.name));
  return names.every((n) => bound.has(n));
}

const waitBound = (what: string, names: readonly string[]): Promise<true> =>
  waitFor(what, async () => (await boundClaims(names)) || undefined, { timeoutMs: 600_000, intervalMs: 50 });

/** Claims bound to simulator volumes, as Portworx would have provisioned them. */
async function pxdClaims(prefix: string, n: number, labels?: Record<string, string>): Promise<string[]> {
  const names = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  await Promise.all(
    names.map(async (claim, i) => {
      await createStaticDriverVolume(box, storage, namespace, claim, [nodeOf(i)]);
      if (labels) {
        await api.patch(
          resources.persistentVolumeClaims,
          { namespace, name: claim },
          { metadata: { labels } },
          'merge',
        );
      }
    }),
  );
  await waitBound(`${prefix} claims bound`, names);
  return names;
}

/**
 * Claims of the local CSI class, each on a node chosen here: what the scheduler writes for a
 * WaitForFirstConsumer claim, so that node's provisioner serves it without a pod.
 */
function csiClaim(name: string, node: string, extra: Partial<PersistentVolumeClaim['spec']> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, annotations: { 'volume.kubernetes.io/selected-node': node } },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: localStorageClass,
      resources: { requests: { storage: csiSize } },
      ...extra,
    },
  } satisfies PersistentVolumeClaim;
}

async function csiClaims(prefix: string, n: number, labels?: Record<string, string>): Promise<string[]> {
  const names = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  await Promise.all(
    names.map((name, i) => {
      const claim = csiClaim(name, nodeOf(i));
      return api.create(
        resources.persistentVolumeClaims,
        labels ? { ...claim, metadata: { ...claim.metadata, labels } } : claim,
        namespace,
      );
    }),
  );
  await waitBound(`${prefix} claims bound`, names);
  return names;
}

/** N seed-API VolumeSnapshots at once, until the last is Ready; their names are `<prefix>-<claim>`. */
async function storkSnapshots(prefix: string, claims: readonly string[]): Promise<number> {
  const started = performance.now();
  await Promise.all(
    claims.map((claim) =>
      api.create(
        resources.volumeSnapshots,
        {
          apiVersion: 'volumesnapshot.external-storage.k8s.io/v1',
          kind: 'VolumeSnapshot',
          metadata: { name: `${prefix}-${claim}` },
          spec: { persistentVolumeClaimName: claim },
        },
        namespace,
      ),
    ),
  );
  await waitFor(
    `${claims.length} ${prefix} snapshots Ready`,
    async () => {
      const items = (await api.list<VolumeSnapshot>(resources.volumeSnapshots, namespace)).items;
      const ready = items.filter(
        (s) =>
          s.metadata.name?.startsWith(`${prefix}-`) &&
          s.status?.conditions?.at(-1)?.type === 'Ready' &&
          s.spec.snapshotDataName,
      );
      return ready.length >= claims.length || undefined;
    },
    { timeoutMs: 600_000, intervalMs: 50 },
  );
  return seconds(started);
}

/** N restore claims of stork-snapshot-sc at once (`<prefix>-<claim>` from `<snapshots>-<claim>`), until Bound. */
async function storkRestores(prefix: string, snapshots: string, claims: readonly string[]): Promise<number> {
  const started = performance.now();
  const names = claims.map((claim) => `${prefix}-${claim}`);
  await Promise.all(
    claims.map((claim) =>
      api.create(
        resources.persistentVolumeClaims,
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: {
            name: `${prefix}-${claim}`,
            annotations: { 'snapshot.alpha.kubernetes.io/snapshot': `${snapshots}-${claim}` },
          },
          spec: {
            accessModes: ['ReadWriteOnce'],
            storageClassName: 'stork-snapshot-sc',
            resources: { requests: { storage: csiSize } },
          },
        } satisfies PersistentVolumeClaim,
        namespace,
      ),
    ),
  );
  await waitBound(`${claims.length} ${prefix} restores Bound`, names);
  return seconds(started);
}

async function directSnapshots(prefix: string, claims: readonly string[]): Promise<number> {
  const started = performance.now();
  await Promise.all(
    claims.map((claim) =>
      api.create(
        csiSnapshotResources.volumeSnapshots,
        {
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshot',
          metadata: { name: `${prefix}-${claim}` },
          spec: { source: { persistentVolumeClaimName: claim }, volumeSnapshotClassName: localSnapshotClass },
        } satisfies CsiVolumeSnapshot,
        namespace,
      ),
    ),
  );
  await waitFor(
    `${claims.length} ${prefix} snapshots readyToUse`,
    async () => {
      const items = (await api.list<CsiVolumeSnapshot>(csiSnapshotResources.volumeSnapshots, namespace))
        .items;
      const ready = items.filter(
        (s) => s.metadata.name?.startsWith(`${prefix}-`) && s.status?.readyToUse === true,
      );
      return ready.length >= claims.length || undefined;
    },
    { timeoutMs: 600_000, intervalMs: 50 },
  );
  return seconds(started);
}

/** N claims with a direct snapshot as `dataSource`, on the node that holds it (a node-local driver). */
async function directRestores(prefix: string, snapshots: string, claims: readonly string[]): Promise<number> {
  const started = performance.now();
  const names = claims.map((claim) => `${prefix}-${claim}`);
  await Promise.all(
    claims.map((claim, i) =>
      api.create(
        resources.persistentVolumeClaims,
        csiClaim(`${prefix}-${claim}`, nodeOf(i), {
          dataSource: {
            apiGroup: 'snapshot.storage.k8s.io',
            kind: 'VolumeSnapshot',
            name: `${snapshots}-${claim}`,
          },
        }),
        namespace,
      ),
    ),
  );
  await waitBound(`${claims.length} ${prefix} restores Bound`, names);
  return seconds(started);
}

async function groupSnapshot(name: string, app: string): Promise<number> {
  const started = performance.now();
  await api.create<GroupVolumeSnapshot>(
    resources.groupVolumeSnapshots,
    {
      apiVersion: 'stork.libopenstorage.org/v1alpha1',
      kind: 'GroupVolumeSnapshot',
      metadata: { name },
      spec: { pvcSelector: { matchLabels: { app } } },
    },
    namespace,
  );
  const done = await waitFor(
    `group snapshot ${name} Final`,
    async () => {
      const g = await api.get<GroupVolumeSnapshot>(resources.groupVolumeSnapshots, { namespace, name });
      return g.status?.stage === 'Final' ? g : undefined;
    },
    { timeoutMs: 600_000, intervalMs: 50 },
  );
  if (done.status?.status !== 'Successful') {
    throw new Error(`group snapshot ${name} ended ${done.status?.status}: ${JSON.stringify(done.status)}`);
  }
  return seconds(started);
}

/** Runs `a` and `b` one after the other, `a` first in even rounds: neither always pays the warm-up. */
async function alternate(r: number, a: () => Promise<number>, b: () => Promise<number>) {
  if (r % 2 === 0) {
    const first = await a();
    return [first, await b()] as const;
  }
  const second = await b();
  return [await a(), second] as const;
}

const figures = {
  pxd_snapshot_ready_s: [] as number[],
  pxd_restore_bound_s: [] as number[],
  pxd_group_successful_s: [] as number[],
  csi_stork_snapshot_ready_s: [] as number[],
  csi_direct_snapshot_ready_s: [] as number[],
  csi_snapshot_ratio: [] as number[],
  csi_stork_restore_bound_s: [] as number[],
  csi_direct_restore_bound_s: [] as number[],
  csi_restore_ratio: [] as number[],
  csi_group_successful_s: [] as number[],
};
const loads: string[] = [];

let csi: BoxCsi | undefined;
try {
  await applyManifests(
    api,
    await readFile(new URL('../specs/stork-snapshot-sc.yaml', import.meta.url), 'utf8'),
    'default',
  );
  csi = await BoxCsi.start(box, {
    nodes: nodes.map((name) => ({ name, capacityBytes: 256 * 2 ** 30 })),
    snapshots: true,
  });
  await createNamespace(api, namespace);
  const stork = await startStorkProcess({
    box,
    storage,
    extenderPort,
    args: ['--driver=pxd,csi', `--csi-driver-names=${localCsiDriver}`],
  });
  try {
    const pxd = await pxdClaims('px', count);
    const local = await csiClaims('csi', count);
    await pxdClaims('pxg', groupCount, { app: 'pxd-group' });
    await csiClaims('csig', groupCount, { app: 'csi-group' });
    // Warm-up, not recorded: the first watch events on freshly installed CRDs come late once after start-up.
    await storkSnapshots('warm', [pxd[0] ?? '', local[0] ?? '']);
    await storkRestores('warm-restore', 'warm', [pxd[0] ?? '', local[0] ?? '']);
    await directSnapshots('warm-direct', local.slice(0, 1));
    for (let r = 0; r < rounds; r++) {
      console.error(
        `round ${r + 1}/${rounds}: ${count} snapshots and restores each way, groups of ${groupCount}`,
      );
      loads.push(await loadAverage());
      figures.pxd_snapshot_ready_s.push(await storkSnapshots(`pxs${r}`, pxd));
      figures.pxd_restore_bound_s.push(await storkRestores(`pxr${r}`, `pxs${r}`, pxd));
      const [storkSnap, directSnap] = await alternate(
        r,
        () => storkSnapshots(`cs${r}`, local),
        () => directSnapshots(`ds${r}`, local),
      );
      const [storkRestore, directRestore] = await alternate(
        r,
        () => storkRestores(`cr${r}`, `cs${r}`, local),
        () => directRestores(`dr${r}`, `ds${r}`, local),
      );
      figures.csi_stork_snapshot_ready_s.push(storkSnap);
      figures.csi_direct_snapshot_ready_s.push(directSnap);
      figures.csi_snapshot_ratio.push(storkSnap / directSnap);
      figures.csi_stork_restore_bound_s.push(storkRestore);
      figures.csi_direct_restore_bound_s.push(directRestore);
      figures.csi_restore_ratio.push(storkRestore / directRestore);
      figures.pxd_group_successful_s.push(await groupSnapshot(`pxg${r}`, 'pxd-group'));
      figures.csi_group_successful_s.push(await groupSnapshot(`csig${r}`, 'csi-group'));
      // Each round's figures as they come: a long run shows where it is, and a stopped one what it had.
      const latest = Object.entries(figures).map(([name, values]) => `${name}=${values.at(-1)?.toFixed(2)}`);
      console.error(`round ${r + 1}: ${latest.join(' ')}`);
    }
  } finally {
    await stork.stop();
  }
  const result: Record<string, Spread> = {};
  for (const [name, values] of Object.entries(figures)) result[name] = spread(values, 2);
  printTable(
    Object.entries(result).map(([figure, s]) => ({ figure, min: s.min, median: s.median, max: s.max })),
  );
  console.log(`load average per round: ${loads.join(' | ')}`);
  await writeFile(
    new URL('./results/snapshots.json', import.meta.url),
    JSON.stringify(
      { count, group_claims: groupCount, rounds, ...result, rounds_raw: figures, load_average: loads },
      (_key, value: unknown) => (typeof value === 'number' ? round(value, 3) : value),
      2,
    ) + '\n',
  );
  await writeFile(
    new URL('./results/snapshots.machine.json', import.meta.url),
    JSON.stringify({ ...(await machine()), command: 'npm run bench -- snapshots' }, null, 2) + '\n',
  );
} finally {
  await csi?.stop();
  await storage.stop();
  await box.stop();
}
