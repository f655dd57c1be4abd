import { readFile } from 'node:fs/promises';
import type { Event, Node, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import { defaultConfig } from '../../daemon/config.js';
import { driverNodeStatus } from '../../drivers/portworx/mapping.js';
import { startStork, type RunningStork } from '../../daemon/stork.js';
import { serviceAccountKubeconfig } from '../service-account.js';
import { resources } from '../../k8s/paths.js';
import { createLogger } from '../../lib/log.js';
import { waitFor } from '../../lib/wait.js';
import type { Box } from '../box.js';
import { applyManifests } from '../manifests.js';
import { startBoxStorage, storageNodeId, type BoxStorage } from '../storage.js';
import { table } from './table.js';

export interface DemoStep {
  readonly step: string;
  readonly result: string;
  readonly seconds: number;
}

const namespace = 'default';
const example = new URL('../../../examples/mysql.yaml', import.meta.url);

/**
 * The product at work on the box, narrated: the seed's MySQL example is placed on a node holding its
 * data, and moved to the other replica when the storage driver there fails. Every step checks what it
 * says and throws if it did not happen. Stork runs in this process with the most aggressive health
 * monitor settings we recommend, so the move takes seconds.
 */
export async function runDemo(
  box: Box,
  extenderPort: number,
  print: (text: string) => void,
): Promise<DemoStep[]> {
  const steps: DemoStep[] = [];
  const say = (text: string): void => print(`\n==> ${text}`);
  const timed = async <T>(
    step: string,
    action: () => Promise<T>,
    result: (value: T) => string,
  ): Promise<T> => {
    const started = Date.now();
    const value = await action();
    steps.push({ step, result: result(value), seconds: Math.round((Date.now() - started) / 100) / 10 });
    return value;
  };

  say('Storage: a simulated Portworx cluster, one storage node on each Kubernetes node');
  const storage: BoxStorage = await startBoxStorage(box);
  let stork: RunningStork | undefined;
  try {
    const nodes = (await box.api.list<Node>(resources.nodes)).items;
    print(
      table(
        nodes.map((n) => ({
          node: n.metadata?.name ?? '',
          rack: n.metadata?.labels?.['px/rack'] ?? '',
          zone: n.metadata?.labels?.['topology.kubernetes.io/zone'] ?? '',
          storage: driverNodeStatus(
            storage.simulator.state.node(storageNodeId(n.metadata?.name ?? '')).status,
          ),
        })),
      ),
    );

    say('Stork: the scheduler extender (for the `stork` kube-scheduler) and the health monitor');
    stork = await startStork(
      {
        ...defaultConfig,
        driver: 'pxd',
        driverEndpoint: storage.simulator.grpcEndpoint,
        // As in a cluster: the ServiceAccount and RBAC of specs/stork-deployment.yaml.
        kubeconfig: (await serviceAccountKubeconfig(box)).kubeconfigPath,
        extenderPort,
        extenderHost: '127.0.0.1',
        driverRefreshIntervalMs: 1000,
        // The demo's manifests name the stork scheduler themselves.
        webhook: false,
        healthMonitorConfig: { ...defaultConfig.healthMonitorConfig, intervalMs: 1000, graceMs: 10_000 },
      },
      createLogger({ name: 'stork', silent: true }),
    );
    print(`extender on 127.0.0.1:${extenderPort}; health monitor: grace 10 s, checked every 1 s`);

    say("The seed's MySQL example, unchanged: a 2-replica volume and a Deployment with schedulerName: stork");
    const pod = await timed(
      'MySQL placed',
      async () => {
        await applyManifests(box.api, await readFile(example, 'utf8'), namespace);
        return waitFor(
          'the mysql pod to run',
          async () =>
            (await box.api.list<Pod>(resources.pods, namespace, { labelSelector: 'app=mysql' })).items.find(
              (p) => p.status?.phase === 'Running',
            ),
          { timeoutMs: 90_000, intervalMs: 200 },
        );
      },
      (p) => `on ${p.spec?.nodeName ?? '?'}`,
    );
    const replicas = await replicaNodes(box, storage);
    const scores = await extenderScores(
      extenderPort,
      pod,
      nodes.map((n) => n.metadata?.name ?? ''),
    );
    print(
      table(
        nodes.map((n) => {
          const name = n.metadata?.name ?? '';
          return {
            node: name,
            replica: replicas.includes(name) ? 'yes' : '',
            score: scores.get(name) ?? 0,
            placed: pod.spec?.nodeName === name ? '<- mysql' : '',
          };
        }),
      ),
    );
    if (!replicas.includes(pod.spec?.nodeName ?? '')) {
      throw new Error(
        `mysql landed on ${pod.spec?.nodeName ?? '?'}, which holds no replica (${replicas.join(', ')})`,
      );
    }
    print(`The pod runs where its data is: ${pod.spec?.nodeName ?? ''} holds a replica and scored highest.`);

    const from = pod.spec?.nodeName ?? '';
    say(`The storage driver on ${from} fails (Offline in the simulator)`);
    storage.simulator.state.setNodeStatus(storageNodeId(from), 'Offline');
    const moved = await timed(
      'MySQL moved after the driver failed',
      () =>
        waitFor(
          'the replacement pod to run on another node',
          async () =>
            (await box.api.list<Pod>(resources.pods, namespace, { labelSelector: 'app=mysql' })).items.find(
              (p) => p.status?.phase === 'Running' && p.metadata?.uid !== pod.metadata?.uid,
            ),
          { timeoutMs: 90_000, intervalMs: 200 },
        ),
      (p) => `${from} -> ${p.spec?.nodeName ?? '?'}`,
    );
    storage.simulator.state.setNodeStatus(storageNodeId(from), 'Online');
    if (!replicas.includes(moved.spec?.nodeName ?? '') || moved.spec?.nodeName === from) {
      throw new Error(`the replacement went to ${moved.spec?.nodeName ?? '?'}, not to the other replica`);
    }
    const events = await box.api.list<Event>(resources.events, namespace, {
      fieldSelector: 'reason=StorageDriverOffline',
    });
    const event = events.items.find((e) => e.involvedObject.name === pod.metadata?.name);
    print(`Event on the old pod: StorageDriverOffline: ${event?.message ?? '(not yet recorded)'}`);
    print(`The replacement runs on ${moved.spec?.nodeName ?? ''}, the other replica node.`);

    say('Summary');
    print(table(steps.map((s) => ({ step: s.step, result: s.result, seconds: s.seconds }))));
    return steps;
  } finally {
    await stork?.stop();
    await storage.stop();
  }
}

/** Kubernetes nodes holding a replica of the mysql-data claim's volume. */
async function replicaNodes(box: Box, storage: BoxStorage): Promise<string[]> {
  const claim = await box.api.get<PersistentVolumeClaim>(resources.persistentVolumeClaims, {
    namespace,
    name: 'mysql-data',
  });
  const pv = await box.api.get<PersistentVolume>(resources.persistentVolumes, {
    name: claim.spec?.volumeName ?? '',
  });
  const volume = storage.simulator.state.requireVolume(pv.spec?.csi?.volumeHandle ?? '');
  return volume.replicaNodeIds.map((id) => storage.simulator.state.node(id).schedulerNodeName);
}

/** What the extender answers for the pod now: its 0..10 scores by node (nodes left out score 0). */
async function extenderScores(port: number, pod: Pod, nodes: string[]): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/prioritize`, {
    method: 'POST',
    body: JSON.stringify({ Pod: pod, NodeNames: nodes }),
  });
  const list = (await response.json()) as { Host: string; Score: number }[];
  return new Map(list.map((h) => [h.Host, h.Score]));
}
