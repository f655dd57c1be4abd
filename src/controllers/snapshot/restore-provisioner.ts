// The `stork-snapshot` provisioner: claims of the `stork-snapshot-sc` class annotated with a snapshot
// get a new driver volume cloned from it and a PersistentVolume pre-bound to them, which
// kube-controller-manager then binds (the external provisioning protocol). Released volumes it
// provisioned with reclaim policy Delete are deleted.
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { claimProvisioner, claimStorageClassName } from '../../drivers/ownership.js';
import type { VolumeSnapshotData } from '../../k8s/crds/volume-snapshot.js';
import { isAlreadyExists, isNotFound } from '../../k8s/errors.js';
import { objectReference } from '../../k8s/events.js';
import type { Informer } from '../../k8s/informer.js';
import { resources } from '../../k8s/paths.js';
import { WorkQueue, type WorkResult } from '../../lib/work-queue.js';
import {
  provisionedByAnnotation,
  provisionerIdentity,
  provisionerIdentityAnnotation,
  restoredVolumeName,
  snapshotAnnotation,
  snapshotProvisionerName,
} from './names.js';
import type { SnapshotDependencies } from './dependencies.js';
import { checkRestore, checkSnapshotData, restoreRef, RestoreRefused } from './restore-source.js';

export interface RestoreProvisionerOptions extends SnapshotDependencies {
  readonly storageClasses: Informer<StorageClass>;
  /** First retry of a claim that cannot be provisioned yet; doubles up to maxRetryDelayMs. */
  readonly retryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
}

const claimPrefix = 'claim:';
const volumePrefix = 'pv:';

export class RestoreProvisioner {
  private readonly queue: WorkQueue;
  /** UIDs of claims deleted before they were bound, by `namespace/name`, until looked at. */
  private readonly deletedClaims = new Map<string, string>();

  constructor(private readonly options: RestoreProvisionerOptions) {
    this.queue = new WorkQueue({
      process: (key, signal) => this.sync(key, signal),
      ...(options.queueObserver ? { observer: options.queueObserver } : {}),
      baseDelayMs: options.retryDelayMs ?? 1000,
      maxDelayMs: options.maxRetryDelayMs ?? 30_000,
      onError: (error, key, attempt) => {
        const err = error instanceof Error ? error.message : String(error);
        if (error instanceof RestoreRefused)
          options.logger.info({ key, attempt, err }, 'cannot provision yet');
        else options.logger.warn({ key, attempt, err }, 'provisioning failed; retrying');
      },
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    const { claims, volumes, volumeSnapshots } = this.options;
    const claimKey = (pvc: PersistentVolumeClaim): void =>
      this.queue.add(`${claimPrefix}${pvc.metadata?.namespace ?? ''}/${pvc.metadata?.name ?? ''}`);
    // A claim deleted before its PV existed may leave a clone made for it: remember whose it was.
    const claimDeleted = (pvc: PersistentVolumeClaim): void => {
      const uid = pvc.metadata?.uid;
      if (!uid || pvc.spec?.volumeName || !this.isOurs(pvc)) return;
      this.deletedClaims.set(`${pvc.metadata?.namespace ?? ''}/${pvc.metadata?.name ?? ''}`, uid);
      claimKey(pvc);
    };
    const removers = [
      claims.addHandlers({ onAdd: claimKey, onUpdate: (_, pvc) => claimKey(pvc), onDelete: claimDeleted }),
    ];
    const volumeKey = (pv: PersistentVolume): void =>
      this.queue.add(`${volumePrefix}${pv.metadata?.name ?? ''}`);
    removers.push(volumes.addHandlers({ onAdd: volumeKey, onUpdate: (_, pv) => volumeKey(pv) }));
    // A snapshot becoming ready releases the claims waiting on it at once, not at their next retry.
    removers.push(
      volumeSnapshots.addHandlers({
        onUpdate: (_, snapshot) => {
          for (const pvc of claims.list()) {
            const ref = restoreRef(pvc);
            if (ref && ref.name === snapshot.metadata.name && ref.namespace === snapshot.metadata.namespace)
              claimKey(pvc);
          }
        },
      }),
    );
    for (const pvc of claims.list()) claimKey(pvc);
    for (const pv of volumes.list()) volumeKey(pv);
    this.options.logger.info({ provisioner: snapshotProvisionerName }, 'snapshot provisioner running');
    try {
      await this.queue.run(signal);
    } finally {
      for (const remove of removers) remove();
    }
  }

  private sync(key: string, signal: AbortSignal): Promise<WorkResult> {
    if (key.startsWith(volumePrefix)) return this.reclaim(key.slice(volumePrefix.length), signal);
    const [namespace = '', name = ''] = key.slice(claimPrefix.length).split('/');
    return this.provision(namespace, name, signal);
  }

  /** Whether the claim waits for this provisioner (the class's provisioner, or the one KCM recorded). */
  private isOurs(pvc: PersistentVolumeClaim): boolean {
    const className = claimStorageClassName(pvc);
    const storageClass = className ? this.options.storageClasses.get(className) : undefined;
    return claimProvisioner(pvc, storageClass) === snapshotProvisionerName;
  }

  private async provision(namespace: string, name: string, signal: AbortSignal): Promise<WorkResult> {
    const { claims, volumes, snapshots, events, logger } = this.options;
    const pvc = claims.get(name, namespace);
    if (!pvc) {
      const deletedUid = this.deletedClaims.get(`${namespace}/${name}`);
      this.deletedClaims.delete(`${namespace}/${name}`);
      if (deletedUid) await this.removeOrphan(`${namespace}/${name}`, deletedUid, signal);
      return undefined;
    }
    const uid = pvc.metadata?.uid;
    if (!uid || pvc.metadata?.deletionTimestamp) return undefined;
    if (pvc.spec?.volumeName || pvc.status?.phase !== 'Pending' || !this.isOurs(pvc)) return undefined;
    const pvName = restoredVolumeName(uid);
    if (volumes.get(pvName)) return undefined;
    let snapshotId: string;
    let source: string;
    try {
      ({ snapshotId, source } = await this.source(pvc, signal));
    } catch (error) {
      if (error instanceof RestoreRefused) {
        events.record(claimReference(pvc), 'Warning', 'ProvisioningFailed', error.message);
      }
      throw error;
    }
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
          uid,
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
    return undefined;
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
    let data: VolumeSnapshotData;
    try {
      data = await api.get(resources.volumeSnapshotDatas, { name: dataName });
    } catch (error) {
      if (isNotFound(error))
        throw new RestoreRefused(`VolumeSnapshotData ${dataName} of snapshot ${source} not found`);
      throw error;
    }
    // checkRestore passed, so the snapshot is there.
    if (snapshot) checkSnapshotData(snapshot, data);
    const snapshotId = snapshots.snapshotIdOf(data.spec);
    if (!snapshotId) {
      throw new RestoreRefused(
        `VolumeSnapshotData ${dataName} names no ${this.options.driver.name} snapshot`,
      );
    }
    const driverSnapshot = await snapshots.inspectSnapshot(snapshotId, signal);
    if (!driverSnapshot)
      throw new RestoreRefused(`${this.options.driver.name} snapshot ${snapshotId} not found`);
    if (!driverSnapshot.ready)
      throw new RestoreRefused(`${this.options.driver.name} snapshot ${snapshotId} is not ready yet`);
    return { snapshotId, source };
  }

  /**
   * The clone made for a claim that was deleted before its PV was created. With a PV, the PV's reclaim
   * policy decides (see reclaim); without one, nothing else refers to the volume named after the claim.
   */
  private async removeOrphan(claim: string, uid: string, signal: AbortSignal): Promise<void> {
    const name = restoredVolumeName(uid);
    try {
      await this.options.api.get(resources.persistentVolumes, { name });
      return;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    const volume = await this.options.snapshots.findVolume(name, signal);
    if (!volume) return;
    await this.options.snapshots.deleteVolume(volume.id, signal);
    this.options.logger.info(
      { claim, volume: volume.id, name },
      'deleted the restored volume of a claim deleted before it was bound',
    );
  }

  /** A Released volume this provisioner made, with reclaim policy Delete: its driver volume, then the PV. */
  private async reclaim(name: string, signal: AbortSignal): Promise<WorkResult> {
    const pv = this.options.volumes.get(name);
    if (!pv || pv.status?.phase !== 'Released' || pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') {
      return undefined;
    }
    const annotations = pv.metadata?.annotations ?? {};
    if (
      annotations[provisionedByAnnotation] !== snapshotProvisionerName ||
      annotations[provisionerIdentityAnnotation] !== provisionerIdentity
    ) {
      return undefined;
    }
    const volumeId = this.options.driver.volumeIdOf(pv);
    if (volumeId) await this.options.snapshots.deleteVolume(volumeId, signal);
    try {
      await this.options.api.delete(resources.persistentVolumes, { name });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    this.options.logger.info({ pv: name, volume: volumeId }, 'deleted released volume');
    return undefined;
  }
}

function claimReference(pvc: PersistentVolumeClaim) {
  return objectReference({ ...pvc, apiVersion: 'v1', kind: 'PersistentVolumeClaim' });
}
