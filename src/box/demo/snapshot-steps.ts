import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PersistentVolumeClaim, Pod } from '../../wire/k8s-types.js';
import type { VolumeSnapshot, VolumeSnapshotData } from '../../k8s/crds/volume-snapshot.js';
import { resources } from '../../k8s/paths.js';
import { waitFor, WaitTimeoutError } from '../../lib/wait.js';
import { applyManifests } from '../manifests.js';
import { demoFailure } from './narrator.js';
import { claimVolume, eventsAbout, placementTable } from './placement.js';
import type { DemoContext } from './context.js';
import { table } from './table.js';
import {
  seedCloneManifest,
  seedCloneName,
  seedSnapshotManifest,
  seedSnapshotName,
} from '../seed-manifests.js';

const namespace = 'default';
const snapshotName = seedSnapshotName;
const cloneName = seedCloneName;
const snapshotClass = new URL('../../../specs/stork-snapshot-sc.yaml', import.meta.url);

/**
 * The Rules of the seed's application-consistent snapshot. In a cluster the pre rule is Stork's
 * `mysql ... -Bse 'flush tables with read lock;system ${WAIT_CMD};'`: MySQL holds its lock until stork
 * releases `${WAIT_CMD}` after the snapshot. KWOK runs pod commands on this host, where there is no
 * MySQL, so shell stand-ins record the lock, the unlock and the post rule (with the time in ms) in a file.
 */
function rules(log: string): string {
  const stamp = (what: string): string => `echo "${what} $(date +%s%3N)" >> ${log}`;
  return `
apiVersion: stork.libopenstorage.org/v1alpha1
kind: Rule
metadata:
  name: mysql-pre-snapshot-rule
rules:
  - podSelector:
      app: mysql
    actions:
      - type: command
        background: true
        value: '${stamp('lock')}; \${WAIT_CMD}; ${stamp('unlock')}'
---
apiVersion: stork.libopenstorage.org/v1alpha1
kind: Rule
metadata:
  name: mysql-post-snapshot-rule
rules:
  - podSelector:
      app: mysql
    actions:
      - type: command
        value: '${stamp('post')}'
`;
}

const snapshotManifest = seedSnapshotManifest({
  'stork.libopenstorage.org/pre-snapshot-rule': 'mysql-pre-snapshot-rule',
  'stork.libopenstorage.org/post-snapshot-rule': 'mysql-post-snapshot-rule',
});
const cloneManifest = seedCloneManifest;

/** A lock/unlock/post line the stand-in commands wrote: what, and when (ms since the epoch). */
interface Stamp {
  readonly what: string;
  readonly at: number;
}

async function stamps(log: string): Promise<Stamp[]> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [what = '', at = ''] = l.split(' ');
      return { what, at: Number(at) };
    });
}

/**
 * (a) An application-consistent snapshot of mysql-data: the pre rule's background command takes the
 * lock and holds it while the driver snapshot is taken, stork releases it, then the post rule runs.
 * Checks the snapshot is Ready with its VolumeSnapshotData, and the order from the commands' clocks
 * against the driver snapshot's creation time in the storage system.
 */
export async function applicationConsistentSnapshot(ctx: DemoContext): Promise<void> {
  const { box, narrator } = ctx;
  const log = join(ctx.workDir, 'mysql-rules.log');
  narrator.say(
    'An application-consistent snapshot of mysql-data: pre rule (flush tables with read lock) -> snapshot -> post rule',
  );
  narrator.print(
    "Stork's pre rule for MySQL runs `flush tables with read lock; system ${WAIT_CMD}` in the mysql pod and\n" +
      'keeps it running: the lock holds until stork has the snapshot and releases ${WAIT_CMD}. KWOK runs pod\n' +
      'commands on this host (there is no MySQL), so a shell stand-in records "lock" and "unlock" instead:',
  );
  const ruleText = rules(log);
  narrator.print(ruleText.trim());
  const { snapshot, data, driverCreatedAt } = await narrator.timed(
    `${snapshotName} (pre/post rules)`,
    async () => {
      await applyManifests(box.api, ruleText, namespace);
      await applyManifests(box.api, snapshotManifest, namespace);
      const ready = await waitForSnapshot(ctx);
      const dataName = ready.spec.snapshotDataName ?? '';
      const snapshotData = await box.api.get<VolumeSnapshotData>(resources.volumeSnapshotDatas, {
        name: dataName,
      });
      const id = snapshotData.spec.portworxVolume?.snapshotId ?? '';
      const driverSnapshot = ctx.storage.simulator.state.volume(id);
      if (!driverSnapshot?.snapshot) {
        throw demoFailure(
          `${dataName} names driver snapshot "${id}", which the storage system does not hold`,
          {
            'VolumeSnapshotData spec': JSON.stringify(snapshotData.spec),
          },
        );
      }
      return { snapshot: ready, data: snapshotData, driverCreatedAt: driverSnapshot.createdAt };
    },
    (r) => `Ready; driver snapshot ${r.data.spec.portworxVolume?.snapshotId ?? '?'}`,
  );

  // The post rule ran before the snapshot turned Ready; the released command may still be writing.
  const written = await waitFor(
    'the stand-in commands to record lock, unlock and post',
    async () => {
      const all = await stamps(log);
      const kinds = new Set(all.map((s) => s.what));
      return ['lock', 'unlock', 'post'].every((k) => kinds.has(k)) ? all : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  ).catch(async (error: unknown) => {
    if (!(error instanceof WaitTimeoutError)) throw error;
    throw demoFailure(`the rules of ${snapshotName} did not all run`, {
      'recorded by the commands': (await stamps(log)).map((s) => `${s.what} ${s.at}`),
      'events on the snapshot': await eventsAbout(box, namespace, snapshotName),
      'stork log': ctx.storkLog.tail(15, snapshotName),
    });
  });
  const timeline = [
    ...written.map((s) => ({ at: s.at, what: describeStamp(s.what) })),
    { at: driverCreatedAt, what: `driver snapshot ${data.spec.portworxVolume?.snapshotId ?? ''} taken` },
  ].sort((a, b) => a.at - b.at);
  const first = timeline[0]?.at ?? 0;
  narrator.print(table(timeline.map((t) => ({ ms: `+${t.at - first}`, what: t.what }))));
  const last = (what: string): number => Math.max(...written.filter((s) => s.what === what).map((s) => s.at));
  const earliest = (what: string): number =>
    Math.min(...written.filter((s) => s.what === what).map((s) => s.at));
  if (!(last('lock') <= driverCreatedAt && driverCreatedAt <= earliest('unlock'))) {
    throw demoFailure('the lock was not held while the driver snapshot was taken', {
      timeline: timeline.map((t) => `${t.at} ${t.what}`),
    });
  }
  if (!(driverCreatedAt <= earliest('post'))) {
    throw demoFailure('the post rule ran before the driver snapshot was taken', {
      timeline: timeline.map((t) => `${t.at} ${t.what}`),
    });
  }
  narrator.print(
    `The lock was taken before the driver snapshot and released after it, then the post rule ran:\n` +
      `${snapshotName} is a consistent copy of MySQL's data. Its VolumeSnapshotData records the driver snapshot:`,
  );
  narrator.print(
    (await box.kubectl(['get', 'volumesnapshot,volumesnapshotdatas', '-n', namespace])).trimEnd(),
  );
  if (!data.spec.volumeSnapshotRef || data.spec.volumeSnapshotRef.uid !== snapshot.metadata.uid) {
    throw demoFailure(`${data.metadata.name ?? ''} does not point back at ${snapshotName}`, {
      'VolumeSnapshotData spec': JSON.stringify(data.spec),
    });
  }
}

function describeStamp(what: string): string {
  switch (what) {
    case 'lock':
      return 'pre rule: lock taken (stands in for flush tables with read lock), held at ${WAIT_CMD}';
    case 'unlock':
      return 'stork released ${WAIT_CMD}: lock released';
    case 'post':
      return 'post rule ran';
    default:
      return what;
  }
}

async function waitForSnapshot(ctx: DemoContext): Promise<VolumeSnapshot> {
  const { box } = ctx;
  let seen: VolumeSnapshot | undefined;
  const outcome = await waitFor(
    `${snapshotName} to be Ready`,
    async () => {
      seen = await box.api.get<VolumeSnapshot>(resources.volumeSnapshots, {
        namespace,
        name: snapshotName,
      });
      const type = seen.status?.conditions?.at(-1)?.type;
      return type === 'Ready' || type === 'Error' ? seen : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 200 },
  ).catch((error: unknown) => {
    if (error instanceof WaitTimeoutError) return undefined;
    throw error;
  });
  const last = outcome?.status?.conditions?.at(-1);
  if (outcome && last?.type === 'Ready') return outcome;
  throw demoFailure(`${snapshotName} is not Ready`, {
    status: JSON.stringify(seen?.status ?? {}),
    'events on the snapshot': await eventsAbout(box, namespace, snapshotName),
    'stork log': ctx.storkLog.tail(15, snapshotName),
  });
}

/**
 * (b) The seed's restore: mysql-snap-clone, a claim of class stork-snapshot-sc annotated with the
 * snapshot, gets a volume cloned from it, and a pod using it is placed by the stork scheduler on a node
 * holding a replica of the clone.
 */
export async function restoreClone(ctx: DemoContext): Promise<void> {
  const { box, narrator } = ctx;
  narrator.say(
    `Restore: ${cloneName} (storageClassName: stork-snapshot-sc, annotated with ${snapshotName}), then a pod using it`,
  );
  narrator.print(cloneManifest.trim());
  const { pod, replicas } = await narrator.timed(
    `${cloneName} restored and used`,
    async () => {
      await applyManifests(box.api, await readFile(snapshotClass, 'utf8'), namespace);
      await applyManifests(box.api, cloneManifest, namespace);
      await waitFor(
        `${cloneName} to be Bound`,
        async () =>
          (
            await box.api.get<PersistentVolumeClaim>(resources.persistentVolumeClaims, {
              namespace,
              name: cloneName,
            })
          ).status?.phase === 'Bound',
        { timeoutMs: 60_000, intervalMs: 200 },
      ).catch(async (error: unknown) => {
        if (!(error instanceof WaitTimeoutError)) throw error;
        throw demoFailure(`${cloneName} was not Bound`, {
          'events on the claim': await eventsAbout(box, namespace, cloneName),
          'stork log': ctx.storkLog.tail(15, cloneName),
        });
      });
      const clone = await claimVolume(box, ctx.storage, namespace, cloneName);
      await box.api.create(resources.pods, clonePod(), namespace);
      const running = await waitForRunning(ctx, 'mysql-clone');
      return { pod: running, replicas: clone.nodes, volume: clone.volume };
    },
    (r) => `Bound; pod on ${r.pod.spec?.nodeName ?? '?'}`,
  );
  narrator.print(
    (await box.kubectl(['get', 'pvc', cloneName, '-n', namespace])).trimEnd() +
      `\nThe clone's volume was made from the driver snapshot, on the snapshot's nodes (${replicas.join(', ')}).`,
  );
  narrator.print(await placementTable(ctx.extender, ctx.nodes, replicas, pod, 'mysql-clone'));
  if (!replicas.includes(pod.spec?.nodeName ?? '')) {
    throw demoFailure(
      `mysql-clone landed on ${pod.spec?.nodeName ?? '?'}, which holds no replica of the clone`,
      {
        replicas,
        'stork log': ctx.storkLog.tail(15, 'mysql-clone'),
      },
    );
  }
  narrator.print(
    `The stork scheduler put mysql-clone on ${pod.spec?.nodeName ?? ''}, next to a replica of its data.`,
  );
}

function clonePod(): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'mysql-clone', labels: { app: 'mysql-clone' } },
    spec: {
      schedulerName: 'stork',
      containers: [
        {
          name: 'mysql',
          image: 'mysql:5.6',
          env: [{ name: 'MYSQL_ROOT_PASSWORD', value: 'password' }],
          volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }],
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: cloneName } }],
    },
  };
}

/** The pod once Running; otherwise throws with its status and events. */
export async function waitForRunning(ctx: DemoContext, name: string): Promise<Pod> {
  let seen: Pod | undefined;
  try {
    return await waitFor(
      `pod ${name} to run`,
      async () => {
        seen = await ctx.box.api.get<Pod>(resources.pods, { namespace, name });
        return seen.status?.phase === 'Running' ? seen : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    throw demoFailure(`pod ${name} is not Running`, {
      status: JSON.stringify(seen?.status ?? {}),
      'events on the pod': await eventsAbout(ctx.box, namespace, name),
      'stork log': ctx.storkLog.tail(15, name),
    });
  }
}
