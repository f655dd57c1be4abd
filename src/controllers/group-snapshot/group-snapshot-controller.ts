// The leader-only controller of Stork's GroupVolumeSnapshot: one point in time for every claim its
// selector picks. The pre-exec rule runs once (its background commands held), every claim's snapshot is
// cut while it holds, the post-exec rule runs, and once every snapshot is done each claim gets a seed-API
// VolumeSnapshot and VolumeSnapshotData, restorable through stork-snapshot-sc like any other.
import { DriverError, DriverNotFoundError } from '../../drivers/driver.js';
import type { DriverVolumeSnapshot, GroupSnapshotCall } from '../../drivers/volume-snapshots.js';
import {
  groupVolumeSnapshotApiVersion,
  type GroupMemberSnapshotStatus,
  type GroupVolumeSnapshot,
} from '../../k8s/crds/group-volume-snapshot.js';
import {
  snapshotApiVersion,
  type VolumeSnapshot,
  type VolumeSnapshotData,
} from '../../k8s/crds/volume-snapshot.js';
import { getOrUndefined, isAlreadyExists } from '../../k8s/errors.js';
import { objectReference } from '../../k8s/events.js';
import { resources } from '../../k8s/paths.js';
import { errorText } from '../../lib/errors.js';
import { WorkQueue, type WorkResult } from '../../lib/work-queue.js';
import type { SnapshotDependencies, InformerView } from '../snapshot/dependencies.js';
import {
  noSnapshotHooks,
  SnapshotHookError,
  type AfterSnapshot,
  type SnapshotHooks,
} from '../snapshot/hooks.js';
import {
  condition,
  createdForLabels,
  currentCondition,
  restoreNamespacesAnnotation,
  snapshotDataName,
  snapshotFinalizer,
} from '../snapshot/names.js';
import { groupMembers, PrecheckFailed, type GroupMember } from './members.js';
import {
  cutDone,
  formatRulesInFlight,
  preRunning,
  type RulesInFlight,
  readRulesInFlight,
  rulesInFlightAnnotation,
} from '../snapshot/rules-in-flight.js';
import {
  cutNatively,
  nativeChoice,
  nativeDataSourceKey,
  nativeGroupSnapshotName,
  wantedGroupClass,
  type NativeGroupSnapshots,
} from './native.js';
import { CsiSnapshotFailed } from '../../drivers/csi/csi-snapshots.js';
import type { LabelSelector } from '../../wire/k8s-types.js';
import {
  claimOfMemberName,
  groupOwnerReference,
  groupSnapshotFailedMessage,
  groupSnapshotFinalizer,
  groupSnapshotUidLabel,
} from './names.js';

export interface GroupSnapshotControllerOptions extends SnapshotDependencies {
  readonly groups: InformerView<GroupVolumeSnapshot>;
  /** The pre- and post-exec rules, run for the group (SnapshotRules over GroupVolumeSnapshots). */
  readonly hooks?: SnapshotHooks;
  readonly resyncIntervalMs?: number;
  /** How often a group whose snapshots are not done yet is looked at (default 2 s). */
  readonly pollIntervalMs?: number;
  /** How long a group with no matching claim waits before it looks again (default 10 s). */
  readonly waitForClaimsMs?: number;
  /** The pause before a failed group is tried again, while it has retries left (default 5 s). */
  readonly retryDelayMs?: number;
  /**
   * Native group snapshots (CSI VolumeGroupSnapshots): used for a group whose claims' driver has a
   * VolumeGroupSnapshotClass; without it (or without a class) every claim is snapshotted on its own
   * while the pre rule holds.
   */
  readonly nativeGroupSnapshots?: NativeGroupSnapshots;
}

/** A native group snapshot planned for an attempt. */
interface NativePlan {
  readonly ref: { namespace: string; name: string };
  readonly className: string;
  readonly selector: LabelSelector;
}

/** A failure that counts against maxRetries and, once they are spent, ends the group Failed. */
class GroupFailed extends Error {}

type Status = NonNullable<GroupVolumeSnapshot['status']>;

export class GroupSnapshotController {
  private readonly queue: WorkQueue;
  private readonly hooks: SnapshotHooks;

  constructor(private readonly options: GroupSnapshotControllerOptions) {
    this.hooks = options.hooks ?? noSnapshotHooks;
    this.queue = new WorkQueue({
      process: (key, signal) => this.sync(key, signal),
      ...(options.queueObserver ? { observer: options.queueObserver } : {}),
      baseDelayMs: 500,
      maxDelayMs: 30_000,
      onError: (error, key, attempt) =>
        options.logger.warn(
          { groupSnapshot: key, attempt, err: errorText(error) },
          'group snapshot sync failed; retrying',
        ),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    const { groups, logger } = this.options;
    await this.hooks.recover(signal);
    const enqueue = (group: GroupVolumeSnapshot): void => this.queue.add(groupKey(group));
    const remove = groups.addHandlers({ onAdd: enqueue, onUpdate: (_, g) => enqueue(g) });
    const resync = (): void => {
      for (const group of groups.list()) enqueue(group);
    };
    resync();
    const timer = setInterval(resync, this.options.resyncIntervalMs ?? 60_000);
    logger.info('group snapshot controller running');
    try {
      await this.queue.run(signal);
    } finally {
      clearInterval(timer);
      remove();
    }
  }

  private async sync(key: string, signal: AbortSignal): Promise<WorkResult> {
    const [namespace = '', name = ''] = key.split('/');
    const cached = this.options.groups.get(name, namespace);
    if (!cached) return undefined;
    const protectedNow = (cached.metadata.finalizers ?? []).includes(groupSnapshotFinalizer);
    if (cached.status?.stage === 'Final' && protectedNow && !cached.metadata.deletionTimestamp)
      return undefined;
    let group = await getOrUndefined<GroupVolumeSnapshot>(() =>
      this.options.api.get(resources.groupVolumeSnapshots, { namespace, name }),
    );
    if (!group) return undefined;
    if (group.metadata.deletionTimestamp) {
      // A post rule left to run still runs (the application must not stay frozen), then the group goes.
      if (
        readRulesInFlight(group) !== undefined &&
        (group.metadata.finalizers ?? []).includes(groupSnapshotFinalizer)
      )
        group = await this.finishRulesOfDeleted(group, signal);
      return this.finalize(group, signal);
    }
    const finalizers = group.metadata.finalizers ?? [];
    if (!finalizers.includes(groupSnapshotFinalizer)) {
      group = await this.options.api.patch<GroupVolumeSnapshot>(
        resources.groupVolumeSnapshots,
        { namespace, name },
        {
          metadata: {
            finalizers: [...finalizers, groupSnapshotFinalizer],
            resourceVersion: group.metadata.resourceVersion,
          },
        },
      );
    }
    const stage = group.status?.stage ?? '';
    if (stage === 'Final') return undefined;
    try {
      // An earlier stork stopped in the group's rules (in the pre rule, or after the cut before the post
      // rule): the post rule runs now (a freeze must not outlive the stork that made it), then the group is
      // taken again.
      if (readRulesInFlight(group) !== undefined) group = await this.finishRules(group, signal);
      if (stage === 'PostSnapshot') return await this.complete(group, signal);
      return await this.take(group, signal);
    } catch (error) {
      if (error instanceof PrecheckFailed || error instanceof GroupFailed) {
        return this.failed(group, error.message, signal);
      }
      throw error;
    }
  }

  /** Prechecks, the pre rule, every claim's snapshot while it holds, the post rule. */
  private async take(group: GroupVolumeSnapshot, signal: AbortSignal): Promise<WorkResult> {
    const waited = retryWait(group, this.options.retryDelayMs ?? 5000);
    if (waited > 0) return { requeueAfterMs: waited };
    const { driver, volumes, claims } = this.options;
    const members = groupMembers(group, {
      claims: () => claims.list(),
      volume: (name) => volumes.get(name),
      volumeIdOf: (pv) => driver.volumeIdOf(pv),
      driverName: driver.name,
    });
    // Whatever an interrupted attempt cut goes first: its snapshots were not all taken in one hold.
    await this.discard(group, members, signal);
    if (members.length === 0) {
      if (group.status?.status !== 'Pending') {
        const message = 'no PersistentVolumeClaim in the namespace matches pvcSelector yet';
        await this.patchStatus(group, {
          stage: 'PreChecks',
          status: 'Pending',
          conditions: [condition('Pending', message, 'NoClaims')],
        });
        this.record(group, 'Normal', 'GroupSnapshotPending', message);
      }
      return { requeueAfterMs: this.options.waitForClaimsMs ?? 10_000 };
    }
    const plan = await this.nativePlan(group, members, signal);
    // The previous attempt's group snapshot is still being deleted: the new one takes its name.
    if (plan === 'wait') return { requeueAfterMs: this.options.pollIntervalMs ?? 2000 };
    // The storage system's own group snapshot (Portworx's), when it can cut every member in one call.
    const call = plan ? undefined : this.groupCallFor(members.map((m) => m.volumeId));
    const planned: GroupMemberSnapshotStatus[] = members.map((m) => ({
      VolumeSnapshotName: m.memberName,
      // A group cut in one call (natively, or by the storage system) has its snapshots named by whoever
      // cut it, once it is cut.
      TaskID: plan || call ? '' : m.driverSnapshotName,
      ParentVolumeID: m.volumeId,
      Conditions: [condition('Pending', 'Snapshot is being created')],
    }));
    // Recorded before anything is cut: whatever happens next, a deletion or a retry finds it all.
    group = await this.patchStatus(group, {
      stage: group.spec.preExecRule ? 'PreSnapshot' : 'Snapshot',
      status: 'InProgress',
      volumeSnapshots: planned,
      conditions: [condition('Pending', `Snapshotting ${members.length} claim(s)`)],
    });
    const claimNames = members.map((m) => m.claimName);
    // Recorded before the pre rule starts: a stork that stops from here on until the cut leaves its
    // successor the post rule to run, undoing what of the pre rule ran (a `fsfreeze -f`).
    if (this.recordsRules(group)) group = await this.writeRulesInFlight(group, preRunning);
    let after: AfterSnapshot;
    try {
      after = await this.hooks.beforeSnapshot(group, claimNames, signal);
    } catch (error) {
      if (error instanceof SnapshotHookError) throw new GroupFailed(error.message);
      throw error;
    }
    if (plan) return this.takeNative(group, members, plan, planned, after, signal);
    if (call) return this.takeByCall(group, members, call, planned, after, signal);
    let outcomes: PromiseSettledResult<DriverVolumeSnapshot>[];
    try {
      if (group.spec.preExecRule) group = await this.patchStatus(group, { stage: 'Snapshot' });
      outcomes = await this.cutAll(group, members, signal);
    } catch (error) {
      group = await this.endWithoutCut(group, after, signal);
      await this.discard(group, members, signal);
      throw error;
    }
    const failures = outcomes.flatMap((o, i) =>
      o.status === 'rejected' ? [{ member: members[i] as GroupMember, error: o.reason as unknown }] : [],
    );
    if (failures.length === 0) group = await this.markCut(group);
    try {
      if (failures.length === 0) {
        await after.afterSnapshot(true, signal);
        group = await this.clearRulesInFlight(group);
      } else group = await this.endWithoutCut(group, after, signal);
    } catch (error) {
      if (!(error instanceof SnapshotHookError)) throw error;
      if (failures.length === 0) throw new GroupFailed(error.message);
    }
    if (failures.length > 0) {
      const cause = failures
        .slice(0, 10)
        .map((f) => `claim ${f.member.claimName}: ${errorText(f.error)}`)
        .join('; ');
      const transient = failures.every(
        (f) => f.error instanceof DriverError && !(f.error instanceof DriverNotFoundError),
      );
      if (transient && !signal.aborted) {
        // The storage system could not answer now: nothing stays, and the whole group is taken again.
        await this.discard(group, members, signal);
        this.record(
          group,
          'Warning',
          'GroupSnapshotRetrying',
          `snapshots could not be taken yet (retrying): ${cause}`,
        );
        throw new Error(cause);
      }
      throw new GroupFailed(cause);
    }
    const taken = outcomes.map((o) => (o as PromiseFulfilledResult<DriverVolumeSnapshot>).value);
    group = await this.patchStatus(group, {
      stage: 'PostSnapshot',
      status: 'InProgress',
      volumeSnapshots: planned.map((entry, i) => ({
        ...entry,
        DataSource: this.options.snapshots.snapshotDataSource(taken[i] as DriverVolumeSnapshot),
      })),
    });
    this.record(
      group,
      'Normal',
      'GroupSnapshotCut',
      `${members.length} snapshot(s) cut: ${claimNames.slice(0, 20).join(', ')}`,
    );
    return this.complete(group, signal);
  }

  /**
   * The storage system's group snapshot while the pre rule holds: one call, every volume at one point in
   * time, all or nothing; then the post rule. The snapshots carry the group's labels, by which a restart
   * finds (and discards) what an interrupted call made before its answer was recorded.
   */
  private async takeByCall(
    group: GroupVolumeSnapshot,
    members: readonly GroupMember[],
    call: GroupSnapshotCall,
    planned: readonly GroupMemberSnapshotStatus[],
    after: AfterSnapshot,
    signal: AbortSignal,
  ): Promise<WorkResult> {
    let taken: DriverVolumeSnapshot[];
    try {
      if (group.spec.preExecRule) group = await this.patchStatus(group, { stage: 'Snapshot' });
      taken = await call.snapshotGroup(
        members.map((m) => m.volumeId),
        groupCallLabels(group),
        signal,
      );
    } catch (error) {
      group = await this.endWithoutCut(group, after, signal);
      await this.discard(group, members, signal);
      if (error instanceof DriverError && !(error instanceof DriverNotFoundError) && !signal.aborted) {
        // The storage system could not answer now: nothing stays, and the whole group is taken again.
        this.record(
          group,
          'Warning',
          'GroupSnapshotRetrying',
          `the group snapshot could not be taken yet (retrying): ${errorText(error)}`,
        );
        throw error;
      }
      if (signal.aborted) throw error;
      throw new GroupFailed(errorText(error));
    }
    group = await this.postRuleAfterCut(group, after, signal);
    group = await this.patchStatus(group, {
      stage: 'PostSnapshot',
      status: 'InProgress',
      volumeSnapshots: planned.map((entry, i) => {
        const snapshot = taken[i] as DriverVolumeSnapshot;
        return {
          ...entry,
          TaskID: snapshot.name,
          DataSource: this.options.snapshots.snapshotDataSource(snapshot),
        };
      }),
    });
    this.record(
      group,
      'Normal',
      'GroupSnapshotCut',
      `${members.length} snapshot(s) cut by the storage system in one group snapshot: ` +
        members
          .slice(0, 20)
          .map((m) => m.claimName)
          .join(', '),
    );
    return this.complete(group, signal);
  }

  /** The storage system's group snapshot for these volumes, if it has one (none for no volume). */
  private groupCallFor(volumeIds: readonly string[]): GroupSnapshotCall | undefined {
    const ids = [...new Set(volumeIds.filter((id) => id !== ''))];
    return ids.length === 0 ? undefined : this.options.snapshots.groupCall?.(ids);
  }

  /** Every claim's snapshot at once; each settles on its own. */
  private cutAll(
    group: GroupVolumeSnapshot,
    members: readonly GroupMember[],
    signal: AbortSignal,
  ): Promise<PromiseSettledResult<DriverVolumeSnapshot>[]> {
    const namespace = group.metadata.namespace ?? '';
    return Promise.allSettled(
      members.map((m) =>
        this.options.snapshots.createSnapshot(
          m.volumeId,
          m.driverSnapshotName,
          {
            [createdForLabels.namespace]: namespace,
            [createdForLabels.name]: m.memberName,
            [createdForLabels.uid]: group.metadata.uid ?? '',
          },
          signal,
        ),
      ),
    );
  }

  /** Waits until every snapshot is done, then makes each claim's VolumeSnapshot and data; Successful. */
  private async complete(group: GroupVolumeSnapshot, signal: AbortSignal): Promise<WorkResult> {
    const { snapshots } = this.options;
    const entries = group.status?.volumeSnapshots ?? [];
    if (entries.length === 0) throw new GroupFailed('the group snapshot lists no snapshots');
    if (cutNatively(group)) {
      const native = await this.nativeMembers(group, signal);
      if (!native) return { requeueAfterMs: this.options.pollIntervalMs ?? 2000 };
      return this.finish(group, native.found, native.source);
    }
    const found: DriverVolumeSnapshot[] = [];
    for (const entry of entries) {
      const snapshot = await snapshots.findSnapshot(entry.TaskID ?? '', signal);
      if (!snapshot)
        throw new GroupFailed(
          `the snapshot ${entry.TaskID ?? ''} of volume ${entry.ParentVolumeID ?? ''} is gone`,
        );
      if (snapshot.failure !== undefined) throw new GroupFailed(snapshot.failure);
      found.push(snapshot);
    }
    if (found.some((s) => !s.ready)) return { requeueAfterMs: this.options.pollIntervalMs ?? 2000 };
    return this.finish(group, found);
  }

  /** Every snapshot is done: each claim's VolumeSnapshot and data, then Successful. */
  private async finish(
    group: GroupVolumeSnapshot,
    found: readonly DriverVolumeSnapshot[],
    extraSource?: Record<string, unknown>,
  ): Promise<WorkResult> {
    const { snapshots } = this.options;
    const entries = group.status?.volumeSnapshots ?? [];
    const ready = condition('Ready', 'Snapshot created successfully and it is ready', 'SnapshotReady');
    const done: GroupMemberSnapshotStatus[] = [];
    for (const [i, entry] of entries.entries()) {
      const snapshot = found[i] as DriverVolumeSnapshot;
      await this.makeMember(group, entry.VolumeSnapshotName ?? '', snapshot);
      done.push({
        ...entry,
        ...(extraSource ? { TaskID: snapshot.name } : {}),
        DataSource: { ...snapshots.snapshotDataSource(snapshot), ...extraSource },
        Conditions: [ready],
      });
    }
    await this.patchStatus(group, {
      stage: 'Final',
      status: 'Successful',
      volumeSnapshots: done,
      conditions: [condition('Ready', `${done.length} snapshot(s) ready`, 'GroupSnapshotReady')],
    });
    this.record(group, 'Normal', 'GroupSnapshotSuccessful', `${done.length} snapshot(s) ready`);
    this.options.logger.info(
      { groupSnapshot: groupKey(group), members: done.length },
      'group snapshot successful',
    );
    return undefined;
  }

  /**
   * The member VolumeSnapshot (owned by the group, protected by the snapshot finalizer so that its deletion
   * deletes the storage snapshot), its VolumeSnapshotData named after its UID, then the two bound and Ready.
   */
  private async makeMember(
    group: GroupVolumeSnapshot,
    memberName: string,
    driverSnapshot: DriverVolumeSnapshot,
  ) {
    const { api, snapshots } = this.options;
    const namespace = group.metadata.namespace ?? '';
    const groupUid = group.metadata.uid ?? '';
    const claimName = claimOfMemberName(group.metadata.name ?? '', memberName, groupUid);
    if (!claimName)
      throw new GroupFailed(`VolumeSnapshot name ${memberName.slice(0, 253)} is not this group's`);
    const restoreNamespaces = (group.spec.restoreNamespaces ?? []).filter((n) => n !== '');
    const body: VolumeSnapshot = {
      apiVersion: snapshotApiVersion,
      kind: 'VolumeSnapshot',
      metadata: {
        name: memberName,
        namespace,
        labels: { ...group.metadata.labels, [groupSnapshotUidLabel]: groupUid },
        ...(restoreNamespaces.length > 0
          ? { annotations: { [restoreNamespacesAnnotation]: restoreNamespaces.join(',') } }
          : {}),
        finalizers: [snapshotFinalizer],
        ownerReferences: [groupOwnerReference(group)],
      },
      spec: { persistentVolumeClaimName: claimName },
    };
    let member: VolumeSnapshot;
    try {
      member = await api.create(resources.volumeSnapshots, body, namespace);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      member = await api.get(resources.volumeSnapshots, { namespace, name: memberName });
    }
    if (!(member.metadata.ownerReferences ?? []).some((ref) => ref.uid === groupUid))
      throw new GroupFailed(`VolumeSnapshot ${namespace}/${memberName} exists and is not this group's`);
    const memberUid = member.metadata.uid ?? '';
    const dataName = snapshotDataName(memberUid);
    const pvName = this.options.claims.get(claimName, namespace)?.spec?.volumeName ?? '';
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const dataBody: VolumeSnapshotData = {
      apiVersion: snapshotApiVersion,
      kind: 'VolumeSnapshotData',
      metadata: { name: dataName },
      spec: {
        ...snapshots.snapshotDataSource(driverSnapshot),
        volumeSnapshotRef: { kind: 'VolumeSnapshot', namespace, name: memberName, uid: memberUid },
        ...(pvName ? { persistentVolumeRef: { kind: 'PersistentVolume', name: pvName } } : {}),
      },
    };
    let data: VolumeSnapshotData;
    try {
      data = await api.create(resources.volumeSnapshotDatas, dataBody);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      data = await api.get(resources.volumeSnapshotDatas, { name: dataName });
    }
    if (currentCondition(data.status?.conditions)?.type !== 'Ready') {
      await api.patch(
        resources.volumeSnapshotDatas,
        { name: dataName, subresource: 'status' },
        {
          status: {
            creationTimestamp: now,
            conditions: [condition('Ready', 'Snapshot created successfully')],
          },
        },
      );
    }
    if (member.spec.snapshotDataName !== dataName) {
      member = await api.patch<VolumeSnapshot>(
        resources.volumeSnapshots,
        { namespace, name: memberName },
        {
          metadata: { resourceVersion: member.metadata.resourceVersion },
          spec: { snapshotDataName: dataName },
        },
      );
    }
    if (currentCondition(member.status?.conditions)?.type !== 'Ready') {
      await api.patch(
        resources.volumeSnapshots,
        { namespace, name: memberName, subresource: 'status' },
        {
          status: {
            creationTimestamp: data.metadata.creationTimestamp ?? now,
            conditions: [
              condition('Ready', 'Snapshot created successfully and it is ready', 'SnapshotReady'),
            ],
          },
        },
      );
    }
  }

  /**
   * Records, on the group, that its snapshots were cut while the pre rule held and its post rule is due
   * (the annotation of rules-in-flight.ts, as on single snapshots): a stork that takes over before the
   * post rule ran runs it. Nothing is recorded for a group without a post rule.
   */
  private async markCut(group: GroupVolumeSnapshot): Promise<GroupVolumeSnapshot> {
    if (!this.recordsRules(group)) return group;
    return this.writeRulesInFlight(group, cutDone);
  }

  /**
   * Whether the group's rules are recorded while they run: only with a post rule, the one thing a stork
   * taking over has to run (every attempt discards what an earlier one cut anyway), and rules that can run
   * it alone.
   */
  private recordsRules(group: GroupVolumeSnapshot): boolean {
    return Boolean(group.spec.postExecRule) && this.hooks.afterRestart !== undefined;
  }

  private writeRulesInFlight(
    group: GroupVolumeSnapshot,
    record: RulesInFlight,
  ): Promise<GroupVolumeSnapshot> {
    return this.options.api.patch<GroupVolumeSnapshot>(
      resources.groupVolumeSnapshots,
      { namespace: group.metadata.namespace ?? '', name: group.metadata.name ?? '' },
      { metadata: { annotations: { [rulesInFlightAnnotation]: formatRulesInFlight(record) } } },
    );
  }

  /**
   * The hold released after an attempt that cut nothing (no post rule, as Stork); its record goes then, as
   * the attempt is over. A stork that is stopping leaves the record: it may have stopped in the pre rule's
   * middle, and its successor undoes it.
   */
  private async endWithoutCut(
    group: GroupVolumeSnapshot,
    after: AfterSnapshot,
    signal: AbortSignal,
  ): Promise<GroupVolumeSnapshot> {
    await after.afterSnapshot(false, signal);
    return signal.aborted ? group : this.clearRulesInFlight(group);
  }

  /** The post rule after every snapshot was cut, recorded as due while it runs (see markCut). */
  private async postRuleAfterCut(
    group: GroupVolumeSnapshot,
    after: AfterSnapshot,
    signal: AbortSignal,
  ): Promise<GroupVolumeSnapshot> {
    const marked = await this.markCut(group);
    await runPostRule(after, signal);
    return this.clearRulesInFlight(marked);
  }

  private async clearRulesInFlight(group: GroupVolumeSnapshot, always = false): Promise<GroupVolumeSnapshot> {
    if (!always && group.metadata.annotations?.[rulesInFlightAnnotation] === undefined) return group;
    return this.options.api.patch<GroupVolumeSnapshot>(
      resources.groupVolumeSnapshots,
      { namespace: group.metadata.namespace ?? '', name: group.metadata.name ?? '' },
      { metadata: { annotations: { [rulesInFlightAnnotation]: null } } },
    );
  }

  /**
   * The post rule of a group an earlier stork cut (recorded `cut`), run once; the record then goes. A
   * record stork did not write is ignored (with a Warning). What was cut is not adopted: the status did
   * not list it yet, so the attempt is taken again from the pre rule, the thawed application first. An
   * earlier stork that stopped in the pre rule or before the cut (`pre` `running`) left the pre rule run
   * in part or in full: the post rule undoes it, best-effort, and the group is taken again.
   */
  private async finishRules(group: GroupVolumeSnapshot, signal: AbortSignal): Promise<GroupVolumeSnapshot> {
    const record = readRulesInFlight(group);
    if (record === 'invalid') {
      this.record(
        group,
        'Warning',
        'RulesInFlightIgnored',
        `annotation ${rulesInFlightAnnotation} is not one stork wrote; ignored and removed`,
      );
    } else if (record?.cut && this.hooks.afterRestart) {
      const claims = this.currentMembers(group).map((m) => m.claimName);
      try {
        await this.hooks.afterRestart(group, claims, signal);
      } catch (error) {
        if (!(error instanceof SnapshotHookError)) throw error;
        await this.clearRulesInFlight(group);
        throw new GroupFailed(error.message);
      }
      this.record(
        group,
        'Normal',
        'PostRuleAfterRestart',
        'ran the post rule of a group snapshot an earlier stork cut and did not finish; taking the group again',
      );
    } else if (record && this.hooks.afterRestart) {
      await this.undoInterruptedPreRule(group, signal);
    }
    return this.clearRulesInFlight(group);
  }

  /**
   * The post rule after a pre rule an earlier stork stopped in (or after, before the cut), run once. Its
   * failure (a `fsfreeze -u` on a file system never frozen) is reported and does not fail the group; a rule
   * that cannot be read now, or stork stopping, is retried with the record kept.
   */
  private async undoInterruptedPreRule(
    group: GroupVolumeSnapshot,
    signal: AbortSignal,
    deleted = false,
  ): Promise<void> {
    const claims = this.currentMembers(group).map((m) => m.claimName);
    try {
      await this.hooks.afterRestart?.(group, claims, signal, 'interrupted');
    } catch (error) {
      if (!(error instanceof SnapshotHookError) || signal.aborted) throw error;
      this.options.logger.warn(
        { groupSnapshot: groupKey(group), err: error.message },
        'post rule after an interrupted pre rule failed',
      );
      this.record(
        group,
        'Warning',
        'PreRuleUndoFailed',
        'the post rule, run to undo the pre rule an earlier stork stopped in, failed ' +
          `(${deleted ? 'the deleted group goes' : 'the group is taken again'} regardless): ${error.message}`,
      );
      return;
    }
    this.record(
      group,
      'Normal',
      'PostRuleAfterRestart',
      'ran the post rule to undo the pre rule an earlier stork stopped in before the cut; ' +
        (deleted ? 'the deleted group goes' : 'taking the group again'),
    );
  }

  /**
   * The post rule a deleted group's record leaves due (after the cut, or to undo an interrupted pre rule),
   * run once, best-effort: the group goes whatever it does (its failure is the rule's Warning `RuleFailed`),
   * as nothing of it is handed out any more. A rule that cannot be read now is retried with the record kept.
   */
  private async finishRulesOfDeleted(
    group: GroupVolumeSnapshot,
    signal: AbortSignal,
  ): Promise<GroupVolumeSnapshot> {
    const record = readRulesInFlight(group);
    if (record !== undefined && record !== 'invalid' && this.hooks.afterRestart) {
      if (!record.cut) await this.undoInterruptedPreRule(group, signal, true);
      else {
        const claims = this.currentMembers(group).map((m) => m.claimName);
        try {
          await this.hooks.afterRestart(group, claims, signal);
        } catch (error) {
          if (!(error instanceof SnapshotHookError) || signal.aborted) throw error;
          this.options.logger.warn(
            { groupSnapshot: groupKey(group), err: error.message },
            'post rule of a deleted group failed',
          );
        }
      }
    }
    return this.clearRulesInFlight(group);
  }

  /** A failure: nothing of this attempt stays; the group is tried again while it has retries, else Failed. */
  private async failed(group: GroupVolumeSnapshot, cause: string, signal: AbortSignal): Promise<WorkResult> {
    // Removed whatever this copy of the group says: the attempt recorded its rules on a later one.
    group = await this.clearRulesInFlight(group, true);
    const members = this.currentMembers(group);
    await this.discard(group, members, signal);
    const retries = group.status?.numRetries ?? 0;
    const maxRetries = Math.max(0, group.spec.maxRetries ?? 0);
    const message = groupSnapshotFailedMessage(cause);
    this.options.logger.warn(
      { groupSnapshot: groupKey(group), err: cause, retries, maxRetries },
      'group snapshot failed',
    );
    if (retries < maxRetries) {
      await this.patchStatus(group, {
        stage: 'PreChecks',
        status: 'Pending',
        numRetries: retries + 1,
        volumeSnapshots: null,
        conditions: [
          condition(
            'Pending',
            `retry ${retries + 1} of ${maxRetries} after: ${message}`,
            'GroupSnapshotRetrying',
          ),
        ],
      });
      this.record(
        group,
        'Warning',
        'GroupSnapshotFailed',
        `${message} (retry ${retries + 1} of ${maxRetries})`,
      );
      return { requeueAfterMs: this.options.retryDelayMs ?? 5000 };
    }
    await this.patchStatus(group, {
      stage: 'Final',
      status: 'Failed',
      volumeSnapshots: null,
      conditions: [condition('Error', message, 'GroupSnapshotFailed')],
    });
    this.record(group, 'Warning', 'GroupSnapshotFailed', message);
    return undefined;
  }

  /** The members as far as they can be told now (none when the claims no longer pass the prechecks). */
  private currentMembers(group: GroupVolumeSnapshot): GroupMember[] {
    try {
      return groupMembers(group, {
        claims: () => this.options.claims.list(),
        volume: (name) => this.options.volumes.get(name),
        volumeIdOf: (pv) => this.options.driver.volumeIdOf(pv),
        driverName: this.options.driver.name,
      });
    } catch {
      return [];
    }
  }

  /**
   * Deletes what an attempt made: the member VolumeSnapshots (their finalizer deletes their storage
   * snapshot and data) and every storage snapshot named for this group (recorded in status, or derived
   * from the claims now), found by name: only what stork made under this group's names is ever deleted.
   */
  private async discard(
    group: GroupVolumeSnapshot,
    members: readonly GroupMember[],
    signal: AbortSignal,
  ): Promise<void> {
    const { api, snapshots } = this.options;
    const namespace = group.metadata.namespace ?? '';
    for (const member of this.memberSnapshots(group)) {
      await getOrUndefined(() =>
        api.delete(resources.volumeSnapshots, { namespace, name: member.metadata.name ?? '' }),
      );
    }
    const native = this.options.nativeGroupSnapshots;
    // A native group's snapshots go with its VolumeGroupSnapshot (snapshot-controller's, not stork's names).
    if (native) await native.discard(this.nativeRef(group), signal);
    const names = new Set([
      ...(group.status?.volumeSnapshots ?? [])
        .filter((e) => e.DataSource?.[nativeDataSourceKey] === undefined)
        .map((e) => e.TaskID ?? ''),
      ...members.map((m) => m.driverSnapshotName),
    ]);
    const discardSnapshot = (snapshots.discardSnapshot ?? snapshots.deleteSnapshot).bind(snapshots);
    for (const name of names) {
      if (!name) continue;
      const found = await snapshots.findSnapshot(name, signal);
      // Never handed out: nothing of it may stay, whatever a CSI class's deletion policy says.
      if (found) await discardSnapshot(found.id, signal);
    }
    // A group call names its snapshots itself, and an interrupted one's answer was never recorded: they
    // are found by this group's labels (its UID and namespace).
    const call = this.groupCallFor([
      ...members.map((m) => m.volumeId),
      ...(group.status?.volumeSnapshots ?? []).map((e) => e.ParentVolumeID ?? ''),
    ]);
    if (call) {
      const labels = groupCallLabels(group);
      const made = await call.findLabelled(
        {
          [createdForLabels.namespace]: labels[createdForLabels.namespace] ?? '',
          [createdForLabels.uid]: labels[createdForLabels.uid] ?? '',
        },
        signal,
      );
      for (const snapshot of made) await discardSnapshot(snapshot.id, signal);
    }
  }

  /** The member VolumeSnapshots of this very group (by label, and owner UID). */
  private memberSnapshots(group: GroupVolumeSnapshot): VolumeSnapshot[] {
    const uid = group.metadata.uid ?? '';
    return this.options.volumeSnapshots
      .list()
      .filter(
        (s) =>
          s.metadata.namespace === group.metadata.namespace &&
          s.metadata.labels?.[groupSnapshotUidLabel] === uid &&
          (s.metadata.ownerReferences ?? []).some((ref) => ref.uid === uid),
      );
  }

  /**
   * A deleted group: its member VolumeSnapshots are deleted (each goes once no restore needs it, with its
   * storage snapshot and data); storage snapshots no member holds yet are deleted at once.
   */
  private async finalize(group: GroupVolumeSnapshot, signal: AbortSignal): Promise<WorkResult> {
    if (!(group.metadata.finalizers ?? []).includes(groupSnapshotFinalizer)) return undefined;
    const { api, snapshots } = this.options;
    const namespace = group.metadata.namespace ?? '';
    const members = this.memberSnapshots(group);
    for (const member of members) {
      await getOrUndefined(() =>
        api.delete(resources.volumeSnapshots, { namespace, name: member.metadata.name ?? '' }),
      );
    }
    const held = new Set(members.map((m) => m.metadata.name));
    for (const entry of group.status?.volumeSnapshots ?? []) {
      if (held.has(entry.VolumeSnapshotName) || !entry.TaskID) continue;
      if (entry.DataSource?.[nativeDataSourceKey] !== undefined) continue;
      const found = await snapshots.findSnapshot(entry.TaskID, signal);
      if (found) await snapshots.deleteSnapshot(found.id, signal);
    }
    // The VolumeGroupSnapshot goes as its class's policy says (snapshot-controller deletes its members).
    await this.options.nativeGroupSnapshots?.delete(this.nativeRef(group), signal);
    await api.patch(
      resources.groupVolumeSnapshots,
      { namespace, name: group.metadata.name ?? '' },
      {
        metadata: {
          resourceVersion: group.metadata.resourceVersion,
          finalizers: (group.metadata.finalizers ?? []).filter((f) => f !== groupSnapshotFinalizer),
        },
      },
    );
    this.options.logger.info(
      { groupSnapshot: groupKey(group), members: members.length },
      'group snapshot deleted',
    );
    return undefined;
  }

  private nativeRef(group: GroupVolumeSnapshot): { namespace: string; name: string } {
    return {
      namespace: group.metadata.namespace ?? '',
      name: nativeGroupSnapshotName(group.metadata.uid ?? ''),
    };
  }

  /**
   * A native group snapshot for these members, when the claims' CSI driver has a VolumeGroupSnapshotClass
   * (the one the group names, else the driver's default) and the selector can be handed over as it is;
   * undefined for the held fallback. A class the user named must be usable, or the group fails.
   */
  private async nativePlan(
    group: GroupVolumeSnapshot,
    members: readonly GroupMember[],
    signal: AbortSignal,
  ): Promise<NativePlan | 'wait' | undefined> {
    const native = this.options.nativeGroupSnapshots;
    const wanted = wantedGroupClass(group);
    const csiSnapshots = this.options.snapshots.ownsSnapshotId?.('csi:namespace/name') === true;
    if (!native || !csiSnapshots) {
      if (wanted !== undefined)
        throw new PrecheckFailed(
          `a VolumeGroupSnapshotClass is named (${wanted.slice(0, 80)}) but stork does not take CSI snapshots`,
        );
      return undefined;
    }
    const choice = nativeChoice(group, members, {
      claims: this.options.claims.list(),
      volume: (name) => this.options.volumes.get(name),
    });
    if (!choice.native) {
      if (wanted !== undefined)
        throw new PrecheckFailed(
          `VolumeGroupSnapshotClass ${wanted.slice(0, 80)} cannot be used: ${choice.reason}`,
        );
      return undefined;
    }
    let className: string | undefined;
    try {
      className = await native.classFor(choice.driver, wanted, signal);
    } catch (error) {
      if (error instanceof CsiSnapshotFailed) throw new PrecheckFailed(error.message);
      throw error;
    }
    if (!className) return undefined;
    const ref = this.nativeRef(group);
    if (await native.exists(ref, signal)) return 'wait';
    return { ref, className, selector: choice.selector };
  }

  /** The native cut while the pre rule holds: one VolumeGroupSnapshot; then the post rule. */
  private async takeNative(
    group: GroupVolumeSnapshot,
    members: readonly GroupMember[],
    plan: NativePlan,
    planned: readonly GroupMemberSnapshotStatus[],
    after: AfterSnapshot,
    signal: AbortSignal,
  ): Promise<WorkResult> {
    const native = this.options.nativeGroupSnapshots as NativeGroupSnapshots;
    try {
      if (group.spec.preExecRule) group = await this.patchStatus(group, { stage: 'Snapshot' });
      await native.cut(
        plan.ref,
        {
          selector: plan.selector,
          className: plan.className,
          labels: { [groupSnapshotUidLabel]: group.metadata.uid ?? '' },
        },
        signal,
      );
    } catch (error) {
      group = await this.endWithoutCut(group, after, signal);
      await this.discard(group, members, signal);
      if (error instanceof CsiSnapshotFailed) throw new GroupFailed(error.message);
      // The API server could not answer now: nothing stays, and the whole group is taken again.
      throw error;
    }
    group = await this.postRuleAfterCut(group, after, signal);
    group = await this.patchStatus(group, {
      stage: 'PostSnapshot',
      status: 'InProgress',
      volumeSnapshots: planned.map((entry) => ({
        ...entry,
        DataSource: { [nativeDataSourceKey]: plan.ref },
      })),
    });
    this.record(
      group,
      'Normal',
      'GroupSnapshotCut',
      `${members.length} snapshot(s) cut in VolumeGroupSnapshot ${plan.ref.name} (class ${plan.className})`,
    );
    return this.complete(group, signal);
  }

  /**
   * A native group's members once the group snapshot and each member snapshot are ready (undefined while
   * not yet), in the order of the group's entries, and the DataSource key that names the group snapshot.
   */
  private async nativeMembers(
    group: GroupVolumeSnapshot,
    signal: AbortSignal,
  ): Promise<{ found: DriverVolumeSnapshot[]; source: Record<string, unknown> } | undefined> {
    const native = this.options.nativeGroupSnapshots;
    const ref = this.nativeRef(group);
    const what = `the VolumeGroupSnapshot ${ref.namespace}/${ref.name}`;
    if (!native) throw new GroupFailed(`${what} cannot be read: stork does not take CSI snapshots`);
    const state = await native.state(ref, signal);
    if (state.phase === 'gone') throw new GroupFailed(`${what} is gone`);
    if (state.phase === 'failed') throw new GroupFailed(state.cause);
    if (state.phase === 'pending') return undefined;
    const found: DriverVolumeSnapshot[] = [];
    for (const entry of group.status?.volumeSnapshots ?? []) {
      const claim = claimOfMemberName(
        group.metadata.name ?? '',
        entry.VolumeSnapshotName ?? '',
        group.metadata.uid ?? '',
      );
      const snapshot = claim ? state.members.get(claim) : undefined;
      // snapshot-controller makes the members once the group is cut; not there yet, or not ready: later.
      if (!snapshot) return undefined;
      if (snapshot.failure !== undefined) throw new GroupFailed(snapshot.failure);
      if (!snapshot.ready) return undefined;
      found.push(snapshot);
    }
    return { found, source: { [nativeDataSourceKey]: ref } };
  }

  /**
   * Status is this controller's alone (the status subresource, one worker per group, leader only), so it is
   * written without a version precondition: the rules' record of background commands changes the group's
   * metadata meanwhile, which must not make the status write conflict while the pre rule holds.
   */
  private patchStatus(
    group: GroupVolumeSnapshot,
    status: Partial<{ [K in keyof Status]: Status[K] | null }>,
  ): Promise<GroupVolumeSnapshot> {
    return this.options.api.patch<GroupVolumeSnapshot>(
      resources.groupVolumeSnapshots,
      { namespace: group.metadata.namespace ?? '', name: group.metadata.name ?? '', subresource: 'status' },
      { status },
    );
  }

  private record(
    group: GroupVolumeSnapshot,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): void {
    this.options.events.record(groupReference(group), type, reason, message);
  }
}

/** The post rule after a cut that succeeded; its failure fails the group (counted against retries). */
async function runPostRule(after: AfterSnapshot, signal: AbortSignal): Promise<void> {
  try {
    await after.afterSnapshot(true, signal);
  } catch (error) {
    if (!(error instanceof SnapshotHookError)) throw error;
    throw new GroupFailed(error.message);
  }
}

/** The labels a group call puts on every snapshot it makes: the group's namespace, name and UID. */
function groupCallLabels(group: GroupVolumeSnapshot): Record<string, string> {
  return {
    [createdForLabels.namespace]: group.metadata.namespace ?? '',
    [createdForLabels.name]: group.metadata.name ?? '',
    [createdForLabels.uid]: group.metadata.uid ?? '',
  };
}

/** How much longer a group that failed and is to be retried waits (0: retry now). */
function retryWait(group: GroupVolumeSnapshot, delayMs: number, now = Date.now()): number {
  const last = group.status?.conditions?.at(-1);
  if (last?.reason !== 'GroupSnapshotRetrying') return 0;
  const since = Date.parse(last.lastTransitionTime ?? '');
  return Number.isFinite(since) ? Math.max(0, since + delayMs - now) : 0;
}

function groupKey(group: GroupVolumeSnapshot): string {
  return `${group.metadata.namespace ?? ''}/${group.metadata.name ?? ''}`;
}

export function groupReference(group: GroupVolumeSnapshot) {
  return objectReference({
    ...group,
    apiVersion: groupVolumeSnapshotApiVersion,
    kind: 'GroupVolumeSnapshot',
  });
}
