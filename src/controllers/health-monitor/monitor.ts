import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import type { DriverSnapshot } from '../../drivers/snapshot.js';
import type { Node, Pod } from '../../drivers/k8s-types.js';
import {
  healthStatusConfigMap,
  healthStatusKey,
  type HealthStatusDocument,
} from '../../drivers/health-status-document.js';
import { isNotFound } from '../../k8s/errors.js';
import type { InformerHandlers } from '../../k8s/informer.js';
import { resources } from '../../k8s/paths.js';
import { WorkQueue, type WorkQueueObserver } from '../../lib/work-queue.js';
import { HealthReconciler, type HealthReconcilerDeps } from './reconciler.js';
import { healthStatusDocument } from './status-document.js';
import { errorText } from '../../lib/errors.js';

export type { HealthMonitorMetrics } from './reconciler.js';

/** Where the monitor hears about changes: the driver cache and the Node and Pod informers. */
export interface HealthMonitorSources {
  readonly storage: { subscribe(listener: (snapshot: DriverSnapshot) => void): () => void };
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
  readonly reconciler: HealthReconciler;
  private published = '';
  private publishing: Promise<void> | undefined;
  private publishAgain = false;

  constructor(private readonly options: HealthMonitorOptions) {
    this.reconciler = new HealthReconciler(options);
  }

  /** Runs until `signal` aborts (leadership lost, or stork stopping); resolves once stopped. */
  async run(signal: AbortSignal): Promise<void> {
    const { logger, clock, config, sources } = this.options;
    const queue = new WorkQueue({
      process: async (node, s) => {
        const result = await this.reconciler.reconcile(node, s);
        this.publish(signal);
        return result;
      },
      concurrency: 4,
      onError: (error, node, attempt) =>
        logger.warn({ node, attempt, err: errorText(error) }, 'reconciling node failed; retrying'),
      ...(this.options.queueObserver ? { observer: this.options.queueObserver } : {}),
    });
    const look = (): void => this.look(queue, signal);
    const unsubscribe = [
      sources.storage.subscribe(look),
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
    const { changed, breaker } = this.reconciler.refresh();
    const now = this.options.clock.now();
    for (const node of changed) {
      queue.add(node);
      const dueAt = this.reconciler.tracker.dueAt(node);
      if (dueAt !== undefined && dueAt > now) queue.add(node, dueAt - now);
    }
    if (breaker.changed === 'closed') for (const n of this.watched()) queue.add(n);
    this.publish(signal);
  }

  /** Nodes in a status that may move pods: the ones worth a periodic look. */
  private watched(): string[] {
    return this.reconciler.tracker
      .all()
      .filter((n) => n.evacuateSince !== undefined)
      .map((n) => n.node);
  }

  private podChanged(pod: Pod, queue: WorkQueue): void {
    const node = pod.spec?.nodeName;
    if (node && this.reconciler.tracker.get(node)?.evacuateSince !== undefined) queue.add(node);
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
    return healthStatusDocument(this.reconciler, this.options);
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
