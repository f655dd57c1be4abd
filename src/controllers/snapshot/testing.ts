// A framework for table-driven tests of the snapshot controllers, after external-snapshotter's
// framework_test.go: fill the fake API server and a storage system in memory with objects, run the
// controllers over real informers until nothing changes any more, then compare what is there.
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../../wire/k8s-types.js';
import type { DriverVolume, VolumeDriver } from '../../drivers/driver.js';
import type { DriverVolumeSnapshot, VolumeSnapshots } from '../../drivers/volume-snapshots.js';
import type { VolumeSnapshot, VolumeSnapshotData } from '../../k8s/crds/volume-snapshot.js';
import type { EventRecorder } from '../../k8s/events.js';
import { Informer, type KubeObject } from '../../k8s/informer.js';
import { resources, type ResourceType } from '../../k8s/paths.js';
import type { KubeClient } from '../../k8s/client.js';
import { silentLogger } from '../../lib/log.js';
import type { WorkQueueObserver } from '../../lib/work-queue.js';
import type { InformerView, SnapshotDependencies } from './dependencies.js';

/** A storage system in memory: volumes and snapshots by id, and every change it was asked to make. */
export class FakeStorage implements VolumeSnapshots {
  readonly volumes = new Map<string, DriverVolume>();
  readonly snapshots = new Map<string, DriverVolumeSnapshot>();
  /** Every write, in order: `restore <name> from <snapshot id>`, `delete volume <id>`, ... */
  readonly log: string[] = [];
  private next = 0;

  addVolume(name: string, extra: Partial<DriverVolume> = {}): DriverVolume {
    const volume: DriverVolume = {
      id: `vol-${++this.next}`,
      name,
      sizeBytes: 1 << 30,
      replicaNodeIds: [],
      labels: {},
      ...extra,
    };
    this.volumes.set(volume.id, volume);
    return volume;
  }

  addSnapshot(snapshot: Partial<DriverVolumeSnapshot> & { id: string }): DriverVolumeSnapshot {
    const full = { name: snapshot.id, volumeId: 'vol-source', labels: {}, ready: true, ...snapshot };
    this.snapshots.set(full.id, full);
    return full;
  }

  createSnapshot(volumeId: string, name: string, labels: Readonly<Record<string, string>>) {
    this.log.push(`snapshot ${volumeId} as ${name}`);
    return Promise.resolve(this.addSnapshot({ id: `snap-${++this.next}`, name, volumeId, labels }));
  }
  findSnapshot(name: string) {
    return Promise.resolve([...this.snapshots.values()].find((s) => s.name === name));
  }
  inspectSnapshot(id: string) {
    return Promise.resolve(this.snapshots.get(id));
  }
  deleteSnapshot(id: string) {
    this.log.push(`delete snapshot ${id}`);
    this.snapshots.delete(id);
    return Promise.resolve();
  }
  restoreSnapshot(snapshotId: string, name: string, labels: Readonly<Record<string, string>>) {
    this.log.push(`restore ${name} from ${snapshotId}`);
    return Promise.resolve(this.addVolume(name, { parentId: snapshotId, labels }));
  }
  findVolume(name: string) {
    return Promise.resolve([...this.volumes.values()].find((v) => v.name === name));
  }
  deleteVolume(id: string) {
    this.log.push(`delete volume ${id}`);
    this.volumes.delete(id);
    return Promise.resolve();
  }
  persistentVolumeSource(volumeId: string) {
    return { csi: { driver: 'pxd.portworx.com', volumeHandle: volumeId } };
  }
  snapshotDataSource(snapshot: DriverVolumeSnapshot) {
    return { portworxVolume: { snapshotId: snapshot.id, snapshotType: 'local' } };
  }
  snapshotIdOf(spec: Readonly<Record<string, unknown>>) {
    return (spec.portworxVolume as { snapshotId?: string } | undefined)?.snapshotId;
  }
}

/** The objects a case starts from. */
export interface World {
  readonly claims?: readonly PersistentVolumeClaim[];
  readonly volumes?: readonly PersistentVolume[];
  readonly storageClasses?: readonly StorageClass[];
  readonly volumeSnapshots?: readonly VolumeSnapshot[];
  readonly snapshotData?: readonly VolumeSnapshotData[];
}

export interface RecordedEvent {
  readonly object: string;
  readonly type: string;
  readonly reason: string;
  readonly message: string;
}

type Controller = { run(signal: AbortSignal): Promise<void> };

/** What the framework needs of the fake API server (src/k8s/testing's FakeKubeClient, which tests pass). */
export interface SeedableApi extends KubeClient {
  seed(type: ResourceType, ...objects: unknown[]): void;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- a typed read, as FakeKubeClient.object
  object<T = unknown>(type: ResourceType, name: string, namespace?: string): T | undefined;
  readonly resourceVersion: string;
}

/**
 * Runs the controllers `make` builds over `world` (seeded into `api`, a FakeKubeClient whose status
 * subresources include the snapshot CRDs') until it settles: no write to the API server or the
 * storage system and no key waiting in a queue for `quietMs` (keys retried forever, like a claim whose
 * snapshot is missing, settle once `quietMs` passes without a write). Returns what is there then.
 */
export async function runUntilSettled<A extends SeedableApi>(
  api: A,
  world: World,
  storage: FakeStorage,
  make: (deps: SnapshotDependencies & { storageClasses: Informer<StorageClass> }) => Controller[],
  options: { quietMs?: number; timeoutMs?: number } = {},
) {
  api.seed(resources.persistentVolumeClaims, ...(world.claims ?? []));
  api.seed(resources.persistentVolumes, ...(world.volumes ?? []));
  api.seed(resources.storageClasses, ...(world.storageClasses ?? []));
  api.seed(resources.volumeSnapshots, ...(world.volumeSnapshots ?? []));
  api.seed(resources.volumeSnapshotDatas, ...(world.snapshotData ?? []));
  const stop = new AbortController();
  const informer = <T extends KubeObject>(type: ResourceType) => new Informer<T>({ api, type });
  const claims = informer<PersistentVolumeClaim>(resources.persistentVolumeClaims);
  const volumes = informer<PersistentVolume>(resources.persistentVolumes);
  const storageClasses = informer<StorageClass>(resources.storageClasses);
  const volumeSnapshots = informer<VolumeSnapshot>(resources.volumeSnapshots);
  const informers = [claims, volumes, storageClasses, volumeSnapshots];
  await Promise.all(informers.map((i) => i.start(stop.signal)));
  const events: RecordedEvent[] = [];
  const recorder = {
    record: (
      object: { kind?: string; namespace?: string; name?: string },
      type: string,
      reason: string,
      message: string,
    ) => {
      const event = {
        object: `${object.kind ?? ''} ${object.namespace ?? ''}/${object.name ?? ''}`,
        type,
        reason,
        message,
      };
      if (!events.some((e) => JSON.stringify(e) === JSON.stringify(event))) events.push(event);
    },
  } as unknown as EventRecorder;
  let depth = 0;
  const depths = new Map<number, number>();
  let queues = 0;
  const queueObserver = (): WorkQueueObserver => {
    const id = queues++;
    return {
      added: () => undefined,
      processed: () => undefined,
      retried: () => undefined,
      depth: (keys) => {
        depths.set(id, keys);
        depth = [...depths.values()].reduce((a, b) => a + b, 0);
      },
    };
  };
  const driver = {
    name: 'pxd',
    csiDriverName: 'pxd.portworx.com',
    volumeIdOf: (pv: PersistentVolume) => pv.spec?.csi?.volumeHandle,
  } as unknown as VolumeDriver;
  const controllers = make({
    api,
    driver,
    snapshots: storage,
    volumeSnapshots,
    claims,
    volumes,
    storageClasses,
    events: recorder,
    logger: silentLogger,
    get queueObserver() {
      return queueObserver();
    },
  });
  const running = controllers.map((c) => c.run(stop.signal));
  const quietMs = options.quietMs ?? 150;
  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  let last = '';
  let quietSince = Date.now();
  try {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const now = `${api.resourceVersion} ${storage.log.length}`;
      if (now !== last || depth > 0) {
        if (now !== last) quietSince = Date.now();
        last = now;
      }
      const quiet = Date.now() - quietSince >= quietMs;
      if (quiet && (depth === 0 || Date.now() - quietSince >= quietMs * 3)) break;
      if (Date.now() > deadline) throw new Error(`did not settle in time (queue depth ${depth})`);
    }
  } finally {
    stop.abort();
    await Promise.allSettled(running);
    for (const i of informers) i.stop();
    await Promise.all(informers.map((i) => i.stopped()));
  }
  return {
    api,
    events,
    storage,
    claim: (namespace: string, name: string) =>
      api.object<PersistentVolumeClaim>(resources.persistentVolumeClaims, name, namespace),
    pv: (name: string) => api.object<PersistentVolume>(resources.persistentVolumes, name),
    snapshot: (namespace: string, name: string) =>
      api.object<VolumeSnapshot>(resources.volumeSnapshots, name, namespace),
    data: (name: string) => api.object<VolumeSnapshotData>(resources.volumeSnapshotDatas, name),
  };
}

/**
 * An informer view read straight from the fake API server, for tests that drive a controller's sync by
 * hand rather than through its informers (no handlers: nothing is queued by changes).
 */
export function apiView<T extends KubeObject>(
  api: Pick<SeedableApi, 'object'> & {
    objects<U = unknown>(type: ResourceType, namespace?: string): U[];
  },
  type: ResourceType,
): InformerView<T> {
  return {
    get: (name, namespace) => api.object<T>(type, name, namespace),
    list: () => api.objects<T>(type),
    addHandlers: () => () => undefined,
  };
}
