// Snapshots of CSI volumes through the Kubernetes snapshot API (snapshot.storage.k8s.io/v1, served by
// external-snapshotter): what the snapshot controller's seed-API VolumeSnapshots become on CSI storage.
import type { ObjectMeta, PersistentVolume, PersistentVolumeSpec } from '../../wire/k8s-types.js';
import type { KubeClient } from '../../k8s/client.js';
import { getOrUndefined, ignoreNotFound, isAlreadyExists, isNotFound } from '../../k8s/errors.js';
import type { ResourceType } from '../../k8s/paths.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { truncate } from '../../lib/http.js';
import { DriverError, type DriverVolume } from '../driver.js';
import type { DriverVolumeSnapshot, VolumeSnapshots } from '../volume-snapshots.js';
import { errorText } from '../../lib/errors.js';
import { discardBoundContent } from './content-discard.js';
import { contentErrorIsFinal } from './content-error.js';

const snapshotApi = (resource: string, namespaced: boolean): ResourceType => ({
  group: 'snapshot.storage.k8s.io',
  version: 'v1',
  resource,
  namespaced,
});

export const csiSnapshotResources = {
  volumeSnapshots: snapshotApi('volumesnapshots', true),
  volumeSnapshotContents: snapshotApi('volumesnapshotcontents', false),
  volumeSnapshotClasses: snapshotApi('volumesnapshotclasses', false),
} as const;

/** On a seed-API VolumeSnapshot: the VolumeSnapshotClass to take a CSI volume's snapshot with. */
export const csiSnapshotClassAnnotation = 'stork.libopenstorage.org/csi-snapshot-class';
/** A cluster-scoped object's name: a DNS-1123 subdomain (Kubernetes' validation for VolumeSnapshotClass). */
function isSnapshotClassName(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name);
}
/** external-snapshotter's mark of a driver's default class. */
export const defaultSnapshotClassAnnotation = 'snapshot.storage.kubernetes.io/is-default-class';
/**
 * csi-snapshotter's mark on a content whose CreateSnapshot has not had a final answer: while it is there,
 * an error in the status is one the sidecar retries (the storage may yet cut the snapshot).
 */
export const beingCreatedAnnotation = 'snapshot.storage.kubernetes.io/volumesnapshot-being-created';
/** On a CSI VolumeSnapshot stork made: the name it was made under (its idempotency key). */
export const storkSnapshotLabel = 'stork.libopenstorage.org/snapshot';
/** Stork's tags naming the seed-API VolumeSnapshot a snapshot is taken for (set by the controller). */
const createdForNamespace = 'kubernetes.io/created-for/snapshot/namespace';
const createdForName = 'kubernetes.io/created-for/snapshot/name';
/** Ids of CSI snapshots: `csi:<namespace>/<name>` of the CSI VolumeSnapshot. */
const idPrefix = 'csi:';

/** The parts of snapshot.storage.k8s.io/v1 objects read here. */
export interface CsiVolumeSnapshot {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: {
    source: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string };
    volumeSnapshotClassName?: string;
  };
  status?: {
    boundVolumeSnapshotContentName?: string;
    creationTime?: string;
    readyToUse?: boolean;
    restoreSize?: string;
    error?: { time?: string; message?: string };
  };
}

export interface CsiVolumeSnapshotClass {
  metadata: ObjectMeta;
  driver: string;
  deletionPolicy: 'Delete' | 'Retain';
}

export interface CsiVolumeSnapshotContent {
  metadata: ObjectMeta;
  spec: { deletionPolicy: 'Delete' | 'Retain'; driver: string; volumeSnapshotRef?: { uid?: string } };
  status?: { snapshotHandle?: string; error?: { time?: string; message?: string } };
}

export interface CsiSnapshotsOptions {
  readonly api: KubeClient;
  /** The PV of a served CSI driver with this volume handle (the PV informer). */
  readonly volumeByHandle: (handle: string) => PersistentVolume | undefined;
  /** The seed-API VolumeSnapshot's annotations (for the class annotation), if it can be read. */
  readonly seedAnnotations: (
    namespace: string,
    name: string,
    signal?: AbortSignal,
  ) => Promise<Readonly<Record<string, string>> | undefined>;
  /** How long the snapshot may take to be cut (`status.creationTime`) while the pre-rule is held (60 s). */
  readonly cutTimeoutMs?: number;
  /** How long, from its creation, a cut snapshot may take to become `readyToUse` (10 min). */
  readonly readyTimeoutMs?: number;
  /** How often the CSI VolumeSnapshot is read while waiting for the cut (250 ms). */
  readonly pollIntervalMs?: number;
  readonly clock?: Clock;
}

/** A CSI snapshot that failed for good: the controller ends the seed snapshot in Error with `cause`. */
export class CsiSnapshotFailed extends Error {}

const driverName = 'csi';

/**
 * The csi driver's snapshots: one `snapshot.storage.k8s.io/v1` VolumeSnapshot per seed-API snapshot, in
 * the claim's namespace, named as the controller asks (`snapshot-<seed uid>`) and labelled with that name,
 * so a retry or a restarted stork finds it instead of making another. `createSnapshot` returns once the
 * snapshot is cut (`status.creationTime`), so the controller's pre-snapshot rule is held exactly that long;
 * `ready` is the CSI snapshot's `readyToUse`. A snapshot that failed (a final `status.error`, or not cut
 * or not ready in time) is deleted with its content, whatever the class's deletion policy, before the failure is
 * reported: nothing is left half-made. Deleting a finished one deletes the CSI VolumeSnapshot and leaves
 * its content to the class's deletion policy.
 *
 * Restores from CSI snapshots are not the driver's: the CSI driver makes their volumes, asked by the
 * `stork-snapshot` provisioner (controllers/snapshot/csi-restore.ts).
 */
export class CsiVolumeSnapshots implements VolumeSnapshots {
  private readonly clock: Clock;

  constructor(private readonly options: CsiSnapshotsOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Whether a volume id is a served CSI volume's handle (for routing among several drivers). */
  ownsVolume(volumeId: string): boolean {
    return this.options.volumeByHandle(volumeId) !== undefined;
  }

  /** Whether a snapshot id is one of these. */
  ownsSnapshotId(id: string): boolean {
    return id.startsWith(idPrefix);
  }

  async createSnapshot(
    volumeId: string,
    name: string,
    labels: Readonly<Record<string, string>>,
    signal?: AbortSignal,
  ): Promise<DriverVolumeSnapshot> {
    try {
      return await this.take(volumeId, name, labels, signal);
    } catch (error) {
      // Final failures are final; anything else (the API server not answering now) is retried, and the
      // retry finds the CSI snapshot by name if it was made.
      if (error instanceof CsiSnapshotFailed || signal?.aborted) throw error;
      throw new DriverError(driverName, errorText(error), {
        cause: error,
      });
    }
  }

  private async take(
    volumeId: string,
    name: string,
    labels: Readonly<Record<string, string>>,
    signal?: AbortSignal,
  ): Promise<DriverVolumeSnapshot> {
    const pv = this.options.volumeByHandle(volumeId);
    const claim = pv?.spec?.claimRef;
    if (!pv?.spec?.csi || !claim?.name || !claim.namespace)
      throw new CsiSnapshotFailed(`CSI volume ${volumeId} is not bound to a claim`);
    const driver = pv.spec.csi.driver;
    const className = await this.snapshotClass(driver, labels, signal);
    const body: CsiVolumeSnapshot = {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name, namespace: claim.namespace, labels: { [storkSnapshotLabel]: name } },
      spec: { source: { persistentVolumeClaimName: claim.name }, volumeSnapshotClassName: className },
    };
    return this.awaitCut(await this.createOrFind(body, signal), signal);
  }

  /**
   * Creates the CSI snapshot, or finds the one a retry or an earlier stork made under that name. One of
   * that name still being deleted is not it: an uncut snapshot a restarted stork discarded, whose
   * finalizers external-snapshotter has not removed yet (it may even have been cut since, without the
   * pre rule's hold). Adopted, it would be handed out and then vanish; it is waited for instead (as long
   * as a cut may take), and the snapshot made anew.
   */
  private async createOrFind(body: CsiVolumeSnapshot, signal?: AbortSignal): Promise<CsiVolumeSnapshot> {
    const { api } = this.options;
    const ref = { namespace: body.metadata.namespace ?? '', name: body.metadata.name ?? '' };
    const timeout = this.options.cutTimeoutMs ?? 60_000;
    const deadline = this.clock.now() + timeout;
    for (;;) {
      try {
        return await api.create(csiSnapshotResources.volumeSnapshots, body, ref.namespace, { signal });
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
      }
      const found = await getOrUndefined(() =>
        api.get<CsiVolumeSnapshot>(csiSnapshotResources.volumeSnapshots, ref, { signal }),
      );
      if (found && !found.metadata.deletionTimestamp) return found;
      if (this.clock.now() >= deadline)
        throw new Error(
          `the CSI snapshot ${ref.namespace}/${ref.name} of an earlier attempt was still being deleted ` +
            `after ${Math.round(timeout / 1000)}s`,
        );
      await this.clock.sleep(this.options.pollIntervalMs ?? 250, signal);
    }
  }

  /**
   * Reads the CSI snapshot until it is cut; a final failure or a timeout deletes it and is final. An
   * error the sidecar still retries (a storage system answering "unavailable" now) is waited out like a
   * slow cut, and named if the time runs out.
   */
  private async awaitCut(snapshot: CsiVolumeSnapshot, signal?: AbortSignal): Promise<DriverVolumeSnapshot> {
    const timeout = this.options.cutTimeoutMs ?? 60_000;
    const deadline = this.clock.now() + timeout;
    const ref = { namespace: snapshot.metadata.namespace ?? '', name: snapshot.metadata.name ?? '' };
    let current = snapshot;
    for (;;) {
      const error = current.status?.error?.message;
      if (error !== undefined && (await this.failedForGood(current, signal))) {
        await this.discard(ref, signal);
        throw new CsiSnapshotFailed(`the CSI snapshot ${ref.namespace}/${ref.name} failed: ${error}`);
      }
      if (current.status?.creationTime) return this.toDriverSnapshot(current, signal);
      if (this.clock.now() >= deadline) {
        await this.discard(ref, signal);
        throw new CsiSnapshotFailed(
          `the CSI snapshot ${ref.namespace}/${ref.name} was not cut within ${Math.round(timeout / 1000)}s` +
            (error !== undefined ? `; its last error: ${error}` : ''),
        );
      }
      await this.clock.sleep(this.options.pollIntervalMs ?? 250, signal);
      current = await this.options.api.get(csiSnapshotResources.volumeSnapshots, ref, { signal });
    }
  }

  /** Whether the error in a CSI snapshot's status is final (see contentErrorIsFinal); no content: final. */
  private async failedForGood(snapshot: CsiVolumeSnapshot, signal?: AbortSignal): Promise<boolean> {
    const name = snapshot.status?.boundVolumeSnapshotContentName;
    if (!name) return true;
    const content = await getOrUndefined(() =>
      this.options.api.get<CsiVolumeSnapshotContent>(
        csiSnapshotResources.volumeSnapshotContents,
        { name },
        { signal },
      ),
    );
    return contentErrorIsFinal(content, beingCreatedAnnotation, content?.status?.snapshotHandle);
  }

  /**
   * The class: the seed snapshot's annotation, else the driver's default. Errors are final, as a user
   * must act (create or mark a class).
   */
  private async snapshotClass(
    driver: string,
    labels: Readonly<Record<string, string>>,
    signal?: AbortSignal,
  ): Promise<string> {
    const { api } = this.options;
    const seedNamespace = labels[createdForNamespace];
    const seedName = labels[createdForName];
    const annotations =
      seedNamespace && seedName
        ? await this.options.seedAnnotations(seedNamespace, seedName, signal)
        : undefined;
    const wanted = annotations?.[csiSnapshotClassAnnotation];
    if (wanted) {
      // Any user who may create a seed snapshot writes this: only a valid object name is looked up, and
      // a bad one is echoed cut short.
      if (!isSnapshotClassName(wanted))
        throw new CsiSnapshotFailed(
          `annotation ${csiSnapshotClassAnnotation}: "${truncate(wanted, 80)}" is not a VolumeSnapshotClass ` +
            'name (a DNS subdomain of at most 253 characters)',
        );
      let chosen: CsiVolumeSnapshotClass;
      try {
        chosen = await api.get(csiSnapshotResources.volumeSnapshotClasses, { name: wanted }, { signal });
      } catch (error) {
        if (isNotFound(error)) throw new CsiSnapshotFailed(`VolumeSnapshotClass ${wanted} not found`);
        throw error;
      }
      if (chosen.driver !== driver)
        throw new CsiSnapshotFailed(
          `VolumeSnapshotClass ${wanted} is for CSI driver ${chosen.driver}, not ${driver}`,
        );
      return wanted;
    }
    const classes = await api.list<CsiVolumeSnapshotClass>(
      csiSnapshotResources.volumeSnapshotClasses,
      undefined,
      { signal },
    );
    const defaults = classes.items.filter(
      (c) => c.driver === driver && c.metadata.annotations?.[defaultSnapshotClassAnnotation] === 'true',
    );
    if (defaults.length === 1 && defaults[0]?.metadata.name) return defaults[0].metadata.name;
    if (defaults.length > 1)
      throw new CsiSnapshotFailed(
        `CSI driver ${driver} has ${defaults.length} default VolumeSnapshotClasses; name one with the ` +
          `annotation ${csiSnapshotClassAnnotation}`,
      );
    throw new CsiSnapshotFailed(
      `no VolumeSnapshotClass for CSI driver ${driver}: mark one default (${defaultSnapshotClassAnnotation}) ` +
        `or name one with the annotation ${csiSnapshotClassAnnotation}`,
    );
  }

  async findSnapshot(name: string, signal?: AbortSignal): Promise<DriverVolumeSnapshot | undefined> {
    const list = await this.options.api.list<CsiVolumeSnapshot>(
      csiSnapshotResources.volumeSnapshots,
      undefined,
      {
        labelSelector: `${storkSnapshotLabel}=${name}`,
        signal,
      },
    );
    const found = list.items.find((s) => s.metadata.name === name && !s.metadata.deletionTimestamp);
    return found ? this.toDriverSnapshot(found, signal) : undefined;
  }

  async inspectSnapshot(id: string, signal?: AbortSignal): Promise<DriverVolumeSnapshot | undefined> {
    const ref = parseCsiSnapshotId(id);
    if (!ref) return undefined;
    const found = await getOrUndefined(() =>
      this.options.api.get<CsiVolumeSnapshot>(csiSnapshotResources.volumeSnapshots, ref, { signal }),
    );
    return found ? this.toDriverSnapshot(found, signal) : undefined;
  }

  /**
   * Deletes the CSI VolumeSnapshot. A finished one leaves its content to the class's deletion policy (the
   * snapshot controller deletes or keeps it); an unfinished or failed one goes with its content and the
   * storage system's snapshot, whatever the policy.
   */
  async deleteSnapshot(id: string, signal?: AbortSignal): Promise<void> {
    const ref = parseCsiSnapshotId(id);
    if (!ref) throw new DriverError(driverName, `${id} is not a CSI snapshot id`);
    let snapshot: CsiVolumeSnapshot;
    try {
      snapshot = await this.options.api.get(csiSnapshotResources.volumeSnapshots, ref, { signal });
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    if (snapshot.status?.readyToUse === true && snapshot.status.error === undefined) {
      await ignoreNotFound(this.options.api.delete(csiSnapshotResources.volumeSnapshots, ref, { signal }));
      return;
    }
    await this.discard(ref, signal);
  }

  /** Deletes the CSI snapshot with its content and the storage system's snapshot, whatever the policy. */
  async discardSnapshot(id: string, signal?: AbortSignal): Promise<void> {
    const ref = parseCsiSnapshotId(id);
    if (!ref) throw new DriverError(driverName, `${id} is not a CSI snapshot id`);
    await this.discard(ref, signal);
  }

  /**
   * Removes a CSI snapshot that must leave nothing behind: its content is switched to the Delete policy
   * (so the sidecar deletes the storage system's snapshot too), the VolumeSnapshot is deleted, then the
   * content (see discardBoundContent for why snapshot-controller cannot be left to take it).
   */
  private async discard(ref: { namespace: string; name: string }, signal?: AbortSignal): Promise<void> {
    const { api } = this.options;
    const snapshot = await getOrUndefined(() =>
      api.get<CsiVolumeSnapshot>(csiSnapshotResources.volumeSnapshots, ref, { signal }),
    );
    if (!snapshot) return;
    const uid = snapshot.metadata.uid;
    // A content made just now may not be in the snapshot's status yet: snapshot-controller names the
    // content it makes after the snapshot's UID (only a content bound to that UID is touched).
    const contentName =
      snapshot.status?.boundVolumeSnapshotContentName ?? (uid ? `snapcontent-${uid}` : undefined);
    const content = csiSnapshotResources.volumeSnapshotContents;
    if (contentName) await discardBoundContent(api, content, contentName, uid, 'before', signal);
    await ignoreNotFound(api.delete(csiSnapshotResources.volumeSnapshots, ref, { uid, signal }));
    if (contentName) await discardBoundContent(api, content, contentName, uid, 'after', signal);
  }

  restoreSnapshot(snapshotId: string): Promise<DriverVolume> {
    return Promise.reject(
      new DriverError(
        driverName,
        `CSI snapshot ${snapshotId} is restored by its CSI driver, not through the driver interface`,
      ),
    );
  }

  findVolume(): Promise<DriverVolume | undefined> {
    return Promise.resolve(undefined);
  }

  deleteVolume(): Promise<void> {
    return Promise.resolve();
  }

  persistentVolumeSource(volumeId: string): Pick<PersistentVolumeSpec, 'csi' | 'portworxVolume'> {
    const driver = this.options.volumeByHandle(volumeId)?.spec?.csi?.driver ?? '';
    return { csi: { driver, volumeHandle: volumeId } };
  }

  /** Where the seed's VolumeSnapshotData points: the CSI VolumeSnapshot and its content. */
  snapshotDataSource(snapshot: DriverVolumeSnapshot): Record<string, unknown> {
    return { csiSnapshot: { ...snapshot.details } };
  }

  snapshotIdOf(dataSpec: Readonly<Record<string, unknown>>): string | undefined {
    const source = dataSpec.csiSnapshot as { namespace?: unknown; name?: unknown } | undefined;
    return typeof source?.namespace === 'string' && typeof source.name === 'string' && source.name
      ? `${idPrefix}${source.namespace}/${source.name}`
      : undefined;
  }

  /** Any CSI VolumeSnapshot (a group snapshot's member too) as this driver reports its snapshots. */
  describe(s: CsiVolumeSnapshot, signal?: AbortSignal): Promise<DriverVolumeSnapshot> {
    return this.toDriverSnapshot(s, signal);
  }

  /**
   * The snapshot as the controllers see it. Only a final error fails it at once; one the sidecar retries
   * (before or after the cut) is waited out like a slow snapshot, within the ready timeout, and named if
   * that runs out. Ready is `readyToUse` with no error left (external-snapshotter clears a retried one
   * when the content is ready).
   */
  private async toDriverSnapshot(s: CsiVolumeSnapshot, signal?: AbortSignal): Promise<DriverVolumeSnapshot> {
    const namespace = s.metadata.namespace ?? '';
    const name = s.metadata.name ?? '';
    const status = s.status;
    const error = status?.error?.message;
    const final = error !== undefined && (await this.failedForGood(s, signal));
    const ready = status?.readyToUse === true && error === undefined;
    const created = Date.parse(s.metadata.creationTimestamp ?? '');
    const readyTimeout = this.options.readyTimeoutMs ?? 600_000;
    const late = !ready && Number.isFinite(created) && this.clock.wallNow() - created > readyTimeout;
    const failure = final
      ? `the CSI snapshot ${namespace}/${name} failed: ${error}`
      : late
        ? `the CSI snapshot ${namespace}/${name} was not ready within ${Math.round(readyTimeout / 1000)}s` +
          (error !== undefined ? `; its last error: ${error}` : '')
        : undefined;
    return {
      id: `${idPrefix}${namespace}/${name}`,
      name,
      volumeId: '',
      labels: s.metadata.labels ?? {},
      ready: ready && failure === undefined,
      ...(failure !== undefined ? { failure } : {}),
      details: {
        namespace,
        name,
        ...(s.spec.volumeSnapshotClassName
          ? { volumeSnapshotClassName: s.spec.volumeSnapshotClassName }
          : {}),
        ...(status?.boundVolumeSnapshotContentName
          ? { volumeSnapshotContentName: status.boundVolumeSnapshotContentName }
          : {}),
        ...(status?.creationTime ? { creationTime: status.creationTime } : {}),
        ...(status?.restoreSize ? { restoreSize: status.restoreSize } : {}),
      },
    };
  }
}

/** The CSI VolumeSnapshot a snapshot id names, or undefined if the id is not a CSI snapshot's. */
export function parseCsiSnapshotId(id: string): { namespace: string; name: string } | undefined {
  if (!id.startsWith(idPrefix)) return undefined;
  const [namespace = '', name = ''] = id.slice(idPrefix.length).split('/');
  return namespace && name ? { namespace, name } : undefined;
}
