// Health monitor reaction time in the box: from "the storage driver on the MySQL pod's node goes Offline"
// to "its replacement is Running on a healthy replica node", with stork in its own process, at the
// default settings and at the most aggressive settings we recommend.
// Writes bench/results/health-monitor.json: {default: {reaction_s, grace_s, interval_s}, aggressive: {...}}.
import { readFile, writeFile } from 'node:fs/promises';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { parseAllDocuments } from 'yaml';
import { Box, createNamespace } from '../src/box/box.js';
import { freePorts } from '../src/box/ports.js';
import { startBoxStorage, storageNodeId } from '../src/box/storage.js';
import { startStorkProcess } from '../src/box/stork-process.js';
import { resources, type ResourceType } from '../src/k8s/paths.js';
import { waitFor } from '../src/lib/wait.js';
import { machine, printTable, round } from './stats.js';

const settings = {
  default: { driverRefresh: 5, interval: 10, grace: 60 },
  aggressive: { driverRefresh: 1, interval: 1, grace: 10 },
} as const;

const [extenderPort = 0] = await freePorts(1);
const box = await Box.start({
  nodes: ['node-1', 'node-2', 'node-3', 'node-4'].map((name) => ({ name })),
  storkScheduler: { urlPrefix: `http://127.0.0.1:${extenderPort}`, shipped: true },
});
const storage = await startBoxStorage(box);

function startStork(s: (typeof settings)[keyof typeof settings]) {
  return startStorkProcess({
    box,
    storage,
    extenderPort,
    args: [
      `--driver-refresh-interval=${s.driverRefresh}`,
      `--health-monitor-interval=${s.interval}`,
      `--health-monitor-grace=${s.grace}`,
    ],
    showLogs: true,
  });
}

const kinds: Record<string, ResourceType> = {
  PersistentVolumeClaim: resources.persistentVolumeClaims,
  StorageClass: resources.storageClasses,
  Deployment: resources.deployments,
};

async function reactionSeconds(namespace: string): Promise<number> {
  await createNamespace(box.api, namespace);
  const manifests = await readFile(new URL('../examples/mysql.yaml', import.meta.url), 'utf8');
  for (const doc of parseAllDocuments(manifests)) {
    const object = doc.toJS() as { kind: string };
    const type = kinds[object.kind];
    if (!type) throw new Error(`unexpected kind ${object.kind}`);
    await box.api.create(type, object, type.namespaced ? namespace : undefined).catch((error: unknown) => {
      if (type.namespaced) throw error; // the StorageClass is shared by both runs
    });
  }
  const list = async (): Promise<Pod[]> =>
    (await box.api.list<Pod>(resources.pods, namespace, { labelSelector: 'app=mysql' })).items;
  const first = await waitFor(
    'mysql running',
    async () => (await list()).find((p) => p.status?.phase === 'Running'),
    {
      timeoutMs: 60_000,
    },
  );
  const node = first.spec?.nodeName ?? '';
  const volume = storage.simulator.state.volumes().find((v) => v.labels.namespace === namespace);
  const healthyReplicas = (volume?.replicaNodeIds ?? []).filter((id) => id !== storageNodeId(node));
  // Let the caches settle, as a long-running stork would have.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const failedAt = performance.now();
  storage.simulator.state.setNodeStatus(storageNodeId(node), 'Offline');
  try {
    await waitFor(
      'the replacement running on a healthy replica node',
      async () =>
        (await list()).some(
          (p) =>
            p.metadata?.uid !== first.metadata?.uid &&
            p.status?.phase === 'Running' &&
            healthyReplicas.includes(storageNodeId(p.spec?.nodeName ?? '')),
        ),
      { timeoutMs: 300_000, intervalMs: 100 },
    );
    return (performance.now() - failedAt) / 1000;
  } finally {
    storage.simulator.state.setNodeStatus(storageNodeId(node), 'Online');
  }
}

try {
  const result: Record<string, { reaction_s: number; grace_s: number; interval_s: number }> = {};
  for (const [name, s] of Object.entries(settings)) {
    console.error(
      `measuring the ${name} settings (grace ${s.grace}s, interval ${s.interval}s, driver refresh ${s.driverRefresh}s)`,
    );
    const stork = await startStork(s);
    try {
      result[name] = {
        reaction_s: round(await reactionSeconds(`hm-bench-${name}`), 1),
        grace_s: s.grace,
        interval_s: s.interval,
      };
    } finally {
      await stork.stop();
    }
  }
  printTable(Object.entries(result).map(([settingsName, r]) => ({ settings: settingsName, ...r })));
  await writeFile(
    new URL('./results/health-monitor.json', import.meta.url),
    JSON.stringify(result, null, 2) + '\n',
  );
  await writeFile(
    new URL('./results/health-monitor.machine.json', import.meta.url),
    JSON.stringify({ ...(await machine()), command: 'npm run bench -- health-monitor', settings }, null, 2) +
      '\n',
  );
} finally {
  await storage.stop();
  await box.stop();
}
