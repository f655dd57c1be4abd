// Snapshot and restore latency in the box, with stork in its own process: from creating N
// VolumeSnapshots (of N claims) at once until the last is Ready, and from creating N restore claims
// (stork-snapshot-sc) at once until the last is Bound. Writes bench/results/snapshots.json:
// [{count, snapshot_ready_s, restore_bound_s}].
import { readFile, writeFile } from 'node:fs/promises';
import type { PersistentVolumeClaim } from '../src/wire/k8s-types.js';
import { Box, createNamespace } from '../src/box/box.js';
import { applyManifests } from '../src/box/manifests.js';
import { freePorts } from '../src/box/ports.js';
import { createStaticDriverVolume, startBoxStorage } from '../src/box/storage.js';
import { startStorkProcess } from '../src/box/stork-process.js';
import type { VolumeSnapshot } from '../src/k8s/crds/volume-snapshot.js';
import { resources } from '../src/k8s/paths.js';
import { waitFor } from '../src/lib/wait.js';
import { machine, printTable, round } from './stats.js';

const counts = [1, 50];
const nodes = ['node-1', 'node-2', 'node-3', 'node-4'];

const [extenderPort = 0] = await freePorts(1);
const box = await Box.start({
  nodes: nodes.map((name) => ({ name })),
  storkScheduler: { urlPrefix: `http://127.0.0.1:${extenderPort}`, shipped: true },
});
const storage = await startBoxStorage(box);
const { api } = box;

/** `count` claims bound to driver volumes, as Portworx would have provisioned them. */
async function sourceClaims(namespace: string, count: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `data-${i}`);
  await Promise.all(
    names.map((claim, i) =>
      createStaticDriverVolume(box, storage, namespace, claim, [nodes[i % nodes.length] ?? 'node-1']),
    ),
  );
  await waitFor('source claims bound', () => allClaimsBound(namespace, names), {
    timeoutMs: 120_000,
    intervalMs: 200,
  });
  return names;
}

async function allClaimsBound(namespace: string, names: readonly string[]): Promise<boolean> {
  const claims = (await api.list<PersistentVolumeClaim>(resources.persistentVolumeClaims, namespace)).items;
  const bound = new Set(claims.filter((c) => c.status?.phase === 'Bound').map((c) => c.metadata?.name));
  return names.every((n) => bound.has(n));
}

async function measure(count: number, namespace = `snap-bench-${count}`) {
  await createNamespace(api, namespace);
  const claims = await sourceClaims(namespace, count);

  const snapshotStart = performance.now();
  await Promise.all(
    claims.map((claim) =>
      api.create(
        resources.volumeSnapshots,
        {
          apiVersion: 'volumesnapshot.external-storage.k8s.io/v1',
          kind: 'VolumeSnapshot',
          metadata: { name: `snap-${claim}` },
          spec: { persistentVolumeClaimName: claim },
        },
        namespace,
      ),
    ),
  );
  await waitFor(
    `${count} snapshots ready`,
    async () => {
      const items = (await api.list<VolumeSnapshot>(resources.volumeSnapshots, namespace)).items;
      const ready = items.filter(
        (s) => s.status?.conditions?.at(-1)?.type === 'Ready' && s.spec.snapshotDataName,
      );
      return ready.length === count;
    },
    { timeoutMs: 300_000, intervalMs: 50 },
  );
  const snapshotReady = (performance.now() - snapshotStart) / 1000;

  const restores = claims.map((claim) => `restore-${claim}`);
  const restoreStart = performance.now();
  await Promise.all(
    claims.map((claim) =>
      api.create(
        resources.persistentVolumeClaims,
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: {
            name: `restore-${claim}`,
            annotations: { 'snapshot.alpha.kubernetes.io/snapshot': `snap-${claim}` },
          },
          spec: {
            accessModes: ['ReadWriteOnce'],
            storageClassName: 'stork-snapshot-sc',
            resources: { requests: { storage: '1Gi' } },
          },
        },
        namespace,
      ),
    ),
  );
  await waitFor(`${count} restores bound`, () => allClaimsBound(namespace, restores), {
    timeoutMs: 300_000,
    intervalMs: 50,
  });
  const restoreBound = (performance.now() - restoreStart) / 1000;
  return { count, snapshot_ready_s: round(snapshotReady, 2), restore_bound_s: round(restoreBound, 2) };
}

try {
  await applyManifests(
    api,
    await readFile(new URL('../specs/stork-snapshot-sc.yaml', import.meta.url), 'utf8'),
    'default',
  );
  const stork = await startStorkProcess({ box, storage, extenderPort });
  const results = [];
  try {
    // Warm-up, not recorded: a freshly started stork's first watch events on a new CRD come late (the API
    // server's watch cache catching up), which is start-up cost, not snapshot latency.
    await measure(1, 'snap-bench-warmup');
    for (const count of counts) {
      console.error(`measuring ${count} snapshot(s) and restore(s) at once`);
      results.push(await measure(count));
    }
  } finally {
    await stork.stop();
  }
  printTable(results);
  await writeFile(
    new URL('./results/snapshots.json', import.meta.url),
    JSON.stringify(results, null, 2) + '\n',
  );
  await writeFile(
    new URL('./results/snapshots.machine.json', import.meta.url),
    JSON.stringify({ ...(await machine()), command: 'npm run bench -- snapshots', counts }, null, 2) + '\n',
  );
} finally {
  await storage.stop();
  await box.stop();
}
