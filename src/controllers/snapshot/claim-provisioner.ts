// The `stork-snapshot` provisioner's first half: claims of the `stork-snapshot-sc` class annotated with a
// snapshot get a new driver volume cloned from it and a PersistentVolume pre-bound to them, which
// kube-controller-manager then binds (the external provisioning protocol). Released volumes are the
// VolumeReclaimer's.
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../../wire/k8s-types.js';
import { claimProvisioner, claimStorageClassName } from '../../drivers/ownership.js';
import type { VolumeSnapshotData } from '../../k8s/crds/volume-snapshot.js';
import { getOrUndefined, isAlreadyExists } from '../../k8s/errors.js';
import { objectReference } from '../../k8s/events.js';
import type { Informer } from '../../k8s/informer.js';
import { resources } from '../../k8s/paths.js';
import { retryOnConflict } from '../../k8s/retry.js';
import { errorText } from '../../lib/errors.js';
import { WorkQueue, type WorkResult } from '../../lib/work-queue.js';
import {
  provisionedByAnnotation,
  provisionerIdentity,
  provisionerIdentityAnnotation,
  restoredVolumeName,
  restoreFinalizer,
  snapshotAnnotation,
  snapshotProvisionerName,
} from './names.js';
import type { SnapshotDependencies } from './dependencies.js';
import { parseCsiSnapshotId } from '../../drivers/csi/csi-snapshots.js';
import { restoreClaimOwner, type CsiRestores } from './csi-restore.js';
import { checkRestore, checkSnapshotData, restoreRef, RestoreRefused } from './restore-source.js';

export interface ClaimProvisionerOptions extends SnapshotDependencies {
  readonly storageClasses: Pick<Informer<StorageClass>, 'get'>;
  /** First retry of a claim that cannot be provisioned yet; doubles up to maxRetryDelayMs. */
  readonly retryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
  /** Restores of CSI-backed snapshots (with the csi driver); without it they are refused. */
  readonly csiRestores?: CsiRestores;
}

/**
 * Provisions claims of the `stork-snapshot` class, one work queue key (`namespace/name`) per claim.
 *
 * Before it makes a volume for a claim it puts {@link restoreFinalizer} on the claim, and takes it off
 * once the PV exists. So a claim deleted before its PV existed stays (Terminating) until its clone, if
 * one was made, is deleted: the proof of ownership is in the API server, not in this process's memory,
 * and survives a restart or a new leader. A volume is only ever deleted for a claim stork holds so.
 */
export class ClaimProvisioner {
  private readonly queue: WorkQueue;

  constructor(private readonly options: ClaimProvisionerOptions) {
    this.queue = new WorkQueue({
      process: (key, signal) => {
        const [namespace = '', name = ''] = key.split('/');
        return this.sync(namespace, name, signal);
      },
      ...(options.queueObserver ? { observer: options.queueObserver } : {}),
      baseDelayMs: options.retryDelayMs ?? 1000,
      maxDelayMs: options.maxRetryDelayMs ?? 30_000,
      onError: (error, key, attempt) => {
        const err = errorText(error);
        if (error instanceof RestoreRefused)
          options.logger.info({ key, attempt, err }, 'cannot provision yet');
        else options.logger.warn({ key, attempt, err }, 'provisioning failed; retrying');
      },
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    const { claims, volumeSnapshots } = this.options;
    const enqueue = (pvc: PersistentVolumeClaim): void => {
      this.queue.add(claimKey(pvc));
      // A restore claim's progress (its volume made, bound, handed over) moves the user's claim on.
      const owner = restoreClaimOwner(pvc);
      if (owner) this.queue.add(owner);
    };
    const removers = [claims.addHandlers({ onAdd: enqueue, onUpdate: (_, pvc) => enqueue(pvc) })];
    // A snapshot becoming ready releases the claims waiting on it at once, not at their next retry.
    removers.push(
      volumeSnapshots.addHandlers({
        onUpdate: (_, snapshot) => {
          for (const pvc of claims.list()) {
            const ref = restoreRef(pvc);
            if (ref && ref.name === snapshot.metadata.name && ref.namespace === snapshot.metadata.namespace)
              enqueue(pvc);
          }
        },
      }),
    );
    // Every claim once: what an earlier leader left half done (a held claim) is finished from here.
    for (const pvc of claims.list()) enqueue(pvc);
    this.options.logger.info({ provisioner: snapshotProvisionerName }, 'snapshot provisioner running');
    try {
      await this.queue.run(signal);
    } finally {
      for (const remove of removers) remove();
    }
  }

  /** Whether the claim waits for this provisioner (the class's provisioner, or the one KCM recorded). */
  private isOurs(pvc: PersistentVolumeClaim): boolean {
    const className = claimStorageClassName(pvc);
    const storageClass = className ? this.options.storageClasses.get(className) : undefined;
    return claimProvisioner(pvc, storageClass) === snapshotProvisionerName;
  }

  /** A claim of ours that has no volume yet. */
  private wantsVolume(pvc: PersistentVolumeClaim): boolean {
    return (
      !!pvc.metadata?.uid &&
      !pvc.metadata.deletionTimestamp &&
      !pvc.spec?.volumeName &&
      pvc.status?.phase === 'Pending' &&
      this.isOurs(pvc)
    );
  }

  private async sync(namespace: string, name: string, signal: AbortSignal): Promise<WorkResult> {
    const { api, claims, volumes } = this.options;
    const cached = claims.get(name, namespace);
    // Gone from the cache: it held no finalizer of ours any more, so no volume is ours to look after.
    if (!cached) return undefined;
    if (!holds(cached) && !this.wantsVolume(cached)) return undefined;
    const cachedUid = cached.metadata?.uid ?? '';
    if (!holds(cached) && volumes.get(restoredVolumeName(cachedUid))) return undefined;
    // Work is due: act on the claim as it is now (our own writes may not be back through the watch).
    let pvc = await getOrUndefined<PersistentVolumeClaim>(() =>
      api.get(resources.persistentVolumeClaims, { namespace, name }),
    );
    if (!pvc) return undefined;
    if (!this.wantsVolume(pvc)) {
      if (holds(pvc)) await this.release(pvc, signal);
      return undefined;
    }
    const uid = pvc.metadata?.uid ?? '';
    const pvName = restoredVolumeName(uid);
    if (await getOrUndefined(() => api.get(resources.persistentVolumes, { name: pvName }))) {
      if (holds(pvc)) await this.unhold(pvc);
      return undefined;
    }
    let snapshotId: string;
    let source: string;
    try {
      ({ snapshotId, source } = await this.source(pvc, signal));
    } catch (error) {
      if (error instanceof RestoreRefused) {
        this.options.events.record(claimReference(pvc), 'Warning', 'ProvisioningFailed', error.message);
      }
      throw error;
    }
    // Held before anything is made for it: from here on a deletion of the claim waits for us.
    if (!holds(pvc)) pvc = await this.patchFinalizers(pvc, [...finalizersOf(pvc), restoreFinalizer]);
    const csiSnapshot = parseCsiSnapshotId(snapshotId);
    if (csiSnapshot) return this.restoreFromCsi(pvc, csiSnapshot, signal);
    await this.provision(pvc, pvName, snapshotId, source, signal);
    await this.unhold(pvc);
    return undefined;
  }

  /**
   * A CSI snapshot's volume is made by its CSI driver (see CsiRestores); the claim stays held until it is
   * bound, and the restore's helpers are removed then (release).
   */
  private async restoreFromCsi(
    pvc: PersistentVolumeClaim,
    csiSnapshot: { namespace: string; name: string },
    signal: AbortSignal,
  ): Promise<WorkResult> {
    const { csiRestores } = this.options;
    try {
      if (!csiRestores) throw new RestoreRefused('restoring CSI snapshots needs the csi driver (--driver)');
      return await csiRestores.restore(pvc, csiSnapshot, signal);
    } catch (error) {
      if (error instanceof RestoreRefused) {
        this.options.events.record(claimReference(pvc), 'Warning', 'ProvisioningFailed', error.message);
      }
      throw error;
    }
  }

  private async provision(
    pvc: PersistentVolumeClaim,
    pvName: string,
    snapshotId: string,
    source: string,
    signal: AbortSignal,
  ): Promise<void> {
    const { snapshots, events, logger } = this.options;
    const namespace = pvc.metadata?.namespace ?? '';
    const name = pvc.metadata?.name ?? '';
    const volume =
      (await snapshots.findVolume(pvName, signal)) ??
      (await snapshots.restoreSnapshot(snapshotId, pvName, { pvc: name, namespace }, signal));
    const className = claimStorageClassName(pvc) ?? '';
    const storageClass = this.options.storageClasses.get(className);
    const pv: PersistentVolume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: {
        name: pvName,
        annotations: {
          [provisionedByAnnotation]: snapshotProvisionerName,
          [provisionerIdentityAnnotation]: provisionerIdentity,
        },
      },
      spec: {
        capacity: { storage: pvc.spec?.resources?.requests?.storage ?? String(volume.sizeBytes) },
        accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: storageClass?.reclaimPolicy ?? 'Delete',
        storageClassName: className,
        ...(pvc.spec?.volumeMode ? { volumeMode: pvc.spec.volumeMode } : {}),
        ...(storageClass?.mountOptions ? { mountOptions: storageClass.mountOptions } : {}),
        ...snapshots.persistentVolumeSource(volume.id),
        claimRef: {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          namespace,
          name,
          uid: pvc.metadata?.uid ?? '',
        },
      },
    };
    try {
      await this.options.api.create(resources.persistentVolumes, pv);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
    events.record(
      claimReference(pvc),
      'Normal',
      'ProvisioningSucceeded',
      `Successfully provisioned volume ${pvName} from snapshot ${source}`,
    );
    logger.info(
      { claim: `${namespace}/${name}`, pv: pvName, volume: volume.id, snapshot: source },
      'restored',
    );
  }

  /** The driver snapshot to restore the claim from; RestoreRefused says why there is none (yet). */
  private async source(
    pvc: PersistentVolumeClaim,
    signal: AbortSignal,
  ): Promise<{ snapshotId: string; source: string }> {
    const { api, snapshots, volumeSnapshots } = this.options;
    const ref = restoreRef(pvc);
    if (!ref) {
      throw new RestoreRefused(
        `claim has no ${snapshotAnnotation} annotation: the ${snapshotProvisionerName} provisioner only restores snapshots`,
      );
    }
    const source = `${ref.namespace}/${ref.name}`;
    const snapshot = volumeSnapshots.get(ref.name, ref.namespace);
    const dataName = checkRestore(pvc, ref, snapshot);
    const data = await getOrUndefined<VolumeSnapshotData>(() =>
      api.get(resources.volumeSnapshotDatas, { name: dataName }),
    );
    if (!data) throw new RestoreRefused(`VolumeSnapshotData ${dataName} of snapshot ${source} not found`);
    // checkRestore passed, so the snapshot is there.
    if (snapshot) checkSnapshotData(snapshot, data);
    const snapshotId = snapshots.snapshotIdOf(data.spec);
    const driver = this.options.driver.name;
    if (!snapshotId) throw new RestoreRefused(`VolumeSnapshotData ${dataName} names no ${driver} snapshot`);
    const found = await snapshots.inspectSnapshot(snapshotId, signal);
    if (!found) throw new RestoreRefused(`${driver} snapshot ${snapshotId} not found`);
    if (!found.ready) throw new RestoreRefused(`${driver} snapshot ${snapshotId} is not ready yet`);
    return { snapshotId, source };
  }

  /**
   * A held claim that no longer wants a volume (deleted, bound elsewhere, no longer of our class): with a
   * PV named after it, the PV's reclaim policy decides (see VolumeReclaimer); without one, nothing else
   * refers to the volume made for it, which is deleted. Then the claim is let go.
   */
  private async release(pvc: PersistentVolumeClaim, signal: AbortSignal): Promise<void> {
    const name = restoredVolumeName(pvc.metadata?.uid ?? '');
    const pv = await getOrUndefined(() => this.options.api.get(resources.persistentVolumes, { name }));
    if (!pv) {
      const volume = await this.options.snapshots.findVolume(name, signal);
      if (volume) {
        await this.options.snapshots.deleteVolume(volume.id, signal);
        this.options.logger.info(
          { claim: claimKey(pvc), volume: volume.id, name },
          'deleted the restored volume of a claim that went away before it was bound',
        );
      }
    }
    await this.options.csiRestores?.cleanUp(pvc, signal);
    await this.unhold(pvc);
  }

  /** Takes the finalizer off, re-reading the claim while others write it (KCM binds it meanwhile). */
  private async unhold(read: PersistentVolumeClaim): Promise<void> {
    const ref = { namespace: read.metadata?.namespace ?? '', name: read.metadata?.name ?? '' };
    await retryOnConflict(async (n) => {
      const pvc =
        n === 0
          ? read
          : await getOrUndefined<PersistentVolumeClaim>(() =>
              this.options.api.get(resources.persistentVolumeClaims, ref),
            );
      if (!pvc || !holds(pvc)) return;
      await this.patchFinalizers(
        pvc,
        finalizersOf(pvc).filter((f) => f !== restoreFinalizer),
      );
    });
  }

  /** Sets the finalizers of the version we read (a conflict is retried from fresh state). */
  private patchFinalizers(pvc: PersistentVolumeClaim, finalizers: string[]): Promise<PersistentVolumeClaim> {
    return this.options.api.patch<PersistentVolumeClaim>(
      resources.persistentVolumeClaims,
      { namespace: pvc.metadata?.namespace ?? '', name: pvc.metadata?.name ?? '' },
      { metadata: { finalizers, resourceVersion: pvc.metadata?.resourceVersion } },
    );
  }
}

function finalizersOf(pvc: PersistentVolumeClaim): string[] {
  return pvc.metadata?.finalizers ?? [];
}

function holds(pvc: PersistentVolumeClaim): boolean {
  return finalizersOf(pvc).includes(restoreFinalizer);
}

function claimKey(pvc: PersistentVolumeClaim): string {
  return `${pvc.metadata?.namespace ?? ''}/${pvc.metadata?.name ?? ''}`;
}

function claimReference(pvc: PersistentVolumeClaim) {
  return objectReference({ ...pvc, apiVersion: 'v1', kind: 'PersistentVolumeClaim' });
}
