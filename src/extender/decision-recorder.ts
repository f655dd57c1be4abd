import type { SchedulingDecision } from '../wire/scheduling-documents.js';
import type { KubeApi } from '../k8s/api.js';
import {
  schedulingDecisionApiVersion,
  type SchedulingDecisionObject,
} from '../k8s/crds/scheduling-decision.js';
import { isAlreadyExists, isNotFound, isResourceNotServed, KubeApiError } from '../k8s/errors.js';
import { retryOnConflict } from '../k8s/retry.js';
import { resources } from '../k8s/paths.js';
import type { Logger } from '../lib/log.js';
import { decisionDocument } from './decision-document.js';
import type { FilterDecision } from './filter.js';
import type { PrioritizeDecision } from './prioritize.js';
import type { DecisionRecord } from './server.js';
import { errorText } from '../lib/errors.js';

/** Pods whose last written verdict is remembered (the oldest are forgotten first). */
const maxRemembered = 10_000;
/** While SchedulingDecisions are not served, writes pause this long at first, doubling up to the cap. */
const unservedFirstPauseMs = 1000;
const unservedMaxPauseMs = 30_000;

export interface DecisionRecorderOptions {
  readonly api: Pick<KubeApi, 'create' | 'get' | 'replace'>;
  readonly replica: string;
  readonly logger: Logger;
  /** How long a pod's decision waits for the rest of its scheduling cycle before it is written (ms). */
  readonly settleMs?: number;
  /** At most this many pods are waiting; beyond it the oldest are dropped (with a log line). */
  readonly maxPending?: number;
  /** Writes in flight at once. */
  readonly concurrency?: number;
  readonly now?: () => number;
}

interface Pending {
  namespace: string;
  name: string;
  /** The pod's UID, from stork's pod cache (the extender writes only for pods it knows by UID). */
  uid: string;
  filter?: FilterDecision;
  prioritize?: PrioritizeDecision;
  at: number;
}

/**
 * Writes each pod's last scheduling decision as a SchedulingDecision beside the pod (same namespace and
 * name, owned by the pod) so that `storkctl explain` can show it whichever replica decided and after
 * restarts. Not onto the pod itself: a pod write reaches every pod watcher in the cluster and made
 * every later update of the pod carry the record (measured in docs/benchmarks.md). Never on the request
 * path: a decision is remembered, joined with the other half of its scheduling cycle (filter, then
 * prioritize), and written once the cycle has settled; a pod retried many times gets one write per
 * settle period with its latest decision, an unchanged verdict is not written again, and writes go a
 * few at a time so a scheduling storm cannot flood the API server.
 */
export class DecisionRecorder {
  private readonly pending = new Map<string, Pending>();
  /**
   * What was last written per pod (by UID), without its time: a pod retried with the same verdict costs
   * no write, so the record's time is when that verdict was first made.
   */
  private readonly written = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly writes = new Set<Promise<void>>();
  private stopped = false;
  /** Set when the API server refused the write for lack of permission: retrying would only add load. */
  private forbidden = false;
  /** While the resource is not served: no write before this time, and the pause after the next refusal. */
  private unservedUntil = 0;
  private unservedPauseMs = 0;
  private readonly settleMs: number;
  private readonly maxPending: number;
  private readonly concurrency: number;
  private readonly now: () => number;

  constructor(private readonly options: DecisionRecorderOptions) {
    this.settleMs = options.settleMs ?? 500;
    this.maxPending = options.maxPending ?? 1000;
    this.concurrency = options.concurrency ?? 4;
    this.now = options.now ?? Date.now;
  }

  /** Called by the extender after it answered; cheap: it only remembers the decision. */
  observe(record: DecisionRecord): void {
    if (this.stopped || this.forbidden) return;
    const namespace = record.pod.metadata?.namespace ?? '';
    const name = record.pod.metadata?.name ?? '';
    const uid = record.pod.metadata?.uid ?? '';
    if (!namespace || !name || !uid) return;
    const key = uid;
    let entry = this.pending.get(key);
    if (!entry) {
      if (this.pending.size >= this.maxPending) this.dropOldest();
      entry = { namespace, name, uid, at: this.now() };
      this.pending.set(key, entry);
    }
    // A new filter starts a new cycle: the previous cycle's scores do not belong to it.
    if (record.verb === 'filter') {
      entry.filter = record.decision;
      delete entry.prioritize;
    } else {
      entry.prioritize = record.decision;
    }
    entry.at = this.now();
    this.schedule();
  }

  /** Stops writing; decisions not yet written are written first (bounded by the API's answers). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flush(true);
    await Promise.all(this.writes);
  }

  private dropOldest(): void {
    const oldest = this.pending.keys().next();
    if (oldest.done) return;
    this.pending.delete(oldest.value);
    this.options.logger.debug({ pod: oldest.value }, 'too many scheduling decisions waiting; one dropped');
  }

  private schedule(delayMs = this.settleMs): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush(false);
    }, delayMs);
    this.timer.unref();
  }

  private flush(all: boolean): void {
    const now = this.now();
    if (!all && now < this.unservedUntil) {
      this.schedule(this.unservedUntil - now);
      return;
    }
    for (const [key, entry] of this.pending) {
      if (this.inFlight >= this.concurrency && !all) break;
      if (!all && now - entry.at < this.settleMs) continue;
      this.pending.delete(key);
      this.write(entry);
    }
    if (this.pending.size > 0) this.schedule();
  }

  private write(entry: Pending): void {
    const document = decisionDocument({
      ...(entry.filter ? { filter: entry.filter } : {}),
      ...(entry.prioritize ? { prioritize: entry.prioritize } : {}),
      time: new Date(entry.at),
      replica: this.options.replica,
      source: 'recorded',
    });
    // Keyed by UID: a pod recreated under the same name (a StatefulSet's) has no record yet.
    const key = entry.uid;
    const { time: _time, ...verdict } = document;
    const fingerprint = JSON.stringify(verdict);
    if (this.written.get(key) === fingerprint) return;
    this.written.delete(key);
    this.written.set(key, fingerprint);
    if (this.written.size > maxRemembered) this.written.delete(this.written.keys().next().value ?? '');
    this.inFlight++;
    const write = this.upsert(entry, document)
      .then(
        () => {
          this.unservedPauseMs = 0;
        },
        (error: unknown) => {
          this.written.delete(key);
          if (isResourceNotServed(error)) {
            this.pauseWhileUnserved(entry);
            return;
          }
          // A pod deleted meanwhile (or its namespace) needs no record.
          if (isNotFound(error)) return;
          if (error instanceof KubeApiError && error.statusCode === 403) {
            if (!this.forbidden) {
              this.options.logger.warn(
                { err: error.message },
                "stork may not write SchedulingDecisions: scheduling decisions are not recorded (storkctl explain shows only what stork would decide now). Grant create, get and update on schedulingdecisions.stork.libopenstorage.org to stork's role, or run with --record-decisions=false",
              );
            }
            this.forbidden = true;
            this.pending.clear();
            return;
          }
          this.options.logger.warn(
            { pod: `${entry.namespace}/${entry.name}`, err: errorText(error) },
            'could not record the scheduling decision',
          );
        },
      )
      .finally(() => {
        this.inFlight--;
        this.writes.delete(write);
        // Straight on with the decisions that have settled meanwhile: waiting for the settle timer here
        // would cap the writes at `concurrency` per settle period, and under a scheduling burst the
        // records would lag further and further behind until the oldest were dropped unwritten.
        if (this.pending.size > 0 && !this.stopped) this.flush(false);
      });
    this.writes.add(write);
  }

  /**
   * The API server does not serve SchedulingDecisions yet (the CRD was installed a moment ago, or is
   * missing): keep the decision waiting (unless a newer one for the pod came meanwhile) and pause every
   * write for a while, doubling the pause while the refusals go on, so a missing CRD costs a request now
   * and then rather than one per decision. The waiting decisions stay bounded by `maxPending`.
   */
  private pauseWhileUnserved(entry: Pending): void {
    if (this.unservedPauseMs === 0) {
      this.options.logger.warn(
        {},
        'the API server does not serve schedulingdecisions.stork.libopenstorage.org (yet): scheduling decisions wait until it does; install the CRD from specs/stork-crds.yaml if this lasts',
      );
    }
    // Writes that were in flight together fail together: only a refusal after the pause lengthens it.
    const now = this.now();
    if (now >= this.unservedUntil) {
      this.unservedPauseMs = Math.min(
        Math.max(unservedFirstPauseMs, this.unservedPauseMs * 2),
        unservedMaxPauseMs,
      );
      this.unservedUntil = now + this.unservedPauseMs;
    }
    if (this.stopped) return;
    if (!this.pending.has(entry.uid)) {
      if (this.pending.size >= this.maxPending) this.dropOldest();
      this.pending.set(entry.uid, entry);
    }
  }

  /**
   * Creates the pod's SchedulingDecision, owned by the pod (so it goes with it); one already there (an
   * earlier cycle of this pod, or a former pod of the same name whose record the garbage collector has
   * not removed yet) is replaced, with this pod as its owner.
   */
  private async upsert(entry: Pending, document: SchedulingDecision): Promise<void> {
    const { api } = this.options;
    const object: SchedulingDecisionObject = {
      apiVersion: schedulingDecisionApiVersion,
      kind: 'SchedulingDecision',
      metadata: {
        name: entry.name,
        namespace: entry.namespace,
        ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: entry.name, uid: entry.uid }],
      },
      decision: document,
    };
    try {
      await api.create(resources.schedulingDecisions, object, entry.namespace);
      return;
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
    const ref = { namespace: entry.namespace, name: entry.name };
    // Another replica may write it in between (two cycles of one pod on two replicas): read again.
    await retryOnConflict(async () => {
      const current = await api.get<SchedulingDecisionObject>(resources.schedulingDecisions, ref);
      await api.replace(resources.schedulingDecisions, ref, {
        ...object,
        metadata: { ...object.metadata, resourceVersion: current.metadata.resourceVersion },
      });
    }, 3);
  }
}
