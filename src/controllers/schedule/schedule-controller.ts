// The leader-only controller of VolumeSnapshotSchedules: takes each due run as a seed-API VolumeSnapshot
// (so the snapshot controller, its driver and its rules do the work), follows the snapshots it took into
// the schedule's status, and deletes the ones beyond the policy's `retain`.
import type { ObjectReference, OwnerReference, PersistentVolumeClaim } from '../../wire/k8s-types.js';
import type { Rule } from '../../k8s/crds/rule.js';
import type { SchedulePolicy } from '../../k8s/crds/schedule-policy.js';
import { schedulePolicyApiVersion } from '../../k8s/crds/schedule-policy.js';
import {
  schedulePolicyTypes,
  volumeSnapshotScheduleApiVersion,
  type ScheduleCondition,
  type ScheduledVolumeSnapshotStatus,
  type SchedulePolicyType,
  type VolumeSnapshotSchedule,
} from '../../k8s/crds/volume-snapshot-schedule.js';
import { snapshotApiVersion, type VolumeSnapshot } from '../../k8s/crds/volume-snapshot.js';
import type { KubeClient } from '../../k8s/client.js';
import { getOrUndefined, isAlreadyExists, isConflict, isNotFound } from '../../k8s/errors.js';
import { objectReference } from '../../k8s/events.js';
import { resources } from '../../k8s/paths.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { ruleAnnotations } from '../rules/rule-spec.js';
import { currentCondition } from '../snapshot/names.js';
import { restoreRef } from '../snapshot/restore-source.js';
import {
  dueTimeAnnotation,
  policyTypeAnnotation,
  scheduledSnapshotName,
  scheduleNameAnnotation,
  scheduleUidAnnotation,
  snapshotNameLabel,
} from './names.js';
import { dueRun, nextDue } from './next-run.js';
import { parsePolicy, PolicyError, type PolicyRun } from '../../k8s/crds/schedule-policy-validation.js';
import { retentionPlan } from './retention.js';
import type { TimeZone } from './time-zone.js';
import { errorText } from '../../lib/errors.js';

/** What the controller reports for metrics; every method is cheap and must not throw. */
export interface ScheduleMetrics {
  /** A scheduled snapshot's outcome: created, ready, failed, or a due run skipped. */
  snapshot(outcome: 'created' | 'ready' | 'failed' | 'skipped', count?: number): void;
  /** When the schedule's last snapshot became Ready (Unix seconds). */
  lastSuccess(namespace: string, name: string, seconds: number): void;
  /** Stork's `stork_volume_snapshotschedule_status`: 1 suspended, 0 active. */
  suspended(namespace: string, name: string, policy: string, suspended: boolean): void;
  /** The schedule is gone: drop its series. */
  forget(namespace: string, name: string): void;
}

export interface ScheduleEvents {
  record(object: ObjectReference, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export interface ScheduleControllerOptions {
  readonly client: KubeClient;
  readonly clock: Clock;
  /** The zone of policies' times of day. */
  readonly zone: TimeZone;
  readonly events: ScheduleEvents;
  readonly logger: Logger;
  readonly metrics?: ScheduleMetrics;
  /** Everything is looked at again at least this often (default 10 s). */
  readonly syncIntervalMs?: number;
  /** How often while a scheduled snapshot is still being taken (default 2 s). */
  readonly busyIntervalMs?: number;
}

/** Annotations of a schedule not handed on to its snapshots. */
const privateAnnotations = ['kubectl.kubernetes.io/last-applied-configuration'];

type Items = Partial<Record<SchedulePolicyType, ScheduledVolumeSnapshotStatus[]>>;

/** What one look at the cluster gives every schedule. */
interface World {
  readonly now: number;
  readonly policies: ReadonlyMap<string, SchedulePolicy>;
  readonly namespacedPolicies: ReadonlyMap<string, SchedulePolicy>;
  readonly snapshots: readonly VolumeSnapshot[];
  /** Claims being restored, read only if something is about to be deleted. */
  restoring(): Promise<(snapshot: { namespace: string; name: string }) => boolean>;
}

/** A policy as a schedule sees it: found and valid, or why not. */
type Resolved =
  | { readonly ok: true; readonly policy: SchedulePolicy; readonly runs: readonly PolicyRun[] }
  | { readonly ok: false; readonly reason: string; readonly message: string };

export class ScheduleController {
  private readonly syncIntervalMs: number;
  private readonly busyIntervalMs: number;
  private readonly known = new Set<string>();
  /** Events recorded lately, so a state that lasts is said again every 10 minutes, not every pass. */
  private readonly said = new Map<string, number>();

  constructor(private readonly options: ScheduleControllerOptions) {
    this.syncIntervalMs = options.syncIntervalMs ?? 10_000;
    this.busyIntervalMs = options.busyIntervalMs ?? 2_000;
  }

  /** Runs schedules until `signal` aborts (leadership lost, or stork stopping). */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, logger } = this.options;
    logger.info({ zone: this.options.zone.name }, 'snapshot schedule controller running');
    while (!signal.aborted) {
      let wait = this.syncIntervalMs;
      try {
        wait = await this.syncAll(signal);
      } catch (error) {
        if (aborted(signal)) break;
        logger.warn({ err: errorText(error) }, 'snapshot schedules: sync failed; retrying');
      }
      try {
        await clock.sleep(wait, signal);
      } catch {
        break;
      }
    }
    logger.info('snapshot schedule controller stopped');
  }

  /** One pass over every schedule; resolves to how long to wait before the next. */
  async syncAll(signal: AbortSignal): Promise<number> {
    const { client } = this.options;
    const opts = { signal };
    const [schedules, policies, namespaced, snapshots] = await Promise.all([
      client.list<VolumeSnapshotSchedule>(resources.volumeSnapshotSchedules, undefined, opts),
      client.list<SchedulePolicy>(resources.schedulePolicies, undefined, opts),
      client.list<SchedulePolicy>(resources.namespacedSchedulePolicies, undefined, opts),
      client.list<VolumeSnapshot>(resources.volumeSnapshots, undefined, opts),
    ]);
    let claims: Promise<PersistentVolumeClaim[]> | undefined;
    const world: World = {
      now: this.options.clock.wallNow(),
      policies: new Map(policies.items.map((p) => [p.metadata.name ?? '', p])),
      namespacedPolicies: new Map(namespaced.items.map((p) => [key(p), p])),
      snapshots: snapshots.items,
      restoring: async () => {
        claims ??= client
          .list<PersistentVolumeClaim>(resources.persistentVolumeClaims, undefined, opts)
          .then((l) => l.items);
        const pending = (await claims).filter(
          (pvc) => pvc.status?.phase !== 'Bound' && !pvc.metadata?.deletionTimestamp,
        );
        return (snapshot) =>
          pending.some((pvc) => {
            const ref = restoreRef(pvc);
            return ref?.name === snapshot.name && ref.namespace === snapshot.namespace;
          });
      },
    };
    this.reportInvalidPolicies([...policies.items, ...namespaced.items]);
    let wait = this.syncIntervalMs;
    const seen = new Set<string>();
    for (const schedule of schedules.items) {
      if (signal.aborted) break;
      seen.add(key(schedule));
      try {
        const next = await this.sync(schedule, world, signal);
        wait = Math.min(wait, next);
      } catch (error) {
        if (aborted(signal)) throw error;
        // A conflict means the schedule changed under us: the next pass sees the new version.
        if (!isConflict(error)) {
          this.options.logger.warn(
            { schedule: key(schedule), err: errorText(error) },
            'snapshot schedule sync failed; retrying',
          );
        }
        wait = Math.min(wait, this.busyIntervalMs);
      }
    }
    for (const gone of [...this.known].filter((k) => !seen.has(k))) {
      const [namespace = '', name = ''] = gone.split('/');
      this.options.metrics?.forget(namespace, name);
      this.known.delete(gone);
    }
    for (const k of seen) this.known.add(k);
    return Math.max(wait, 100);
  }

  /** Records an event unless the same one was recorded on the same object in the last 10 minutes. */
  private say(object: ObjectReference, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const id = [object.kind, object.namespace, object.name, object.uid, reason, message].join('\u0000');
    const now = this.options.clock.now();
    const last = this.said.get(id);
    if (last !== undefined && now - last < 600_000) return;
    this.said.set(id, now);
    if (this.said.size > 10_000) this.said.clear();
    this.options.events.record(object, type, reason, message);
  }

  private reportInvalidPolicies(policies: readonly SchedulePolicy[]): void {
    for (const policy of policies) {
      try {
        parsePolicy(policy.policy);
      } catch (error) {
        if (!(error instanceof PolicyError)) throw error;
        this.options.events.record(
          policyReference(policy),
          'Warning',
          'InvalidSchedulePolicy',
          error.message,
        );
      }
    }
  }

  /** The policy a schedule names: a NamespacedSchedulePolicy in its namespace wins, as in Stork. */
  private resolve(schedule: VolumeSnapshotSchedule, world: World): Resolved {
    const name = schedule.spec?.schedulePolicyName ?? '';
    const namespace = schedule.metadata.namespace ?? '';
    if (name === '') {
      return { ok: false, reason: 'SchedulePolicyNotFound', message: 'spec.schedulePolicyName is not set' };
    }
    const policy = world.namespacedPolicies.get(`${namespace}/${name}`) ?? world.policies.get(name);
    if (!policy) {
      return {
        ok: false,
        reason: 'SchedulePolicyNotFound',
        message: `neither a NamespacedSchedulePolicy ${namespace}/${name} nor a SchedulePolicy ${name} exists`,
      };
    }
    try {
      return { ok: true, policy, runs: parsePolicy(policy.policy) };
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      const kind = policy.metadata.namespace ? 'NamespacedSchedulePolicy' : 'SchedulePolicy';
      return {
        ok: false,
        reason: 'InvalidSchedulePolicy',
        message: `${kind} ${name} is invalid, no snapshots are taken: ${error.message}`,
      };
    }
  }

  /** Brings one schedule up to date; resolves to how long until it next needs a look. */
  private async sync(schedule: VolumeSnapshotSchedule, world: World, signal: AbortSignal): Promise<number> {
    if (schedule.metadata.deletionTimestamp) return this.syncIntervalMs;
    const { events, metrics } = this.options;
    const namespace = schedule.metadata.namespace ?? '';
    const name = schedule.metadata.name ?? '';
    const uid = schedule.metadata.uid ?? '';
    const ref = scheduleReference(schedule);
    const suspended = schedule.spec?.suspend === true;
    metrics?.suspended(namespace, name, schedule.spec?.schedulePolicyName ?? '', suspended);

    const mine = new Map(
      world.snapshots
        .filter(
          (s) =>
            s.metadata.namespace === namespace &&
            s.metadata.annotations?.[scheduleNameAnnotation] === name &&
            s.metadata.annotations[scheduleUidAnnotation] === uid,
        )
        .map((s) => [s.metadata.name ?? '', s]),
    );
    const items = this.currentItems(schedule, mine, world.now);
    const lastDue = this.lastDue(schedule, mine);
    const resolved = this.resolve(schedule, world);
    let condition: Omit<ScheduleCondition, 'lastTransitionTime'>;
    let wait = this.syncIntervalMs;
    let lastSnapshotName = schedule.status?.lastSnapshotName;
    const busy = schedulePolicyTypes.some((t) =>
      (items[t] ?? []).some((i) => i.status === 'Pending' && !i.deleted),
    );
    const claimName = schedule.spec?.template?.spec?.persistentVolumeClaimName ?? '';

    if (!resolved.ok) {
      condition = { type: 'Scheduling', status: 'False', reason: resolved.reason, message: resolved.message };
      this.say(ref, 'Warning', resolved.reason, resolved.message);
    } else if (suspended) {
      condition = {
        type: 'Scheduling',
        status: 'False',
        reason: 'Suspended',
        message: 'spec.suspend is true',
      };
    } else if (claimName === '') {
      const message = 'spec.template.spec.persistentVolumeClaimName is not set: no snapshots are taken';
      condition = { type: 'Scheduling', status: 'False', reason: 'InvalidTemplate', message };
      this.say(ref, 'Warning', 'InvalidTemplate', message);
    } else {
      condition = {
        type: 'Scheduling',
        status: 'True',
        reason: 'Active',
        message: `following ${resolved.policy.metadata.namespace ? 'NamespacedSchedulePolicy' : 'SchedulePolicy'} ${resolved.policy.metadata.name ?? ''}`,
      };
      const anchor = Date.parse(schedule.metadata.creationTimestamp ?? '') || world.now;
      let taken = busy;
      for (const run of resolved.runs) {
        const times = { anchor, lastDue: lastDue[run.type], now: world.now };
        const due = dueRun(run.rule, this.options.zone, times);
        if (due && !taken) {
          const made = await this.take(schedule, run, due.due, signal);
          if (made) {
            taken = true;
            (items[run.type] ??= []).push({
              name: made,
              creationTimestamp: isoSeconds(world.now),
              status: 'Pending',
            });
            lastDue[run.type] = due.due;
            lastSnapshotName = made;
            if (due.missed > 0) {
              metrics?.snapshot('skipped', due.missed);
              events.record(
                ref,
                'Warning',
                'ScheduledSnapshotsMissed',
                `${due.missed} ${run.type} run(s) before ${isoSeconds(due.due)} were not taken (stork not running, ` +
                  `the schedule suspended, or an earlier snapshot still in progress); the latest is taken once, as ${made}`,
              );
            }
          }
        }
        const after = lastDue[run.type];
        const next = nextDue(run.rule, this.options.zone, { ...times, lastDue: after });
        wait = Math.min(wait, Math.max(0, next - world.now));
      }
      if (taken) wait = Math.min(wait, this.busyIntervalMs);
    }

    await this.reconcileOwners(schedule, mine, signal);
    // Retention only with a policy in hand: nothing is deleted on a guess.
    if (resolved.ok) await this.retain(schedule, items, resolved.runs, world, signal);

    const lastSuccess = latestReady(items);
    if (lastSuccess !== undefined) metrics?.lastSuccess(namespace, name, Date.parse(lastSuccess) / 1000);
    const previous = schedule.status?.conditions?.[0];
    const changed = previous?.status !== condition.status || previous.reason !== condition.reason;
    const status: NonNullable<VolumeSnapshotSchedule['status']> = {
      ...schedule.status,
      items,
      lastDue: Object.fromEntries(Object.entries(lastDue).map(([type, ms]) => [type, isoSeconds(ms)])),
      ...(lastSnapshotName ? { lastSnapshotName } : {}),
      ...(lastSuccess ? { lastSuccessTime: lastSuccess } : {}),
      conditions: [
        {
          ...condition,
          lastTransitionTime:
            !changed && previous.lastTransitionTime ? previous.lastTransitionTime : isoSeconds(world.now),
        },
      ],
    };
    // Compared regardless of key order: the API server need not keep ours, and an unchanged status is
    // not written (every schedule is looked at every few seconds).
    if (canonical(status) !== canonical(schedule.status)) {
      await this.options.client.replace(
        resources.volumeSnapshotSchedules,
        { namespace, name, subresource: 'status' },
        { ...schedule, apiVersion: volumeSnapshotScheduleApiVersion, kind: 'VolumeSnapshotSchedule', status },
        { signal },
      );
    }
    return busy ? Math.min(wait, this.busyIntervalMs) : wait;
  }

  /**
   * The schedule's record of its snapshots, brought up to date: snapshots it made that the record lacks
   * (a run taken just before a failover, before its status was written) are adopted, and each entry
   * gets the state of its snapshot now.
   */
  private currentItems(
    schedule: VolumeSnapshotSchedule,
    mine: ReadonlyMap<string, VolumeSnapshot>,
    now: number,
  ) {
    const { events, metrics } = this.options;
    const namespace = schedule.metadata.namespace ?? '';
    const name = schedule.metadata.name ?? '';
    const items: Items = {};
    const recorded = new Set<string>();
    for (const type of schedulePolicyTypes) {
      const list = schedule.status?.items?.[type];
      if (!list) continue;
      items[type] = list.map((i) => ({ ...i }));
      for (const i of list) recorded.add(i.name);
    }
    for (const [snapshotName, snapshot] of mine) {
      if (recorded.has(snapshotName)) continue;
      const type = snapshot.metadata.annotations?.[policyTypeAnnotation] as SchedulePolicyType | undefined;
      if (!type || !schedulePolicyTypes.includes(type)) continue;
      (items[type] ??= []).push({
        name: snapshotName,
        creationTimestamp: snapshot.metadata.creationTimestamp ?? isoSeconds(now),
        status: 'Pending',
      });
    }
    for (const type of schedulePolicyTypes) {
      for (const item of items[type] ?? []) {
        if (item.deleted || item.status === 'Ready' || item.status === 'Error') {
          if (!item.deleted && !mine.has(item.name)) {
            // Someone else deleted it; keep the record, say so.
            item.deleted = true;
          }
          continue;
        }
        const snapshot = mine.get(item.name);
        if (!snapshot) {
          item.status = 'Error';
          item.deleted = true;
          item.message = 'the VolumeSnapshot was deleted before it was ready';
          item.finishTimestamp = isoSeconds(now);
          metrics?.snapshot('failed');
          continue;
        }
        const state = currentCondition(snapshot.status?.conditions);
        if (state?.type === 'Ready' && snapshot.spec.snapshotDataName) {
          item.status = 'Ready';
          item.finishTimestamp = state.lastTransitionTime ?? isoSeconds(now);
          metrics?.snapshot('ready');
          events.record(
            scheduleReference(schedule),
            'Normal',
            'Ready',
            `Scheduled snapshot (${item.name}) completed successfully`,
          );
        } else if (state?.type === 'Error') {
          item.status = 'Error';
          item.message = state.message ?? '';
          item.finishTimestamp = state.lastTransitionTime ?? isoSeconds(now);
          metrics?.snapshot('failed');
          events.record(
            scheduleReference(schedule),
            'Warning',
            'ScheduledSnapshotFailed',
            `Scheduled snapshot (${item.name}) failed: ${item.message}`,
          );
          this.options.logger.warn(
            { schedule: `${namespace}/${name}`, snapshot: item.name, err: item.message },
            'scheduled snapshot failed',
          );
        }
      }
      items[type]?.sort((a, b) => (a.creationTimestamp ?? '').localeCompare(b.creationTimestamp ?? ''));
    }
    return items;
  }

  /** The slot of the last run taken, by type: from the status, or from the snapshots themselves. */
  private lastDue(schedule: VolumeSnapshotSchedule, mine: ReadonlyMap<string, VolumeSnapshot>) {
    const last: Partial<Record<SchedulePolicyType, number>> = {};
    const note = (type: SchedulePolicyType, iso: string | undefined): void => {
      const ms = Date.parse(iso ?? '');
      if (!Number.isNaN(ms) && ms > (last[type] ?? -Infinity)) last[type] = ms;
    };
    for (const type of schedulePolicyTypes) note(type, schedule.status?.lastDue?.[type]);
    for (const snapshot of mine.values()) {
      const type = snapshot.metadata.annotations?.[policyTypeAnnotation] as SchedulePolicyType | undefined;
      if (type && schedulePolicyTypes.includes(type))
        note(type, snapshot.metadata.annotations?.[dueTimeAnnotation]);
    }
    return last;
  }

  /**
   * Takes one run: the VolumeSnapshot named for the schedule and the due time. Resolves to its name, or
   * undefined when the run cannot be taken now (said in an event; it stays due).
   */
  private async take(
    schedule: VolumeSnapshotSchedule,
    run: PolicyRun,
    due: number,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const { client, events, metrics, logger } = this.options;
    const namespace = schedule.metadata.namespace ?? '';
    const scheduleName = schedule.metadata.name ?? '';
    const uid = schedule.metadata.uid ?? '';
    const spec = schedule.spec ?? {};
    const ref = scheduleReference(schedule);
    // The rules must exist, as Stork checks, or the snapshot would only fail later.
    for (const [field, ruleName] of [
      ['preExecRule', spec.preExecRule],
      ['postExecRule', spec.postExecRule],
    ] as const) {
      if (!ruleName) continue;
      const rule = await getOrUndefined(() =>
        client.get<Rule>(resources.rules, { namespace, name: ruleName }, { signal }),
      );
      if (!rule) {
        const message = `The ${run.type} run due at ${isoSeconds(due)} waits: ${field} Rule ${namespace}/${ruleName} not found`;
        this.say(ref, 'Warning', 'RuleNotFound', message);
        return undefined;
      }
    }
    const name = scheduledSnapshotName(scheduleName, uid, run.type, due);
    const annotations: Record<string, string> = Object.fromEntries(
      Object.entries(schedule.metadata.annotations ?? {}).filter(([k]) => !privateAnnotations.includes(k)),
    );
    annotations[scheduleNameAnnotation] = scheduleName;
    annotations[policyTypeAnnotation] = run.type;
    annotations[scheduleUidAnnotation] = uid;
    annotations[dueTimeAnnotation] = isoSeconds(due);
    if (spec.preExecRule) annotations[ruleAnnotations.pre[0] ?? ''] = spec.preExecRule;
    if (spec.postExecRule) annotations[ruleAnnotations.post[0] ?? ''] = spec.postExecRule;
    // The policy's options go to the snapshot as annotations (Stork's), after ours as Stork orders them.
    Object.assign(annotations, run.options);
    // Stork's default is Delete; anything but Delete (or unset) keeps the snapshots.
    const reclaim = spec.reclaimPolicy;
    const ownerReferences = !reclaim || reclaim === 'Delete' ? reclaimOwners(schedule) : [];
    const body: VolumeSnapshot = {
      apiVersion: snapshotApiVersion,
      kind: 'VolumeSnapshot',
      metadata: {
        name,
        namespace,
        annotations,
        labels: { ...schedule.metadata.labels, [snapshotNameLabel]: name },
        ...(ownerReferences.length > 0 ? { ownerReferences } : {}),
      },
      spec: { persistentVolumeClaimName: spec.template?.spec?.persistentVolumeClaimName ?? '' },
    };
    try {
      await client.create(resources.volumeSnapshots, body, namespace, { signal });
    } catch (error) {
      if (!isAlreadyExists(error)) {
        metrics?.snapshot('failed');
        events.record(
          ref,
          'Warning',
          'ScheduledSnapshotFailed',
          `Error triggering snapshot for schedule (${run.type}): ${errorText(error)}`,
        );
        throw error;
      }
      // Another leader (or an earlier attempt) took this run: it is ours only if it carries our UID.
      const existing = await client.get<VolumeSnapshot>(
        resources.volumeSnapshots,
        { namespace, name },
        { signal },
      );
      if (existing.metadata.annotations?.[scheduleUidAnnotation] !== uid) {
        metrics?.snapshot('skipped');
        events.record(
          ref,
          'Warning',
          'ScheduledSnapshotSkipped',
          `The ${run.type} run due at ${isoSeconds(due)} is skipped: a VolumeSnapshot ${name} exists that this schedule did not make`,
        );
        return undefined;
      }
      logger.info(
        { schedule: `${namespace}/${scheduleName}`, snapshot: name },
        'scheduled snapshot already taken',
      );
      return name;
    }
    metrics?.snapshot('created');
    events.record(
      ref,
      'Normal',
      'ScheduledSnapshotCreated',
      `Scheduled snapshot (${name}) started for the ${run.type} run due at ${isoSeconds(due)}`,
    );
    logger.info(
      { schedule: `${namespace}/${scheduleName}`, snapshot: name, due: isoSeconds(due) },
      'scheduled snapshot started',
    );
    return name;
  }

  /**
   * Keeps the snapshots' owner references in line with `reclaimPolicy` when it changes: owned (deleted
   * with the schedule) under Delete, not owned under Retain.
   */
  private async reconcileOwners(
    schedule: VolumeSnapshotSchedule,
    mine: ReadonlyMap<string, VolumeSnapshot>,
    signal: AbortSignal,
  ): Promise<void> {
    const uid = schedule.metadata.uid ?? '';
    const reclaim = schedule.spec?.reclaimPolicy;
    const owned = !reclaim || reclaim === 'Delete';
    for (const snapshot of mine.values()) {
      if (snapshot.metadata.deletionTimestamp) continue;
      const current = snapshot.metadata.ownerReferences ?? [];
      const others = current.filter((o) => o.uid !== uid);
      if (owned === (others.length !== current.length)) continue;
      const ownerReferences = owned ? [...others, ...reclaimOwners(schedule)] : others;
      await this.options.client.patch(
        resources.volumeSnapshots,
        { namespace: snapshot.metadata.namespace ?? '', name: snapshot.metadata.name ?? '' },
        { metadata: { ownerReferences, resourceVersion: snapshot.metadata.resourceVersion } },
        'merge',
        { signal },
      );
    }
  }

  /** Deletes the snapshots beyond each policy type's `retain` (only this schedule's, none a restore reads). */
  private async retain(
    schedule: VolumeSnapshotSchedule,
    items: Items,
    runs: readonly PolicyRun[],
    world: World,
    signal: AbortSignal,
  ): Promise<void> {
    const { client, logger } = this.options;
    const namespace = schedule.metadata.namespace ?? '';
    let restoring: ((s: { namespace: string; name: string }) => boolean) | undefined;
    for (const type of schedulePolicyTypes) {
      const list = items[type];
      if (!list || list.length === 0) continue;
      // A type the policy no longer has keeps one, as Stork.
      const retain = runs.find((r) => r.type === type)?.retain ?? 1;
      // Ask about restores only when something could go.
      const candidates = retentionPlan(list, retain, world.now, () => false);
      if (candidates.expire.length + candidates.cleanUp.length === 0 && candidates.forget.length === 0)
        continue;
      restoring ??= await world.restoring();
      const inRestore = restoring;
      const plan = retentionPlan(list, retain, world.now, (name) => inRestore({ namespace, name }));
      const drop = new Set(plan.forget);
      for (const name of [...plan.expire, ...plan.cleanUp]) {
        try {
          await client.delete(resources.volumeSnapshots, { namespace, name }, { signal });
        } catch (error) {
          if (!isNotFound(error)) {
            logger.warn(
              { snapshot: `${namespace}/${name}`, err: errorText(error) },
              'could not delete a scheduled snapshot; retrying',
            );
            continue;
          }
        }
        if (plan.expire.includes(name)) drop.add(name);
        else {
          const item = list.find((i) => i.name === name);
          if (item) item.deleted = true;
        }
        logger.info({ snapshot: `${namespace}/${name}`, retain }, 'scheduled snapshot deleted by retention');
      }
      for (const name of plan.inUse) {
        this.say(
          scheduleReference(schedule),
          'Normal',
          'SnapshotInUse',
          `Snapshot ${name} is beyond retain (${retain}) but is the source of a restore in progress; it is deleted once the restore is done`,
        );
      }
      items[type] = list.filter((i) => !drop.has(i.name));
    }
  }
}

/** Owner references that let the garbage collector delete the snapshots with the schedule (Delete). */
function reclaimOwners(schedule: VolumeSnapshotSchedule): OwnerReference[] {
  return [
    {
      apiVersion: volumeSnapshotScheduleApiVersion,
      kind: 'VolumeSnapshotSchedule',
      name: schedule.metadata.name ?? '',
      uid: schedule.metadata.uid ?? '',
    },
  ];
}

function latestReady(items: Items): string | undefined {
  let latest: string | undefined;
  for (const type of schedulePolicyTypes) {
    for (const item of items[type] ?? []) {
      if (item.status === 'Ready' && item.finishTimestamp && (!latest || item.finishTimestamp > latest)) {
        latest = item.finishTimestamp;
      }
    }
  }
  return latest;
}

function key(object: { metadata: { namespace?: string; name?: string } }): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`;
}

export function scheduleReference(schedule: VolumeSnapshotSchedule): ObjectReference {
  return objectReference({
    ...schedule,
    apiVersion: volumeSnapshotScheduleApiVersion,
    kind: 'VolumeSnapshotSchedule',
  });
}

function policyReference(policy: SchedulePolicy): ObjectReference {
  const kind = policy.metadata.namespace ? 'NamespacedSchedulePolicy' : 'SchedulePolicy';
  return objectReference({ ...policy, apiVersion: schedulePolicyApiVersion, kind });
}

/** RFC 3339 to the second, as Kubernetes writes times. */
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** JSON with object keys sorted. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}

/** Read through a call, so a check after an await is not narrowed away by one before it. */
function aborted(signal: AbortSignal): boolean {
  return signal.aborted;
}
