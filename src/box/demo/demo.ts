import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Event, Node, Pod } from '../../wire/k8s-types.js';
import { defaultConfig } from '../../daemon/config.js';
import { driverNodeStatus } from '../../drivers/portworx/mapping.js';
import { startStork, type RunningStork } from '../../daemon/stork.js';
import { defaultWebhookConfig } from '../../webhook/webhook.js';
import { freePorts } from '../ports.js';
import { storkSchedulerTlsFiles } from '../stork-scheduler-tls.js';
import { serviceAccountKubeconfig } from '../service-account.js';
import { resources } from '../../k8s/paths.js';
import { waitFor } from '../../lib/wait.js';
import type { Box } from '../box.js';
import { applyManifests } from '../manifests.js';
import { deployStorkInCluster } from '../in-cluster.js';
import { realNodeLabel } from '../node/real-node.js';
import { startBoxStorage, storageNodeId, type BoxStorage } from '../storage.js';
import type { DemoContext } from './context.js';
import { LogTail } from './log-tail.js';
import { Narrator, type DemoStep } from './narrator.js';
import { claimVolume, placementTable } from './placement.js';
import { applicationConsistentSnapshot, restoreClone } from './snapshot-steps.js';
import { table } from './table.js';
import { webhookOptIn } from './webhook-step.js';

export type { DemoStep };

const namespace = 'default';
const example = new URL('../../../examples/mysql.yaml', import.meta.url);

/**
 * The product at work on the box, narrated, along the seed's story: the MySQL example is placed on a
 * node holding its data and moved to the other replica when the storage driver there fails; an
 * application-consistent snapshot is taken with pre and post rules and restored into a new claim, used by
 * a pod next to its data; and the admission webhook hands a pod that names no scheduler to stork. Every
 * step checks what it says and throws (with the object's status, events and stork's last log lines) if it
 * did not happen. Stork runs in this process with the most aggressive health monitor settings we
 * recommend, so the move takes seconds.
 */
export async function runDemo(
  box: Box,
  extenderPort: number,
  print: (text: string) => void,
): Promise<DemoStep[]> {
  const narrator = new Narrator(print);
  const say = (text: string): void => {
    narrator.say(text);
  };
  const timed = narrator.timed.bind(narrator);
  const steps = narrator.steps;
  const workDir = await mkdtemp(join(tmpdir(), 'stork-demo-'));
  const storkLog = new LogTail('stork');

  say('Storage: a simulated Portworx cluster, one storage node on each Kubernetes node');
  // Not on the real node, if there is one: the pods of the story are KWOK's (their images cannot be
  // pulled here), and a node without the driver is never a candidate for them.
  const storage: BoxStorage = await startBoxStorage(box, {
    storageNodes: (n) => n.metadata?.labels?.[realNodeLabel] !== 'true',
  });
  let stork: RunningStork | undefined;
  try {
    const nodes = (await box.api.list<Node>(resources.nodes)).items;
    const nodeNames = nodes.map((n) => n.metadata?.name ?? '');
    print(
      table(
        nodes.map((n) => ({
          node: n.metadata?.name ?? '',
          rack: n.metadata?.labels?.['px/rack'] ?? '',
          zone: n.metadata?.labels?.['topology.kubernetes.io/zone'] ?? '',
          storage:
            n.metadata?.labels?.[realNodeLabel] === 'true'
              ? '(real node: no storage)'
              : driverNodeStatus(storage.simulator.state.node(storageNodeId(n.metadata?.name ?? '')).status),
        })),
      ),
    );

    say('Stork: the scheduler extender, the health monitor, the snapshotter with its rules, the webhook');
    const [webhookPort = 0] = await freePorts(1);
    stork = await startStork(
      {
        ...defaultConfig,
        driver: 'pxd',
        driverEndpoint: storage.simulator.grpcEndpoint,
        driverRestEndpoint: storage.simulator.restEndpoint,
        // As in a cluster: the ServiceAccount and RBAC of specs/stork-deployment.yaml.
        kubeconfig: (await serviceAccountKubeconfig(box)).kubeconfigPath,
        extenderPort,
        extenderHost: '127.0.0.1',
        // The stork scheduler calls the extender on loopback, with mutual TLS.
        extenderServing: {
          ...defaultConfig.extenderServing,
          certificates: { ...defaultConfig.extenderServing.certificates, extraSans: ['127.0.0.1'] },
          statusPort: 0,
          statusHost: '127.0.0.1',
        },
        driverRefreshIntervalMs: 1000,
        healthMonitorConfig: { ...defaultConfig.healthMonitorConfig, intervalMs: 1000, graceMs: 10_000 },
        // Stork runs on this host, so the API server calls its webhook by URL on loopback (in a cluster:
        // through the stork-service Service).
        webhookConfig: {
          ...defaultWebhookConfig,
          namespace: 'kube-system',
          host: '127.0.0.1',
          port: webhookPort,
          url: `https://127.0.0.1:${webhookPort}/mutate`,
        },
        // KWOK runs pod commands on this host: the wait scripts of background commands go to this run's
        // directory rather than /tmp, and readiness is checked often so the demo does not dawdle.
        rulesConfig: {
          markerDir: workDir,
          backgroundPollIntervalMs: 200,
          retryIntervalMs: 1000,
          releaseRetryIntervalMs: 500,
        },
      },
      storkLog.logger,
    );
    // As in a cluster, the stork scheduler mounts the client certificate stork issued (a restart with it).
    const extender = { port: extenderPort, tls: await storkSchedulerTlsFiles(box) };
    await box.startStorkScheduler({
      urlPrefix: `https://127.0.0.1:${extenderPort}`,
      shipped: true,
      tls: extender.tls,
    });
    print(
      `extender on https://127.0.0.1:${extenderPort} (mutual TLS); health monitor: grace 10 s, checked every 1 s; ` +
        `webhook on https://127.0.0.1:${webhookPort}/mutate`,
    );

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
    const { nodes: replicas } = await claimVolume(box, storage, namespace, 'mysql-data');
    print(await placementTable(extender, nodeNames, replicas, pod, 'mysql'));
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

    const ctx: DemoContext = {
      box,
      storage,
      stork,
      storkLog,
      narrator,
      extender,
      nodes: nodeNames,
      workDir,
    };
    await applicationConsistentSnapshot(ctx);
    await restoreClone(ctx);
    await webhookOptIn(ctx);

    if (box.realNode) {
      // The seed's "Running Stork": the same product as pods, from the image and the shipped specs. The
      // stork of this process steps down first, so the pods' replicas take its Lease.
      say('Running Stork as the seed does: the image and the shipped specs, as pods on the real node');
      await stork.stop();
      stork = undefined;
      await timed(
        'stork and stork-scheduler Running in kube-system',
        () => deployStorkInCluster(box, storage),
        () => `on ${box.realNode?.name ?? '?'}`,
      );
      print(await box.kubectl(['get', 'pods', '-n', 'kube-system', '-o', 'wide']));
    }

    say('Summary');
    print(table(steps.map((s) => ({ step: s.step, result: s.result, seconds: s.seconds }))));
    return steps;
  } finally {
    await stork?.stop();
    await storage.stop();
    await releaseLeftovers(workDir);
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Should a step have failed while a background rule command was held, release it: KWOK runs it on this
 * host, where it would otherwise wait for its kill file forever.
 */
async function releaseLeftovers(dir: string): Promise<void> {
  const scripts = (await readdir(dir).catch(() => [])).flatMap((f) => {
    const match = /^stork-wait-(.+)\.sh$/.exec(f);
    return match?.[1] ? [join(dir, `killme-${match[1]}`)] : [];
  });
  await Promise.all(scripts.map((file) => writeFile(file, '')));
  // The wait scripts look for their kill file every few hundred ms.
  if (scripts.length > 0) await new Promise((resolve) => setTimeout(resolve, 1500));
}
