// The leader-only controller that turns VolumeSnapshots into driver snapshots bound through
// VolumeSnapshotData objects, and cleans both up when a VolumeSnapshot is deleted.
import type { PersistentVolumeClaim } from '../../wire/k8s-types.js';
import { DriverError, DriverNotFoundError } from '../../drivers/driver.js';
import type { DriverVolumeSnapshot } from '../../drivers/volume-snapshots.js';
import {
  snapshotApiVersion,
  type SnapshotCondition,
  type VolumeSnapshot,
  type VolumeSnapshotData,
} from '../../k8s/crds/volume-snapshot.js';
import { getOrUndefined, isAlreadyExists } from '../../k8s/errors.js';
import { objectReference } from '../../k8s/events.js';
import { resources } from '../../k8s/paths.js';
import { errorText } from '../../lib/errors.js';
import { WorkQueue, type WorkResult } from '../../lib/work-queue.js';
import { noSnapshotHooks, SnapshotHookError, type AfterSnapshot, type SnapshotHooks } from './hooks.js';
import {
  condition,
  createdForLabels,
  currentCondition,
  driverSnapshotName,
  foreignDataName,
  snapshotDataName,
  snapshotFailedMessage,
  snapshotFinalizer,
} from './names.js';
import type { SnapshotDependencies } from './dependencies.js';
import { restoreRef } from './restore-source.js';
import {
  cutDone,
  formatRulesInFlight,
  preRunning,
  readRulesInFlight,
  rulesInFlightAnnotation,
  type RulesInFlight,
} from './rules-in-flight.js';
import { isGroupMember } from '../group-snapshot/names.js';

export interface SnapshotControllerOptions extends SnapshotDependencies {
  readonly hooks?: SnapshotHooks;
  /** Every snapshot is looked at again this often, as a safety net (default 60 s). */
  readonly resyncIntervalMs?: number;
  /** How often a snapshot the driver has not finished yet is looked at (default 2 s). */
  readonly pollIntervalMs?: number;
  /**
   * Snapshots worked on at once (default 4). Each holds its worker while its pre-rule is held and the
   * snapshot is cut, which on CSI storage takes the sidecars' round trips.
   */
  readonly concurrency?: number;
}

/** Stork's Portworx annotations for cloud and group snapshots, which this version does not take. */
const snapshotTypeAnnotation = 'portworx/snapshot-type';
const groupSelectorPrefix = 'portworx.selector/';

/** A failure that ends the snapshot in the Error condition (not retried). */
class SnapshotFailed extends Error {}

export class SnapshotController {
  private readonly queue: WorkQueue;
  private readonly hooks: SnapshotHooks;

  constructor(private readonly options: SnapshotControllerOptions) {
    this.hooks = options.hooks ?? noSnapshotHooks;
    this.queue = new WorkQueue({
      process: (key, signal) => this.sync(key, signal),
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      ...(options.queueObserver ? { observer: options.queueObserver } : {}),
      baseDelayMs: 500,
      maxDelayMs: 30_000,
      onError: (error, key, attempt) =>
        options.logger.warn(
          { snapshot: key, attempt, err: errorText(error) },
          'snapshot sync failed; retrying',
        ),
    });
  }

  /** Processes snapshots until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { volumeSnapshots, claims, logger } = this.options;
    // Whatever an earlier leader left held (background commands of rules) is released first.
    await this.hooks.recover(signal);
    const enqueue = (snapshot: VolumeSnapshot): void => this.queue.add(snapshotKey(snapshot));
    const removers = [volumeSnapshots.addHandlers({ onAdd: enqueue, onUpdate: (_, s) => enqueue(s) })];
    // A restore finishing (its claim Bound or gone) may let a deleted snapshot go.
    const claimChanged = (pvc: PersistentVolumeClaim): void => {
      const ref = restoreRef(pvc);
      if (ref) this.queue.add(`${ref.namespace}/${ref.name}`);
    };
    removers.push(claims.addHandlers({ onUpdate: (_, pvc) => claimChanged(pvc), onDelete: claimChanged }));
    const resync = (): void => {
      for (const snapshot of volumeSnapshots.list()) enqueue(snapshot);
    };
    resync();
    const timer = setInterval(resync, this.options.resyncIntervalMs ?? 60_000);
    logger.info('snapshot controller running');
    try {
      await this.queue.run(signal);
    } finally {
      clearInterval(timer);
      for (const remove of removers) remove();
    }
  }

  private async sync(key: string, signal: AbortSignal): Promise<WorkResult> {
    const [namespace = '', name = ''] = key.split('/');
    const cached = this.options.volumeSnapshots.get(name, namespace);
    if (!cached) return undefined;
    const cachedState = currentCondition(cached.status?.conditions)?.type;
    const bound = cached.spec.snapshotDataName === snapshotDataName(cached.metadata.uid ?? '');
    const settled =
      (cachedState === 'Error' && foreignDataName(cached) === undefined) ||
      (cachedState === 'Ready' && bound);
    const protectedNow = (cached.metadata.finalizers ?? []).includes(snapshotFinalizer);
    if (settled && protectedNow && !cached.metadata.deletionTimestamp) return undefined;
    // Work is due: act on the object as it is now, not as the cache last saw it (our own writes may
    // not have come back through the watch yet, and a stale write would only conflict).
    let snapshot = await getOrUndefined<VolumeSnapshot>(() =>
      this.options.api.get(resources.volumeSnapshots, { namespace, name }),
    );
    if (!snapshot) return undefined;
    if (snapshot.metadata.deletionTimestamp) return this.finalize(snapshot, signal);
    // A member of a GroupVolumeSnapshot is made and finished by the group's controller; only its deletion
    // is this controller's.
    if (isGroupMember(snapshot)) return undefined;
    const finalizers = snapshot.metadata.finalizers ?? [];
    if (!finalizers.includes(snapshotFinalizer)) {
      snapshot = await this.patch(snapshot, {
        metadata: { finalizers: [...finalizers, snapshotFinalizer] },
      });
    }
    const state = currentCondition(snapshot.status?.conditions);
    const dataName = snapshotDataName(snapshot.metadata.uid ?? '');
    const foreign = foreignDataName(snapshot);
    if (foreign !== undefined) {
      // Whoever may edit the snapshot may write its spec: a data name stork did not set is put back (the
      // restore never reads it anyway) and the user is told.
      snapshot = await this.patch(snapshot, {
        spec: { snapshotDataName: state?.type === 'Ready' ? dataName : null },
      });
      this.options.events.record(
        snapshotReference(snapshot),
        'Warning',
        'SnapshotDataNameIgnored',
        `spec.snapshotDataName "${foreign.slice(0, 253)}" was not set by stork and is ignored: the data of ` +
          `this snapshot is always ${dataName}`,
      );
    }
    if (state?.type === 'Error') return undefined;
    if (state?.type === 'Ready' && snapshot.spec.snapshotDataName === dataName) return undefined;
    if (!state) {
      snapshot = await this.setCondition(snapshot, condition('Pending', 'Snapshot is being created'));
    }
    try {
      return await this.create(snapshot, signal);
    } catch (error) {
      if (!(error instanceof SnapshotFailed)) throw error;
      const message = snapshotFailedMessage(error.message);
      // Read again: the attempt may have written the snapshot since (its record of rules in flight).
      const fresh = await getOrUndefined<VolumeSnapshot>(() =>
        this.options.api.get(resources.volumeSnapshots, { namespace, name }),
      );
      if (!fresh) return undefined;
      await this.setCondition(fresh, condition('Error', message, 'SnapshotFailed'));
      this.options.events.record(snapshotReference(snapshot), 'Warning', 'SnapshotFailed', message);
      this.options.logger.warn({ snapshot: key, err: error.message }, 'snapshot failed');
      return undefined;
    }
  }

  /** Takes (or finds) the driver snapshot, creates (or finds) its data object, and binds the two. */
  private async create(snapshot: VolumeSnapshot, signal: AbortSignal): Promise<WorkResult> {
    const { api, snapshots } = this.options;
    const uid = snapshot.metadata.uid ?? '';
    const dataName = snapshotDataName(uid);
    let data = await getOrUndefined<VolumeSnapshotData>(() =>
      api.get(resources.volumeSnapshotDatas, { name: dataName }),
    );
    if (!data) {
      const volumeName = this.claimVolumeName(snapshot);
      const taken = await this.driverSnapshot(snapshot, volumeName.volumeId, signal);
      const driverSnapshot = taken.driverSnapshot;
      snapshot = taken.snapshot;
      this.options.logger.debug(
        { snapshot: snapshotKey(snapshot), snapshotId: driverSnapshot.id, ready: driverSnapshot.ready },
        'driver snapshot',
      );
      if (!driverSnapshot.ready) {
        return { requeueAfterMs: this.options.pollIntervalMs ?? 2000 };
      }
      data = await this.createData(snapshot, driverSnapshot, volumeName.pvName);
    }
    const snapshotId = snapshots.snapshotIdOf(data.spec);
    if (!snapshotId)
      throw new SnapshotFailed(
        `VolumeSnapshotData ${dataName} names no ${this.options.driver.name} snapshot`,
      );
    const ready = condition('Ready', 'Snapshot created successfully and it is ready', 'SnapshotReady');
    // The data name first, then Ready: whoever sees Ready (a restore, storkctl, a user) also sees the data
    // name. A snapshot naming its data but not Ready is one stork has not finished; it finishes it.
    if (snapshot.spec.snapshotDataName !== dataName) {
      snapshot = await this.patch(snapshot, { spec: { snapshotDataName: dataName } });
    }
    if (currentCondition(snapshot.status?.conditions)?.type !== 'Ready') {
      snapshot = await this.patchStatus(snapshot, {
        creationTimestamp: data.metadata.creationTimestamp ?? ready.lastTransitionTime,
        conditions: [ready],
      });
    }
    this.options.events.record(
      snapshotReference(snapshot),
      'Normal',
      'SnapshotReady',
      `Snapshot ${snapshotId} of claim ${snapshot.spec.persistentVolumeClaimName} is ready (${dataName})`,
    );
    this.options.logger.info(
      { snapshot: snapshotKey(snapshot), snapshotId, data: dataName },
      'snapshot ready',
    );
    return undefined;
  }

  /** The driver volume behind the snapshot's claim; SnapshotFailed when there is none. */
  private claimVolumeName(snapshot: VolumeSnapshot): { volumeId: string; pvName: string } {
    const annotations = snapshot.metadata.annotations ?? {};
    const type = annotations[snapshotTypeAnnotation];
    if (type !== undefined && type !== 'local') {
      throw new SnapshotFailed(`snapshot type "${type}" is not supported: only local snapshots are`);
    }
    const group = Object.keys(annotations).find((key) => key.startsWith(groupSelectorPrefix));
    if (group) throw new SnapshotFailed(`group snapshots (annotation ${group}) are not supported`);
    const namespace = snapshot.metadata.namespace ?? '';
    const claimName = snapshot.spec.persistentVolumeClaimName;
    const claim = this.options.claims.get(claimName, namespace);
    if (!claim) throw new SnapshotFailed(`PersistentVolumeClaim ${namespace}/${claimName} not found`);
    const pvName = claim.spec?.volumeName;
    const pv = pvName ? this.options.volumes.get(pvName) : undefined;
    if (!pvName || !pv || claim.status?.phase !== 'Bound') {
      throw new SnapshotFailed(`PersistentVolumeClaim ${namespace}/${claimName} is not bound to a volume`);
    }
    const volumeId = this.options.driver.volumeIdOf(pv);
    if (!volumeId) {
      throw new SnapshotFailed(
        `PersistentVolumeClaim ${namespace}/${claimName} is not a ${this.options.driver.name} volume`,
      );
    }
    return { volumeId, pvName };
  }

  /**
   * The driver snapshot named after the VolumeSnapshot's UID: found if an earlier attempt made it, else
   * taken now, between the snapshot hooks. Returns it with the VolumeSnapshot as last written.
   */
  private async driverSnapshot(
    snapshot: VolumeSnapshot,
    volumeId: string,
    signal: AbortSignal,
  ): Promise<{ driverSnapshot: DriverVolumeSnapshot; snapshot: VolumeSnapshot }> {
    const { snapshots } = this.options;
    const uid = snapshot.metadata.uid ?? '';
    const name = driverSnapshotName(uid);
    let existing = await snapshots.findSnapshot(name, signal);
    const resumed = await this.resumeRules(snapshot, existing, signal);
    snapshot = resumed.snapshot;
    if (resumed.discarded) existing = undefined;
    if (existing?.failure !== undefined) {
      // Failed for good on the storage side: nothing of it stays, and the user reads the cause.
      await snapshots.deleteSnapshot(existing.id, signal);
      throw new SnapshotFailed(existing.failure);
    }
    if (existing) return { driverSnapshot: existing, snapshot };
    // Recorded before the pre rule starts, so that a stork stopping from here on leaves its successor
    // what to finish (rules-in-flight.ts). Snapshots without rules are not written to.
    const recording = this.hooks.runsRules?.(snapshot) ?? false;
    if (recording) snapshot = await this.writeRulesInFlight(snapshot, preRunning);
    let after: AfterSnapshot;
    try {
      after = await this.hooks.beforeSnapshot(snapshot, [snapshot.spec.persistentVolumeClaimName], signal);
    } catch (error) {
      // Stopping (leadership lost) is not the rule's failure: the record stays, and the next leader undoes
      // what of the pre rule ran (its post rule) and takes the snapshot again, as after a kill.
      if (!(error instanceof SnapshotHookError) || signal.aborted) throw error;
      if (recording) await this.writeRulesInFlight(snapshot, null);
      throw new SnapshotFailed(error.message);
    }
    let taken: DriverVolumeSnapshot | undefined;
    let failure: unknown;
    try {
      taken = await snapshots.createSnapshot(
        volumeId,
        name,
        {
          [createdForLabels.namespace]: snapshot.metadata.namespace ?? '',
          [createdForLabels.name]: snapshot.metadata.name ?? '',
          [createdForLabels.uid]: uid,
        },
        signal,
      );
    } catch (error) {
      failure = error;
    }
    if (taken && recording) {
      // Not recorded (the API server not answering now), a stork stopping before the post rule leaves a
      // snapshot its successor discards and takes again: safe, so the hold is not kept waiting for it.
      try {
        snapshot = await this.writeRulesInFlight(snapshot, cutDone);
      } catch (error) {
        this.options.logger.warn(
          { snapshot: snapshotKey(snapshot), err: errorText(error) },
          `could not record the cut in ${rulesInFlightAnnotation}`,
        );
      }
    }
    try {
      await after.afterSnapshot(taken !== undefined, signal);
    } catch (error) {
      // Stopping (leadership lost) is not the rule's failure: the next leader runs the post rule.
      if (!(error instanceof SnapshotHookError) || signal.aborted) throw error;
      if (taken) {
        // The post rule failed: the snapshot is not handed out half-consistent; nothing of it stays.
        await this.discard(taken.id, signal);
        if (recording) await this.writeRulesInFlight(snapshot, null);
        throw new SnapshotFailed(error.message);
      }
    }
    // Done with the rules (post rule run, or no cut to run it after: a retry starts from the pre rule).
    // A stork stopped while the snapshot was being taken leaves the record for its successor.
    if (recording && (taken || !signal.aborted)) snapshot = await this.writeRulesInFlight(snapshot, null);
    if (!taken) {
      if (signal.aborted) throw failure;
      // The storage system has no such volume: final. Anything else it could not answer now is retried
      // (the snapshot may even have been taken with the answer lost: the next attempt finds it by name).
      if (failure instanceof DriverNotFoundError || !(failure instanceof DriverError)) {
        throw new SnapshotFailed(errorText(failure));
      }
      this.options.events.record(
        snapshotReference(snapshot),
        'Warning',
        'SnapshotCreateRetrying',
        `The ${this.options.driver.name} snapshot could not be taken yet (retrying): ${failure.message}`,
      );
      throw failure;
    }
    return { driverSnapshot: taken, snapshot };
  }

  /**
   * Finishes what an earlier stork left of the snapshot's rules (its record, rules-in-flight.ts): the post
   * rule of a snapshot it cut; or, when it stopped before the cut, the storage snapshot it may have made
   * without the pre rule's hold is discarded (`discarded`), and the snapshot is taken again from the pre
   * rule.
   */
  private async resumeRules(
    snapshot: VolumeSnapshot,
    existing: DriverVolumeSnapshot | undefined,
    signal: AbortSignal,
  ): Promise<{ snapshot: VolumeSnapshot; discarded: boolean }> {
    const record = readRulesInFlight(snapshot);
    if (record === undefined) return { snapshot, discarded: false };
    if (record === 'invalid') {
      this.options.events.record(
        snapshotReference(snapshot),
        'Warning',
        'RulesInFlightIgnored',
        `annotation ${rulesInFlightAnnotation} is not a value stork writes; it is removed and ignored`,
      );
      return { snapshot: await this.writeRulesInFlight(snapshot, null), discarded: false };
    }
    if (!record.cut) {
      // The pre rule may have run in part or in full (a file system left frozen): the post rule undoes
      // it first, best-effort, whatever storage snapshot there is.
      await this.undoInterruptedPreRule(snapshot, signal);
      if (existing) {
        await this.discard(existing.id, signal);
        this.options.events.record(
          snapshotReference(snapshot),
          'Normal',
          'SnapshotRetaken',
          `an earlier stork stopped between the pre-snapshot rule and the snapshot: the ` +
            `${this.options.driver.name} snapshot ${existing.id} it may have made without the rule's hold ` +
            'is discarded and the snapshot taken again',
        );
      }
      // Removed, not left for the next record to overwrite: hooks that keep none would find it again
      // and discard every new snapshot.
      return { snapshot: await this.writeRulesInFlight(snapshot, null), discarded: existing !== undefined };
    }
    try {
      await this.hooks.afterRestart?.(snapshot, [snapshot.spec.persistentVolumeClaimName], signal);
    } catch (error) {
      if (!(error instanceof SnapshotHookError) || signal.aborted) throw error;
      if (existing) await this.discard(existing.id, signal);
      await this.writeRulesInFlight(snapshot, null);
      throw new SnapshotFailed(error.message);
    }
    return { snapshot: await this.writeRulesInFlight(snapshot, null), discarded: false };
  }

  /**
   * The post rule after a pre rule an earlier stork stopped in (or after, before the cut): run once,
   * best-effort. Its failure (a `fsfreeze -u` on a file system never frozen) is reported and does not
   * fail the snapshot, which is taken again from the pre rule; a rule that cannot be read now, or stork
   * stopping, is retried with the record kept.
   */
  private async undoInterruptedPreRule(snapshot: VolumeSnapshot, signal: AbortSignal): Promise<void> {
    try {
      await this.hooks.afterRestart?.(
        snapshot,
        [snapshot.spec.persistentVolumeClaimName],
        signal,
        'interrupted',
      );
    } catch (error) {
      if (!(error instanceof SnapshotHookError) || signal.aborted) throw error;
      const message =
        'the post-snapshot rule, run to undo the pre-snapshot rule an earlier stork stopped in, failed ' +
        `(the snapshot is taken again regardless): ${error.message}`;
      this.options.logger.warn(
        { snapshot: snapshotKey(snapshot), err: error.message },
        'post rule after an interrupted pre rule failed',
      );
      this.options.events.record(snapshotReference(snapshot), 'Warning', 'PreRuleUndoFailed', message);
    }
  }

  /** Deletes a storage snapshot never handed out, with all the storage system keeps of it. */
  private discard(id: string, signal: AbortSignal): Promise<void> {
    const { snapshots } = this.options;
    return (snapshots.discardSnapshot ?? snapshots.deleteSnapshot).call(snapshots, id, signal);
  }

  /**
   * Writes (or, with null, removes) the record of rules in flight: a merge of the one annotation, whatever
   * else changed on the snapshot meanwhile.
   */
  private writeRulesInFlight(
    snapshot: VolumeSnapshot,
    record: RulesInFlight | null,
  ): Promise<VolumeSnapshot> {
    return this.options.api.patch<VolumeSnapshot>(
      resources.volumeSnapshots,
      { namespace: snapshot.metadata.namespace ?? '', name: snapshot.metadata.name ?? '' },
      {
        metadata: { annotations: { [rulesInFlightAnnotation]: record ? formatRulesInFlight(record) : null } },
      },
    );
  }

  private async createData(
    snapshot: VolumeSnapshot,
    driverSnapshot: DriverVolumeSnapshot,
    pvName: string,
  ): Promise<VolumeSnapshotData> {
    const { api, snapshots } = this.options;
    const name = snapshotDataName(snapshot.metadata.uid ?? '');
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    // The API server drops status on create (it is a subresource): it is written right after.
    const body: VolumeSnapshotData = {
      apiVersion: snapshotApiVersion,
      kind: 'VolumeSnapshotData',
      metadata: { name },
      spec: {
        ...snapshots.snapshotDataSource(driverSnapshot),
        volumeSnapshotRef: {
          kind: 'VolumeSnapshot',
          namespace: snapshot.metadata.namespace ?? '',
          name: snapshot.metadata.name ?? '',
          ...(snapshot.metadata.uid ? { uid: snapshot.metadata.uid } : {}),
        },
        persistentVolumeRef: { kind: 'PersistentVolume', name: pvName },
      },
      status: { creationTimestamp: now, conditions: [condition('Ready', 'Snapshot created successfully')] },
    };
    let data: VolumeSnapshotData;
    try {
      data = await api.create(resources.volumeSnapshotDatas, body);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      data = await api.get(resources.volumeSnapshotDatas, { name });
    }
    if (currentCondition(data.status?.conditions)?.type === 'Ready') return data;
    return api.patch<VolumeSnapshotData>(
      resources.volumeSnapshotDatas,
      { name, subresource: 'status' },
      { status: body.status },
    );
  }

  /** A deleted snapshot: waits while a restore needs it, then deletes the driver snapshot and the data. */
  private async finalize(snapshot: VolumeSnapshot, signal: AbortSignal): Promise<WorkResult> {
    const { api, snapshots, logger } = this.options;
    if (!(snapshot.metadata.finalizers ?? []).includes(snapshotFinalizer)) return undefined;
    const restoring = this.restoringClaims(snapshot);
    if (restoring.length > 0) {
      const message = `Snapshot is a restore source of claim(s) ${restoring.join(', ')} that are not bound yet; it is deleted once they are`;
      this.options.events.record(snapshotReference(snapshot), 'Normal', 'SnapshotInUse', message);
      logger.info({ snapshot: snapshotKey(snapshot), restoring }, 'deletion waits for restores');
      return { requeueAfterMs: 5000 };
    }
    await this.postRuleOfDeleted(snapshot, signal);
    const uid = snapshot.metadata.uid ?? '';
    const dataName = snapshotDataName(uid);
    const data = await getOrUndefined<VolumeSnapshotData>(() =>
      api.get(resources.volumeSnapshotDatas, { name: dataName }),
    );
    const ids = new Set<string>();
    // Only a data object made for this very snapshot names a driver snapshot that is its to delete.
    const ours = data?.spec.volumeSnapshotRef?.uid === uid;
    const fromData = data && ours ? snapshots.snapshotIdOf(data.spec) : undefined;
    if (fromData) ids.add(fromData);
    const byName = await snapshots.findSnapshot(driverSnapshotName(uid), signal);
    if (byName) ids.add(byName.id);
    for (const id of ids) await snapshots.deleteSnapshot(id, signal);
    if (data && ours) {
      await getOrUndefined(() => api.delete(resources.volumeSnapshotDatas, { name: dataName }));
    }
    await this.patch(snapshot, {
      metadata: { finalizers: (snapshot.metadata.finalizers ?? []).filter((f) => f !== snapshotFinalizer) },
    });
    logger.info(
      { snapshot: snapshotKey(snapshot), deleted: [...ids], data: data ? dataName : undefined },
      'snapshot deleted',
    );
    return undefined;
  }

  /**
   * A snapshot deleted while its post rule is due: an earlier stork cut it under the pre rule, or stopped
   * in the pre rule or before the cut, and did not run the post rule. The post rule still runs (it may be
   * what lets the application go). Its failure is reported by the rule's events and does not keep the
   * deletion waiting.
   */
  private async postRuleOfDeleted(snapshot: VolumeSnapshot, signal: AbortSignal): Promise<void> {
    const record = readRulesInFlight(snapshot);
    if (record === undefined || record === 'invalid') return;
    try {
      await this.hooks.afterRestart?.(
        snapshot,
        [snapshot.spec.persistentVolumeClaimName],
        signal,
        record.cut ? 'cut' : 'interrupted',
      );
    } catch (error) {
      if (!(error instanceof SnapshotHookError) || signal.aborted) throw error;
    }
  }

  /** Claims being restored from this snapshot that are not bound yet. */
  private restoringClaims(snapshot: VolumeSnapshot): string[] {
    return this.options.claims
      .list()
      .filter((pvc) => {
        const ref = restoreRef(pvc);
        return (
          ref !== undefined &&
          ref.name === snapshot.metadata.name &&
          ref.namespace === snapshot.metadata.namespace &&
          pvc.status?.phase !== 'Bound' &&
          !pvc.metadata?.deletionTimestamp
        );
      })
      .map((pvc) => `${pvc.metadata?.namespace ?? ''}/${pvc.metadata?.name ?? ''}`);
  }

  private setCondition(snapshot: VolumeSnapshot, next: SnapshotCondition): Promise<VolumeSnapshot> {
    return this.patchStatus(snapshot, { conditions: [next] });
  }

  /**
   * A merge patch of metadata or spec that applies only to the version we read (a conflict is retried
   * from fresh state). Status is a subresource: the API server ignores it here.
   */
  private patch(
    snapshot: VolumeSnapshot,
    patch: { metadata?: object; spec?: object },
  ): Promise<VolumeSnapshot> {
    return this.options.api.patch<VolumeSnapshot>(
      resources.volumeSnapshots,
      { namespace: snapshot.metadata.namespace ?? '', name: snapshot.metadata.name ?? '' },
      { ...patch, metadata: { ...patch.metadata, resourceVersion: snapshot.metadata.resourceVersion } },
    );
  }

  /** The same through the status subresource, the only way status is written (users cannot forge it). */
  private patchStatus(snapshot: VolumeSnapshot, status: object): Promise<VolumeSnapshot> {
    return this.options.api.patch<VolumeSnapshot>(
      resources.volumeSnapshots,
      {
        namespace: snapshot.metadata.namespace ?? '',
        name: snapshot.metadata.name ?? '',
        subresource: 'status',
      },
      { metadata: { resourceVersion: snapshot.metadata.resourceVersion }, status },
    );
  }
}

function snapshotKey(snapshot: VolumeSnapshot): string {
  return `${snapshot.metadata.namespace ?? ''}/${snapshot.metadata.name ?? ''}`;
}

export function snapshotReference(snapshot: VolumeSnapshot) {
  return objectReference({ ...snapshot, apiVersion: snapshotApiVersion, kind: 'VolumeSnapshot' });
}
