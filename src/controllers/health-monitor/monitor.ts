import type { ConfigMap, Node, Pod } from '../../wire/k8s-types.js';
import type { DriverState } from '../../drivers/driver-state.js';
import {
  healthStatusConfigMap,
  healthStatusKey,
  type HealthStatusDocument,
} from '../../drivers/health-status-document.js';
import { isNotFound } from '../../k8s/errors.js';
import type { InformerHandlers } from '../../k8s/informer.js';
import { resources } from '../../k8s/paths.js';
import { WorkQueue, type WorkQueueObserver } from '../../lib/work-queue.js';
import type { WorkResult } from '../../lib/work-queue.js';
import type { Evictor } from './evictor.js';
import { HealthReconciler, newEvictor, type HealthReconcilerDeps } from './reconciler.js';
import { healthStatusDocument } from './status-document.js';
import { errorText } from '../../lib/errors.js';

export type { HealthMonitorMetrics } from './reconciler.js';

/** Where the monitor hears about changes: the driver cache and the Node and Pod informers. */
export interface HealthMonitorSources {
  readonly storage: { subscribe(listener: (snapshot: DriverState) => void): () => void };
  /** Further storage caches (another driver's, with several drivers). */
  readonly otherStorage?: readonly { subscribe(listener: (snapshot: DriverState) => void): () => void }[];
  readonly nodes: { addHandlers(handlers: InformerHandlers<Node>): () => void };
  readonly pods: { addHandlers(handlers: InformerHandlers<Pod>): () => void };
}

export interface HealthMonitorOptions extends HealthReconcilerDeps {
  readonly sources: HealthMonitorSources;
  /** Stork's namespace: where the status ConfigMap lives. */
  readonly namespace: string;
  /** This replica's name in the status document. */
  readonly replica: string;
  readonly queueObserver?: WorkQueueObserver;
  /**
   * The storage systems judged, each on its own (its own grace tracking and circuit breaker, one shared
   * Evictor, so one rate limit): asked again at every look, as the served CSI drivers may change. Absent:
   * one lane, `driver` over `caches.storage`.
   */
  readonly lanes?: () => readonly HealthLane[];
}

/** One storage system the monitor judges: a driver and the cache of its nodes. */
export interface HealthLane {
  /** Unique among lanes: the driver's name (`pxd`, or a CSI driver name). */
  readonly name: string;
  readonly driver: HealthReconcilerDeps['driver'];
  readonly storage: { snapshot(): DriverState };
  readonly localToOneNode?: HealthReconcilerDeps['localToOneNode'];
}

const readyStatus = (node: Node): string | undefined =>
  node.status?.conditions?.find((c) => c.type === 'Ready')?.status;

/**
 * Moves pods off nodes whose storage failed, without harming anything (see HealthReconciler for the
 * rules). A keyed reconciler on a work queue, one key per Kubernetes node: a storage status change from
 * the driver cache queues the node at once and again exactly when its grace period ends; a Node turning
 * NotReady, or a pod landing on a node being drained, queues that node; every `intervalMs` the nodes
 * being watched are looked at again anyway. The state (circuit breaker, unhealthy nodes) is published in
 * the ConfigMap `stork-health-monitor` for `storkctl get healthmonitor`.
 */
export class HealthMonitor {
  private readonly evictor: Evictor;
  private readonly lanes = new Map<string, HealthReconciler>();
  /** Stands for the status when no lane exists yet (no served CSI driver, say): judges nothing. */
  private readonly idle: HealthReconciler;
  private published = '';
  private publishing: Promise<void> | undefined;
  private publishAgain = false;

  constructor(private readonly options: HealthMonitorOptions) {
    this.evictor = newEvictor(options);
    this.idle = new HealthReconciler({ ...options, evictor: this.evictor });
    this.syncLanes();
  }

  /** The first lane's reconciler (the only one with a single driver). */
  get reconciler(): HealthReconciler {
    return this.lanes.values().next().value ?? this.idle;
  }

  /** Every lane's reconciler, by lane name. */
  reconcilers(): ReadonlyMap<string, HealthReconciler> {
    return this.lanes;
  }

  /** Creates reconcilers for new lanes and drops those of lanes gone, keeping the lanes' order. */
  private syncLanes(): void {
    const { options } = this;
    const wanted: readonly HealthLane[] = options.lanes
      ? options.lanes()
      : [{ name: options.driver.name, driver: options.driver, storage: options.caches.storage }];
    const names = wanted.map((l) => l.name);
    if (names.length === this.lanes.size && names.every((n, i) => [...this.lanes.keys()][i] === n)) return;
    const previous = new Map(this.lanes);
    this.lanes.clear();
    wanted.forEach((lane, i) => {
      const kept = previous.get(lane.name);
      if (kept) {
        this.lanes.set(lane.name, kept);
        return;
      }
      const { localToOneNode } = lane;
      this.lanes.set(
        lane.name,
        new HealthReconciler({
          ...options,
          driver: lane.driver,
          caches: { ...options.caches, storage: lane.storage },
          evictor: this.evictor,
          ...(localToOneNode ? { localToOneNode } : {}),
          // Gauges are the first lane's; counters are every lane's.
          ...(i > 0 && options.metrics
            ? {
                metrics: {
                  ...options.metrics,
                  unhealthyNodes: () => undefined,
                  circuitBreakerOpen: () => undefined,
                },
              }
            : {}),
        }),
      );
    });
  }

  /** One node under every lane; the earliest look-again wins. */
  async reconcile(node: string, signal?: AbortSignal): Promise<WorkResult> {
    let next: number | undefined;
    for (const reconciler of [...this.lanes.values()]) {
      const result = await reconciler.reconcile(node, signal);
      if (result?.requeueAfterMs !== undefined) next = Math.min(next ?? Infinity, result.requeueAfterMs);
    }
    return next === undefined ? undefined : { requeueAfterMs: next };
  }

  /** Runs until `signal` aborts (leadership lost, or stork stopping); resolves once stopped. */
  async run(signal: AbortSignal): Promise<void> {
    const { logger, clock, config, sources } = this.options;
    const queue = new WorkQueue({
      process: async (node, s) => {
        const result = await this.reconcile(node, s);
        this.publish(signal);
        return result;
      },
      concurrency: 4,
      clock,
      onError: (error, node, attempt) =>
        logger.warn({ node, attempt, err: errorText(error) }, 'reconciling node failed; retrying'),
      ...(this.options.queueObserver ? { observer: this.options.queueObserver } : {}),
    });
    const look = (): void => this.look(queue, signal);
    const unsubscribe = [
      sources.storage.subscribe(look),
      ...(sources.otherStorage ?? []).map((s) => s.subscribe(look)),
      sources.nodes.addHandlers({
        onAdd: () => look(),
        onDelete: () => look(),
        onUpdate: (previous, node) => {
          if (readyStatus(previous) !== readyStatus(node)) queue.add(node.metadata?.name ?? '');
        },
      }),
      sources.pods.addHandlers({
        onAdd: (pod) => this.podChanged(pod, queue),
        onUpdate: (_previous, pod) => this.podChanged(pod, queue),
      }),
    ];
    // A safety net: nodes that may move pods are looked at again every interval, events or not.
    const resync = async (): Promise<void> => {
      for (;;) {
        const slept = await clock.sleep(config.intervalMs, signal).then(
          () => true,
          () => false,
        );
        if (!slept) break;
        look();
        for (const n of this.watched()) queue.add(n);
      }
    };
    logger.info({ ...config }, 'health monitor running');
    let resyncing: Promise<void> | undefined;
    try {
      look();
      resyncing = resync();
      await queue.run(signal);
    } finally {
      await resyncing;
      for (const u of unsubscribe) u();
      await this.publishing;
      logger.info('health monitor stopped');
    }
  }

  /**
   * One look at the caches: every node whose storage status changed is queued at once, and again exactly
   * when its grace period ends; when the breaker closes, every node that may move pods is queued.
   */
  look(queue: Pick<WorkQueue, 'add'>, signal: AbortSignal): void {
    this.syncLanes();
    const now = this.options.clock.now();
    let closed = false;
    for (const reconciler of this.lanes.values()) {
      const { changed, breaker } = reconciler.refresh();
      for (const node of changed) {
        queue.add(node);
        const dueAt = reconciler.tracker.dueAt(node);
        if (dueAt !== undefined && dueAt > now) queue.add(node, dueAt - now);
      }
      if (breaker.changed === 'closed') closed = true;
    }
    if (closed) for (const n of this.watched()) queue.add(n);
    this.publish(signal);
  }

  /** Nodes in a status that may move pods, under any lane: the ones worth a periodic look. */
  private watched(): string[] {
    const nodes = new Set<string>();
    for (const reconciler of this.lanes.values())
      for (const n of reconciler.tracker.all()) if (n.evacuateSince !== undefined) nodes.add(n.node);
    return [...nodes];
  }

  private podChanged(pod: Pod, queue: WorkQueue): void {
    const node = pod.spec?.nodeName;
    if (!node) return;
    const watched = [...this.lanes.values()].some((r) => r.tracker.get(node)?.evacuateSince !== undefined);
    if (watched) queue.add(node);
  }

  /** Writes the status document when it changed; one write at a time, the latest state wins. */
  private publish(signal: AbortSignal): void {
    if (this.publishing) {
      this.publishAgain = true;
      return;
    }
    this.publishing = this.write(signal)
      .catch((error: unknown) => {
        this.options.logger.warn({ err: errorText(error) }, 'cannot publish the health monitor status');
      })
      .finally(() => {
        this.publishing = undefined;
        if (this.publishAgain && !signal.aborted) {
          this.publishAgain = false;
          this.publish(signal);
        }
      });
  }

  /** The document as of now (also for tests). */
  status(): HealthStatusDocument {
    const document = healthStatusDocument(this.reconciler, this.options);
    if (this.lanes.size < 2) return document;
    // With several drivers: the first at the top (as with one), and every driver's own state beside it.
    const drivers = [...this.lanes].map(([driver, reconciler]) => {
      const { breaker, storageNodes, unhealthyNodes, nodes } = healthStatusDocument(reconciler, this.options);
      return { driver, breaker, storageNodes, unhealthyNodes, nodes };
    });
    return { ...document, drivers };
  }

  private async write(signal: AbortSignal): Promise<void> {
    const { client, namespace } = this.options;
    const document = this.status();
    // Compare without the timestamp: rewriting an unchanged state would only churn the API server.
    const fingerprint = JSON.stringify({ ...document, time: '' });
    if (fingerprint === this.published) return;
    const data = { [healthStatusKey]: JSON.stringify(document, null, 2) };
    const ref = { namespace, name: healthStatusConfigMap };
    try {
      const current = await client.get<ConfigMap>(resources.configMaps, ref, { signal });
      await client.replace(resources.configMaps, ref, { ...current, data }, { signal });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await client.create<ConfigMap>(
        resources.configMaps,
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: healthStatusConfigMap, namespace, labels: { 'app.kubernetes.io/name': 'stork' } },
          data,
        },
        namespace,
        { signal },
      );
    }
    this.published = fingerprint;
  }
}
