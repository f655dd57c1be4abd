// The leader-only controller of Stork's GroupVolumeSnapshot: one point in time for every claim its
// selector picks. The pre-exec rule runs once (its background commands held), every claim's snapshot is
// cut while it holds, the post-exec rule runs, and once every snapshot is done each claim gets a seed-API
// VolumeSnapshot and VolumeSnapshotData, restorable through stork-snapshot-sc like any other.
import { DriverError, DriverNotFoundError } from '../../drivers/driver.js';
import type { DriverVolumeSnapshot } from '../../drivers/volume-snapshots.js';
import type { GroupMemberSnapshotStatus, GroupVolumeSnapshot } from '../../k8s/crds/group-volume-snapshot.js';
import { getOrUndefined } from '../../k8s/errors.js';
import { resources } from '../../k8s/paths.js';
import { errorText } from '../../lib/errors.js';
import { WorkQueue, type WorkResult } from '../../lib/work-queue.js';
import { SnapshotHookError, type AfterSnapshot } from '../snapshot/hooks.js';
import { condition, createdForLabels } from '../snapshot/names.js';
import { preRunning, readRulesInFlight } from '../snapshot/rules-in-flight.js';
import { CallAttempt } from './call-attempt.js';
import { GroupCleanup } from './cleanup.js';
import { GroupCompletion } from './completion.js';
import { groupContext, type GroupContext, type GroupSnapshotControllerOptions } from './context.js';
import { GroupFailed, retryWait } from './failure.js';
import { groupCallFor } from './group-call.js';
import { groupKey } from './group-refs.js';
import { currentMembers, groupMembers, PrecheckFailed, type GroupMember } from './members.js';
import { groupSnapshotFailedMessage, groupSnapshotFinalizer } from './names.js';
import { NativeAttempt } from './native-attempt.js';
import { GroupRules } from './rules.js';

export class GroupSnapshotController {
  private readonly queue: WorkQueue;
  private readonly ctx: GroupContext;
  private readonly rules: GroupRules;
  private readonly cleanup: GroupCleanup;
  private readonly native: NativeAttempt;
  private readonly byCall: CallAttempt;
  private readonly completion: GroupCompletion;

  constructor(private readonly options: GroupSnapshotControllerOptions) {
    this.ctx = groupContext(options);
    this.rules = new GroupRules(this.ctx);
    this.cleanup = new GroupCleanup(this.ctx);
    this.native = new NativeAttempt(this.ctx, this.rules, this.cleanup);
    this.byCall = new CallAttempt(this.ctx, this.rules, this.cleanup);
    this.completion = new GroupCompletion(this.ctx, this.native);
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
    await this.ctx.hooks.recover(signal);
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
        group = await this.rules.finishRulesOfDeleted(group, signal);
      return this.cleanup.finalize(group, signal);
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
      if (readRulesInFlight(group) !== undefined) group = await this.rules.finishRules(group, signal);
      if (stage === 'PostSnapshot') return await this.completion.complete(group, signal);
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
    const members = groupMembers(group, this.ctx.lookup);
    // Whatever an interrupted attempt cut goes first: its snapshots were not all taken in one hold.
    await this.cleanup.discard(group, members, signal);
    if (members.length === 0) {
      if (group.status?.status !== 'Pending') {
        const message = 'no PersistentVolumeClaim in the namespace matches pvcSelector yet';
        await this.ctx.patchStatus(group, {
          stage: 'PreChecks',
          status: 'Pending',
          conditions: [condition('Pending', message, 'NoClaims')],
        });
        this.ctx.record(group, 'Normal', 'GroupSnapshotPending', message);
      }
      return { requeueAfterMs: this.options.waitForClaimsMs ?? 10_000 };
    }
    const plan = await this.native.nativePlan(group, members, signal);
    // The previous attempt's group snapshot is still being deleted: the new one takes its name.
    if (plan === 'wait') return { requeueAfterMs: this.options.pollIntervalMs ?? 2000 };
    // The storage system's own group snapshot (Portworx's), when it can cut every member in one call.
    const call = plan
      ? undefined
      : groupCallFor(
          this.options.snapshots,
          members.map((m) => m.volumeId),
        );
    const planned: GroupMemberSnapshotStatus[] = members.map((m) => ({
      VolumeSnapshotName: m.memberName,
      // A group cut in one call (natively, or by the storage system) has its snapshots named by whoever
      // cut it, once it is cut.
      TaskID: plan || call ? '' : m.driverSnapshotName,
      ParentVolumeID: m.volumeId,
      Conditions: [condition('Pending', 'Snapshot is being created')],
    }));
    // Recorded before anything is cut: whatever happens next, a deletion or a retry finds it all.
    group = await this.ctx.patchStatus(group, {
      stage: group.spec.preExecRule ? 'PreSnapshot' : 'Snapshot',
      status: 'InProgress',
      volumeSnapshots: planned,
      conditions: [condition('Pending', `Snapshotting ${members.length} claim(s)`)],
    });
    const claimNames = members.map((m) => m.claimName);
    // Recorded before the pre rule starts: a stork that stops from here on until the cut leaves its
    // successor the post rule to run, undoing what of the pre rule ran (a `fsfreeze -f`).
    if (this.rules.recordsRules(group)) group = await this.rules.writeRulesInFlight(group, preRunning);
    let after: AfterSnapshot;
    try {
      after = await this.ctx.hooks.beforeSnapshot(group, claimNames, signal);
    } catch (error) {
      if (error instanceof SnapshotHookError) throw new GroupFailed(error.message);
      throw error;
    }
    if (plan)
      return this.completion.complete(
        await this.native.takeNative(group, members, plan, planned, after, signal),
        signal,
      );
    if (call)
      return this.completion.complete(
        await this.byCall.takeByCall(group, members, call, planned, after, signal),
        signal,
      );
    let outcomes: PromiseSettledResult<DriverVolumeSnapshot>[];
    try {
      if (group.spec.preExecRule) group = await this.ctx.patchStatus(group, { stage: 'Snapshot' });
      outcomes = await this.cutAll(group, members, signal);
    } catch (error) {
      group = await this.rules.endWithoutCut(group, after, signal);
      await this.cleanup.discard(group, members, signal);
      throw error;
    }
    const failures = outcomes.flatMap((o, i) =>
      o.status === 'rejected' ? [{ member: members[i] as GroupMember, error: o.reason as unknown }] : [],
    );
    if (failures.length === 0) group = await this.rules.markCut(group);
    try {
      if (failures.length === 0) {
        await after.afterSnapshot(true, signal);
        group = await this.rules.clearRulesInFlight(group);
      } else group = await this.rules.endWithoutCut(group, after, signal);
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
        await this.cleanup.discard(group, members, signal);
        this.ctx.record(
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
    group = await this.ctx.patchStatus(group, {
      stage: 'PostSnapshot',
      status: 'InProgress',
      volumeSnapshots: planned.map((entry, i) => ({
        ...entry,
        DataSource: this.options.snapshots.snapshotDataSource(taken[i] as DriverVolumeSnapshot),
      })),
    });
    this.ctx.record(
      group,
      'Normal',
      'GroupSnapshotCut',
      `${members.length} snapshot(s) cut: ${claimNames.slice(0, 20).join(', ')}`,
    );
    return this.completion.complete(group, signal);
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

  /** A failure: nothing of this attempt stays; the group is tried again while it has retries, else Failed. */
  private async failed(group: GroupVolumeSnapshot, cause: string, signal: AbortSignal): Promise<WorkResult> {
    // Removed whatever this copy of the group says: the attempt recorded its rules on a later one.
    group = await this.rules.clearRulesInFlight(group, true);
    const members = currentMembers(group, this.ctx.lookup);
    await this.cleanup.discard(group, members, signal);
    const retries = group.status?.numRetries ?? 0;
    const maxRetries = Math.max(0, group.spec.maxRetries ?? 0);
    const message = groupSnapshotFailedMessage(cause);
    this.options.logger.warn(
      { groupSnapshot: groupKey(group), err: cause, retries, maxRetries },
      'group snapshot failed',
    );
    if (retries < maxRetries) {
      await this.ctx.patchStatus(group, {
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
      this.ctx.record(
        group,
        'Warning',
        'GroupSnapshotFailed',
        `${message} (retry ${retries + 1} of ${maxRetries})`,
      );
      return { requeueAfterMs: this.options.retryDelayMs ?? 5000 };
    }
    await this.ctx.patchStatus(group, {
      stage: 'Final',
      status: 'Failed',
      volumeSnapshots: null,
      conditions: [condition('Error', message, 'GroupSnapshotFailed')],
    });
    this.ctx.record(group, 'Warning', 'GroupSnapshotFailed', message);
    return undefined;
  }
}
