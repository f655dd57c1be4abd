import type { Pod } from '../../wire/k8s-types.js';
import { resources } from '../../k8s/paths.js';
import { waitFor, WaitTimeoutError } from '../../lib/wait.js';
import { applyManifests } from '../manifests.js';
import type { DemoContext } from './context.js';
import { demoFailure } from './narrator.js';
import { claimVolume, eventsAbout, placementTable } from './placement.js';
import { waitForRunning } from './snapshot-steps.js';

const namespace = 'default';

/** A claim of the seed's Portworx class and a pod that uses it without naming a scheduler. */
const manifests = `
kind: PersistentVolumeClaim
apiVersion: v1
metadata:
  name: app-data
spec:
  storageClassName: px-mysql-sc
  accessModes:
    - ReadWriteOnce
  resources:
    requests:
      storage: 1Gi
`;

const appPod: Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'app', labels: { app: 'app' } },
  spec: {
    containers: [
      {
        name: 'app',
        image: 'busybox:1.36',
        command: ['sleep', 'infinity'],
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
      },
    ],
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'app-data' } }],
  },
};

/**
 * (c) The admission webhook: a pod that names no scheduler but uses a driver volume is given
 * `schedulerName: stork` when it is created, and is then placed on a node holding a replica.
 */
export async function webhookOptIn(ctx: DemoContext): Promise<void> {
  const { box, narrator, stork } = ctx;
  narrator.say(
    'The admission webhook: a pod without schedulerName, using a Portworx volume, is given to stork',
  );
  if (stork.webhookPort === undefined) {
    throw demoFailure('the admission webhook is not running', {
      'stork log': ctx.storkLog.tail(15, 'webhook'),
    });
  }
  narrator.print(
    'The pod "app" names no scheduler. The API server asks stork\'s webhook (registered in\n' +
      'stork-webhooks-cfg) about it; its claim app-data is a Portworx volume, so the webhook sets\n' +
      'schedulerName: stork, and the extender then prefers the nodes holding the data.',
  );
  const { pod, replicas, asked } = await narrator.timed(
    'pod opted in by the webhook',
    async () => {
      await applyManifests(box.api, manifests, namespace);
      await waitFor(
        'app-data to be Bound and known to stork',
        async () => {
          try {
            const { volume } = await claimVolume(box, ctx.storage, namespace, 'app-data');
            return stork.cache.snapshot().volumesById.has(volume.id);
          } catch {
            return false;
          }
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      ).catch(async (error: unknown) => {
        if (!(error instanceof WaitTimeoutError)) throw error;
        throw demoFailure('app-data was not Bound, or stork does not know its volume', {
          'events on the claim': await eventsAbout(box, namespace, 'app-data'),
          'stork log': ctx.storkLog.tail(10),
        });
      });
      const created = await box.api.create<Pod>(resources.pods, appPod, namespace);
      if (created.spec?.schedulerName !== 'stork') {
        throw demoFailure(
          `the webhook did not opt "app" in: its schedulerName is ${created.spec?.schedulerName ?? '(none)'}`,
          { 'stork log': ctx.storkLog.tail(15, 'webhook') },
        );
      }
      const running = await waitForRunning(ctx, 'app');
      const { nodes } = await claimVolume(box, ctx.storage, namespace, 'app-data');
      return { pod: running, replicas: nodes, asked: appPod.spec?.schedulerName };
    },
    (r) => `schedulerName: stork; on ${r.pod.spec?.nodeName ?? '?'}`,
  );
  narrator.print(
    `As written: schedulerName ${asked ?? '(not set)'}; as admitted: schedulerName ${pod.spec?.schedulerName ?? ''}`,
  );
  narrator.print(await placementTable(ctx.extender, ctx.nodes, replicas, pod, 'app'));
  if (!replicas.includes(pod.spec?.nodeName ?? '')) {
    throw demoFailure(`app landed on ${pod.spec?.nodeName ?? '?'}, which holds no replica of app-data`, {
      replicas,
      'stork log': ctx.storkLog.tail(15, 'app'),
    });
  }
  narrator.print(`app runs on ${pod.spec?.nodeName ?? ''}, a node holding a replica of app-data.`);
}
