import type { Node, ObjectReference, PersistentVolume, Pod, VolumeAttachment } from '../../wire/k8s-types.js';
import type { DriverState } from '../../drivers/driver-state.js';
import type { DriverNode, VolumeDriver } from '../../drivers/driver.js';
import { nodeMatcherFor } from '../../drivers/node-match.js';
import { usesDriverVolumes, type ClaimLookups } from '../../drivers/pod-claims.js';
import type { KubeClient } from '../../k8s/client.js';
import { getOrUndefined, isConflict, isNotFound } from '../../k8s/errors.js';
import { objectReference } from '../../k8s/events.js';
import { resources } from '../../k8s/paths.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import type { WorkResult } from '../../lib/work-queue.js';
import { CircuitBreaker, type BreakerState, type BreakerTransition } from './breaker.js';
import type { HealthMonitorConfig } from './config.js';
import { Evictor } from './evictor.js';
import { NodeHealthTracker, type NodeHealth } from './node-health.js';
import { classifyPod, podVolumeNames } from './pod-verdict.js';
import { countsAsUnhealthy, evacuates } from './status-policy.js';
import { countNodes, storageView, untrustworthy, type NodeCounts, type StorageView } from './storage-view.js';
import { errorText } from '../../lib/errors.js';

/** Counters the monitor reports (implemented with Prometheus by the daemon). */
export interface HealthMonitorMetrics {
  podRescheduled(): void;
  evictionBlocked(): void;
  podForceDeleted(): void;
  unhealthyNodes(count: number): void;
  /** The breaker's state after every look: open (or closing) is 1, closed 0. */
  circuitBreakerOpen(open: boolean): void;
  /** The breaker opened, for this reason. */
  circuitBreakerTripped(reason: string): void;
}

/** What events go through (the EventRecorder, or a test's list). */
export interface EventSink {
  record(object: ObjectReference, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/** The caches the reconciler reads; informers in stork, plain objects in unit tests. */
export interface HealthMonitorCaches {
  readonly storage: { snapshot(): DriverState };
  readonly nodes: { get(name: string): Node | undefined; list(): Node[]; readonly version: number };
  /** Pods whose `spec.nodeName` is this node (an informer index). */
  podsOnNode(node: string): Pod[];
  /** VolumeAttachments whose `spec.nodeName` is this node (an informer index). */
  attachmentsOnNode(node: string): VolumeAttachment[];
  readonly claims: ClaimLookups;
}

export interface HealthReconcilerDeps {
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly driver: Pick<VolumeDriver, 'name' | 'csiDriverName' | 'inspectNode' | 'ownsClaim'>;
  readonly caches: HealthMonitorCaches;
  readonly events: EventSink;
  readonly logger: Logger;
  readonly metrics?: HealthMonitorMetrics | undefined;
  readonly config: HealthMonitorConfig;
  /** A storage view older than this is not trusted (the extender's `--driver-stale-after`). */
  readonly staleAfterMs: number;
  /** The object that stands for stork in events about the monitor as a whole. */
  readonly self: ObjectReference;
  /**
   * The Evictor to share with the other drivers' reconcilers (one rate limit and one backoff for every
   * pod stork evicts); a reconciler of its own makes one.
   */
  readonly evictor?: Evictor;
  /** Volumes the driver knows to live on one node only (see PodSelectionDeps.localToOneNode). */
  readonly localToOneNode?: (pv: PersistentVolume) => boolean;
}

/** What one look at the caches found. */
export interface Refresh {
  /** Nodes whose storage status changed since the last look. */
  readonly changed: readonly string[];
  readonly breaker: BreakerTransition;
  readonly view: StorageView;
}

/** The Evictor of a monitor: pass it as `evictor` to every driver's reconciler. */
export function newEvictor(deps: Pick<HealthReconcilerDeps, 'client' | 'clock' | 'config'>): Evictor {
  return new Evictor(deps.client, deps.clock, {
    ...deps.config,
    rememberEvictedMs: deps.config.forceDeleteAfterMs,
  });
}

const nodeRef = (name: string): ObjectReference => ({ apiVersion: 'v1', kind: 'Node', name });
const podName = (pod: Pod): string => `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
const seconds = (ms: number): number => Math.round(ms / 1000);

/**
 * The health monitor's decisions: `reconcile(node)` reads the caches, acts on one node, and says when to
 * look at it again (grace expiry, rate limit, a blocked pod's backoff, a force-delete deadline). It is
 * level-triggered and idempotent, so the work queue may call it as often as it likes.
 *
 * Rules, each pinned by a unit test (reconciler.test.ts):
 * - only statuses the policy marks `evacuate` move pods, and only after the grace period;
 * - nothing is evicted while the circuit breaker is not closed;
 * - before acting, the storage system is asked about the node again (a fresh `inspectNode`);
 * - finished, DaemonSet, mirror and non-driver pods are never touched; pods with node-local volumes are
 *   never evicted (a Warning event says why);
 * - pods leave through the shared Evictor (Eviction API, global rate, per-pod backoff);
 * - force-delete only on a node the API server reports NotReady now, and then only the VolumeAttachments
 *   of the pods just deleted.
 */
export class HealthReconciler {
  readonly tracker: NodeHealthTracker;
  readonly breaker: CircuitBreaker;
  readonly evictor: Evictor;
  /** What the counts were made from: the storage node list (kept while unchanged) and the Node cache. */
  private seen: { storageNodes: readonly DriverNode[] | undefined; nodes: number } = {
    storageNodes: undefined,
    nodes: -1,
  };
  /** Whether the tracker has observed the current counts (it does not while the view is untrustworthy). */
  private observed = false;
  private lastView: StorageView | undefined;
  private counts: NodeCounts | undefined;
  /** Nodes told about the open breaker during this opening (told once each). */
  private readonly toldHeld = new Set<string>();
  /** Pods told why their node-local volume keeps them (pod uid → the failure it was told about). */
  private readonly toldLocal = new Map<string, number>();

  constructor(private readonly deps: HealthReconcilerDeps) {
    this.tracker = new NodeHealthTracker(deps.config.graceMs);
    this.breaker = new CircuitBreaker(deps.config);
    this.evictor = deps.evictor ?? newEvictor(deps);
  }

  get breakerState(): BreakerState {
    return this.breaker.state;
  }

  /** The last storage view (for the published status). */
  get view(): StorageView | undefined {
    return this.lastView;
  }

  /**
   * Looks at the caches: tracks node statuses and judges the breaker. Cheap when nothing changed (the
   * node matching is redone only on a new storage snapshot or Node change).
   */
  refresh(): Refresh {
    const { caches, clock } = this.deps;
    const snapshot = caches.storage.snapshot();
    const now = clock.now();
    let changed: string[] = [];
    // The driver cache keeps the same node array while no storage node changed: most refreshes (every
    // few seconds) leave the counts as they were, and matching thousands of nodes is not free.
    const fresh = this.seen.storageNodes !== snapshot.nodes || this.seen.nodes !== caches.nodes.version;
    const distrust = untrustworthy(snapshot, {
      wallNow: clock.wallNow(),
      staleAfterMs: this.deps.staleAfterMs,
    });
    if (fresh || !this.counts) {
      this.counts = countNodes(snapshot, caches.nodes.list(), nodeMatcherFor(snapshot.nodes));
      this.seen = { storageNodes: snapshot.nodes, nodes: caches.nodes.version };
      this.observed = false;
    }
    // An untrustworthy view says nothing about the nodes: keep what was last known, and observe these
    // counts once the view is trusted again (the nodes may not change again by then).
    if (distrust === undefined && !this.observed) {
      changed = this.tracker.observe(this.counts.observations, now);
      this.observed = true;
    }
    const view = storageView(this.counts, distrust);
    this.lastView = view;
    const breaker = this.breaker.evaluate(view.breaker, now);
    this.deps.metrics?.unhealthyNodes(view.breaker.unhealthyNodes);
    this.deps.metrics?.circuitBreakerOpen(!this.breaker.closed);
    if (breaker.changed) this.reportBreaker(breaker, view);
    return { changed, breaker, view };
  }

  private reportBreaker(transition: BreakerTransition, view: StorageView): void {
    const { logger, events, metrics, self, config } = this.deps;
    const counts = {
      unhealthyNodes: view.breaker.unhealthyNodes,
      storageNodes: view.breaker.storageNodes,
      quorumLost: view.breaker.quorumLost,
      maxUnhealthyNodes: config.maxUnhealthyNodes,
      maxUnhealthyPercent: config.maxUnhealthyPercent,
    };
    if (transition.changed === 'opened') {
      const { reason = 'too-many-unhealthy', message = '' } = transition.state;
      metrics?.circuitBreakerTripped(reason);
      const text =
        `Health monitor circuit breaker open: ${message}. No pods are evicted until that has been over ` +
        `for ${seconds(config.graceMs)}s.`;
      logger.warn({ ...counts, reason }, `circuit breaker open: ${message}; evicting nothing`);
      events.record(self, 'Warning', 'CircuitBreakerOpen', text);
      const affected = new Set([
        // As the view shows them, even an untrusted one: those are the nodes users would look at.
        ...(this.counts?.observations ?? []).filter((o) => countsAsUnhealthy(o.status)).map((o) => o.node),
        ...this.tracker
          .all()
          .filter((n) => countsAsUnhealthy(n.status))
          .map((n) => n.node),
      ]);
      for (const node of affected) {
        events.record(nodeRef(node), 'Warning', 'CircuitBreakerOpen', text);
        this.toldHeld.add(node);
      }
    } else {
      logger.info(counts, 'circuit breaker closed: evictions resume');
      events.record(
        self,
        'Normal',
        'CircuitBreakerClosed',
        `Health monitor circuit breaker closed: ${view.breaker.unhealthyNodes} of ${view.breaker.storageNodes} ` +
          `storage nodes unhealthy, within the limits for ${seconds(config.graceMs)}s. Evictions resume.`,
      );
      this.toldHeld.clear();
    }
  }

  async reconcile(node: string, signal?: AbortSignal): Promise<WorkResult> {
    const { clock, config, logger } = this.deps;
    this.refresh();
    const health = this.tracker.get(node);
    if (!health || !evacuates(health.status)) return undefined;
    const dueAt = this.tracker.dueAt(node) ?? Infinity;
    const now = clock.now();
    if (now < dueAt) return { requeueAfterMs: dueAt - now };
    if (!this.breaker.closed) {
      const state = this.breaker.state;
      if (!this.toldHeld.has(node)) {
        this.toldHeld.add(node);
        this.deps.events.record(
          nodeRef(node),
          'Warning',
          'CircuitBreakerOpen',
          `Not moving pods off this node although its ${this.deps.driver.name} storage is ${health.status}: ` +
            `the health monitor's circuit breaker is open (${state.message ?? ''}).`,
        );
      }
      logger.debug({ node, breaker: state }, 'node due, but the circuit breaker is open');
      // The breaker's own deadline, or the next resync, brings the node back.
      return { requeueAfterMs: state.closesAt !== undefined ? state.closesAt - now : config.intervalMs };
    }
    return this.drain(health, signal);
  }

  /** Moves a due node's pods: evictions first, then force-deletes of pods stuck on a NotReady node. */
  private async drain(health: NodeHealth, signal?: AbortSignal): Promise<WorkResult> {
    const { caches, clock, config, driver } = this.deps;
    const node = health.node;
    const { localToOneNode } = this.deps;
    const deps = {
      usesDriverVolumes: (pod: Pod) => usesDriverVolumes(pod, driver, caches.claims),
      claims: caches.claims,
      ...(localToOneNode ? { localToOneNode } : {}),
    };
    const toEvict: Pod[] = [];
    const stuck: Pod[] = [];
    const wakeAt: number[] = [];
    const wallNow = clock.wallNow();
    for (const pod of caches.podsOnNode(node)) {
      const verdict = classifyPod(pod, node, deps);
      if (verdict.kind === 'local') this.reportLocal(pod, health, verdict.volumes);
      else if (verdict.kind === 'evict') toEvict.push(pod);
      else if (verdict.kind === 'terminating') {
        const dueIn = verdict.since + config.forceDeleteAfterMs - wallNow;
        if (dueIn <= 0) stuck.push(pod);
        else wakeAt.push(clock.now() + dueIn);
      }
    }
    const ready = toEvict.filter((pod) => this.evictor.backoffMs(pod) === 0);
    for (const pod of toEvict) {
      const wait = this.evictor.backoffMs(pod);
      if (wait > 0) wakeAt.push(clock.now() + wait);
    }
    const canEvict = ready.length > 0 && this.evictor.rateLimitMs() === 0;
    if (canEvict || stuck.length > 0) {
      // Act only on what the storage system says now, not on a cached answer.
      const status = await this.confirm(health, signal);
      if (status === undefined)
        return { requeueAfterMs: Math.min(config.intervalMs, config.graceMs || 1000) };
      if (!status) return undefined;
    }
    if (ready.length > 0) {
      const next = await this.evictAll(ready, health, signal);
      if (next !== undefined) wakeAt.push(clock.now() + next);
    }
    if (stuck.length > 0) {
      const next = await this.forceDelete(node, stuck, signal);
      if (next !== undefined) wakeAt.push(clock.now() + next);
    }
    if (wakeAt.length === 0) return undefined;
    return { requeueAfterMs: Math.max(1, Math.min(...wakeAt) - clock.now()) };
  }

  /** true: still failed (go on); false: recovered (stop); undefined: cannot tell (wait, act on nothing). */
  private async confirm(health: NodeHealth, signal?: AbortSignal): Promise<boolean | undefined> {
    const { driver, logger } = this.deps;
    try {
      const fresh = await driver.inspectNode(health.driverNodeId, signal);
      if (evacuates(fresh.status)) return true;
      logger.info({ node: health.node, status: fresh.status }, 'storage on node recovered; leaving its pods');
      return false;
    } catch (error) {
      logger.warn(
        { node: health.node, err: errorText(error) },
        'cannot confirm storage node status; not acting on a guess',
      );
      return undefined;
    }
  }

  /** Evicts pods until the rate limit stops it; returns when to look again, if anything is left. */
  private async evictAll(
    pods: readonly Pod[],
    health: NodeHealth,
    signal?: AbortSignal,
  ): Promise<number | undefined> {
    const { events, logger, metrics, clock, driver } = this.deps;
    let next: number | undefined;
    const since = seconds(clock.now() - (health.evacuateSince ?? clock.now()));
    const why = `the ${driver.name} storage driver on node ${health.node} is ${health.status} (for ${since}s)`;
    for (const pod of pods) {
      const result = await this.evictor.evict(pod, signal);
      const reference = objectReference({ ...pod, apiVersion: 'v1', kind: 'Pod' });
      if (result.outcome === 'rate-limited') {
        logger.info({ node: health.node, waitMs: result.retryInMs }, 'eviction rate limit reached; waiting');
        return result.retryInMs;
      }
      if (result.outcome === 'evicted') {
        metrics?.podRescheduled();
        events.record(
          reference,
          'Warning',
          'StorageDriverOffline',
          `Evicting pod: ${why}, so its volumes are unreachable there`,
        );
        logger.info(
          { pod: podName(pod), node: health.node, status: health.status },
          'evicted pod from node with failed storage',
        );
        // Look again when it could be stuck terminating.
        next = Math.min(next ?? Infinity, this.deps.config.forceDeleteAfterMs);
      } else if (result.outcome === 'blocked') {
        metrics?.evictionBlocked();
        events.record(
          reference,
          'Warning',
          'EvictionBlocked',
          `Cannot evict pod although ${why}: ${result.reason}. Retrying in ${seconds(result.retryInMs)}s.`,
        );
        logger.warn({ pod: podName(pod), node: health.node, reason: result.reason }, 'eviction blocked');
        next = Math.min(next ?? Infinity, result.retryInMs);
      } else if (result.outcome === 'backing-off') {
        next = Math.min(next ?? Infinity, result.retryInMs);
      }
    }
    return next;
  }

  private reportLocal(pod: Pod, health: NodeHealth, volumes: readonly string[]): void {
    // Once per pod and failure: the resync would otherwise repeat it every interval.
    const uid = pod.metadata?.uid ?? podName(pod);
    const episode = health.evacuateSince ?? 0;
    if (this.toldLocal.get(uid) === episode) return;
    if (this.toldLocal.size > 10_000) this.toldLocal.clear();
    this.toldLocal.set(uid, episode);
    this.deps.events.record(
      objectReference({ ...pod, apiVersion: 'v1', kind: 'Pod' }),
      'Warning',
      'VolumeLocalToNode',
      `Not evicting pod although the ${this.deps.driver.name} storage on node ${health.node} is ${health.status}: ` +
        `volume(s) ${volumes.join(', ')} are bound to that node (node affinity), so their data is only there.`,
    );
  }

  /**
   * Pods whose eviction never finished because nothing on the node finalises them. Only if the API
   * server says the node is NotReady now (a cached Node may be stale), the pods are deleted with grace 0,
   * and then the driver's VolumeAttachments of their volumes on this node, so their replacements can
   * attach elsewhere. Returns when to look again, if the node is Ready (the pods may yet finish).
   */
  private async forceDelete(
    node: string,
    pods: readonly Pod[],
    signal?: AbortSignal,
  ): Promise<number | undefined> {
    const { client, logger, events, metrics, caches, driver, config } = this.deps;
    const current = await getOrUndefined(() => client.get<Node>(resources.nodes, { name: node }, { signal }));
    if (!current) return undefined;
    const ready = current.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    if (ready) {
      logger.info(
        { node, pods: pods.map(podName) },
        'pods stuck terminating, but the node is Ready: not force-deleting',
      );
      return config.forceDeleteAfterMs;
    }
    const deleted: Pod[] = [];
    for (const pod of pods) {
      const namespace = pod.metadata?.namespace ?? 'default';
      const name = pod.metadata?.name ?? '';
      try {
        await client.delete(
          resources.pods,
          { namespace, name },
          { gracePeriodSeconds: 0, signal, ...(pod.metadata?.uid ? { uid: pod.metadata.uid } : {}) },
        );
      } catch (error) {
        if (isNotFound(error) || isConflict(error)) continue;
        throw error;
      }
      deleted.push(pod);
      metrics?.podForceDeleted();
      events.record(
        objectReference({ ...pod, apiVersion: 'v1', kind: 'Pod' }),
        'Warning',
        'StorageDriverOffline',
        `Force-deleting pod stuck terminating on node ${node}, which is NotReady and whose storage driver failed`,
      );
      logger.warn({ pod: `${namespace}/${name}`, node }, 'force-deleted pod stuck on a down node');
    }
    if (deleted.length === 0) return undefined;
    // Only the deleted pods' volumes, and only those no other pod on the node still uses.
    const deletedUids = new Set(deleted.map((p) => p.metadata?.uid));
    const stillUsed = new Set(
      caches
        .podsOnNode(node)
        .filter((p) => !deletedUids.has(p.metadata?.uid))
        .filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
        .flatMap((p) => podVolumeNames(p, caches.claims)),
    );
    const released = new Set(
      deleted.flatMap((p) => podVolumeNames(p, caches.claims)).filter((pv) => !stillUsed.has(pv)),
    );
    for (const attachment of caches.attachmentsOnNode(node)) {
      const pv = attachment.spec.source.persistentVolumeName;
      if (attachment.spec.nodeName !== node || attachment.spec.attacher !== driver.csiDriverName) continue;
      if (!pv || !released.has(pv)) continue;
      const name = attachment.metadata?.name ?? '';
      try {
        await client.delete(resources.volumeAttachments, { name }, { signal });
        logger.info(
          { attachment: name, node, volume: pv },
          'removed VolumeAttachment of a force-deleted pod',
        );
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return undefined;
  }
}
