import { setTimeout as sleep } from 'node:timers/promises';
import type { VolumeAttachment } from 'kubernetes-types/storage/v1.js';
import type { DriverCache } from '../../drivers/cache.js';
import type { VolumeDriver } from '../../drivers/driver.js';
import type { Node, Pod } from '../../drivers/k8s-types.js';
import { NodeMatcher } from '../../drivers/node-match.js';
import { usesDriverVolumes, type ClaimLookups } from '../../drivers/pod-claims.js';
import type { KubeApi } from '../../k8s/api.js';
import { isNotFound } from '../../k8s/errors.js';
import type { EventRecorder } from '../../k8s/events.js';
import { objectReference } from '../../k8s/events.js';
import { evictPod } from '../../k8s/eviction.js';
import type { Informer } from '../../k8s/informer.js';
import { resources } from '../../k8s/paths.js';
import type { Logger } from '../../lib/log.js';
import type { HealthMonitorConfig } from './config.js';
import { needsEvacuation, NodeHealthTracker, type NodeObservation } from './node-health.js';
import { podsToMove } from './pod-selection.js';
import { SlidingWindowLimiter } from './rate-limiter.js';

/** Counters the monitor reports (implemented with Prometheus by the daemon). */
export interface HealthMonitorMetrics {
  podRescheduled(): void;
  evictionBlocked(): void;
  podForceDeleted(): void;
  unhealthyNodes(count: number): void;
}

export interface HealthMonitorOptions {
  readonly api: KubeApi;
  readonly driver: VolumeDriver;
  readonly cache: DriverCache;
  readonly pods: Informer<Pod>;
  readonly nodes: Informer<Node>;
  readonly claims: ClaimLookups;
  readonly events: EventRecorder;
  readonly logger: Logger;
  readonly metrics?: HealthMonitorMetrics;
  readonly config: HealthMonitorConfig;
  /** The CSI driver name whose VolumeAttachments are the driver's (e.g. `pxd.portworx.com`). */
  readonly attacher: string;
}

/**
 * Moves pods off nodes whose storage driver has failed, without harming anything: a node is acted on only
 * after it stayed Offline or Degraded for the grace period, and only after the storage system confirms it
 * again (before every batch too); pods go through the Eviction API, so PodDisruptionBudgets hold; batches
 * are rate-limited across all nodes. Pods without the driver's volumes, DaemonSet and mirror pods are
 * never touched. Force-deletion is kept for nodes Kubernetes itself sees NotReady, as Stork does.
 */
export class HealthMonitor {
  private readonly tracker: NodeHealthTracker;
  private readonly limiter: SlidingWindowLimiter;
  private readonly draining = new Map<string, Promise<void>>();
  /** Per pod uid: when a blocked eviction may be retried, and the current backoff. */
  private readonly blocked = new Map<string, { retryAt: number; backoffMs: number }>();
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly options: HealthMonitorOptions) {
    this.tracker = new NodeHealthTracker(options.config.graceMs);
    this.limiter = new SlidingWindowLimiter(options.config.batchSize, options.config.batchIntervalMs);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops checking and draining; in-flight API calls finish, nothing new starts. */
  async stop(): Promise<void> {
    this.controller.abort();
    await this.loop;
    await Promise.allSettled(this.draining.values());
  }

  private isStopped(): boolean {
    return this.controller.signal.aborted;
  }

  private async run(): Promise<void> {
    while (!this.isStopped()) {
      try {
        this.check();
      } catch (error) {
        this.options.logger.error({ err: error }, 'health check failed');
      }
      await sleep(this.options.config.intervalMs, undefined, { signal: this.controller.signal }).catch(
        () => undefined,
      );
    }
  }

  /** One round: observe every node's storage health from the cache and start draining nodes now due. */
  private check(): void {
    const snapshot = this.options.cache.snapshot();
    if (snapshot.refreshedAt === undefined) return;
    // An observation older than the grace period says nothing about now: wait for a fresh one.
    if (Date.now() - snapshot.refreshedAt > this.options.config.graceMs) {
      this.options.logger.warn(
        { lastError: snapshot.lastError },
        'storage state is stale; not judging node health',
      );
      return;
    }
    const matcher = new NodeMatcher(snapshot.nodes);
    const observations: NodeObservation[] = [];
    for (const node of this.options.nodes.list()) {
      const driverNode = matcher.match(node);
      if (driverNode)
        observations.push({
          node: node.metadata?.name ?? '',
          driverNodeId: driverNode.id,
          status: driverNode.status,
        });
    }
    const due = this.tracker.observe(observations, Date.now());
    this.options.metrics?.unhealthyNodes(this.tracker.unhealthyCount);
    for (const node of due) {
      if (this.draining.has(node.node)) continue;
      const task = this.drain(node, node.since)
        .catch((error: unknown) => {
          this.options.logger.error({ err: error, node: node.node }, 'draining a node failed; will retry');
        })
        .finally(() => this.draining.delete(node.node));
      this.draining.set(node.node, task);
    }
  }

  /** Re-asks the storage system about a node; undefined (do nothing) if it cannot answer. */
  private async confirmUnhealthy(node: NodeObservation): Promise<string | undefined> {
    try {
      const fresh = await this.options.driver.inspectNode(node.driverNodeId, this.controller.signal);
      if (needsEvacuation(fresh.status)) return fresh.status;
      this.options.logger.info(
        { node: node.node, status: fresh.status },
        'storage on node recovered; leaving its pods',
      );
      return undefined;
    } catch (error) {
      this.options.logger.warn(
        { node: node.node, err: error instanceof Error ? error.message : String(error) },
        'cannot confirm storage node status; not acting on a guess',
      );
      return undefined;
    }
  }

  private async drain(node: NodeObservation, since: number): Promise<void> {
    const { logger, config } = this.options;
    for (;;) {
      if (this.isStopped()) return;
      const status = await this.confirmUnhealthy(node);
      if (!status) return;
      const pods = podsToMove(this.options.pods.list(), node.node, (pod) =>
        usesDriverVolumes(pod, this.options.driver, this.options.claims),
      );
      await this.forceDeleteIfNodeDown(node.node, pods.terminating);
      const now = Date.now();
      const ready = pods.toEvict.filter(
        (p) => (this.blocked.get(p.metadata?.uid ?? '')?.retryAt ?? 0) <= now,
      );
      if (pods.toEvict.length === 0 && pods.terminating.length === 0) {
        logger.info({ node: node.node }, 'no pods with storage volumes left on the node');
        return;
      }
      for (const pod of ready.slice(0, config.batchSize)) {
        await this.limiter.take(this.controller.signal).catch(() => undefined);
        if (this.isStopped()) return;
        await this.evict(pod, node, status, since);
      }
      // Before the next batch: wait for the limiter, a blocked pod's retry, or pods still terminating.
      const nextRetry = Math.min(
        ...pods.toEvict.map((p) => this.blocked.get(p.metadata?.uid ?? '')?.retryAt ?? now),
        now + config.batchIntervalMs,
      );
      const wait = Math.max(this.limiter.waitMs(), nextRetry - Date.now(), ready.length === 0 ? 1000 : 0);
      await sleep(Math.min(wait, config.batchIntervalMs), undefined, {
        signal: this.controller.signal,
      }).catch(() => undefined);
    }
  }

  private async evict(pod: Pod, node: NodeObservation, status: string, since: number): Promise<void> {
    const { api, events, logger, metrics, driver } = this.options;
    const namespace = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    const uid = pod.metadata?.uid ?? '';
    const seconds = Math.round((Date.now() - since) / 1000);
    const why = `the ${driver.name} storage driver on node ${node.node} is ${status} (for ${seconds}s)`;
    const result = await evictPod(api, namespace, name);
    const reference = objectReference({ ...pod, apiVersion: 'v1', kind: 'Pod' });
    if (result.outcome === 'evicted') {
      this.blocked.delete(uid);
      metrics?.podRescheduled();
      events.record(
        reference,
        'Warning',
        'StorageDriverOffline',
        `Evicting pod: ${why}, so its volumes are unreachable there`,
      );
      logger.info(
        { pod: `${namespace}/${name}`, node: node.node, status },
        'evicted pod from node with failed storage',
      );
    } else if (result.outcome === 'blocked') {
      const previous = this.blocked.get(uid);
      const backoffMs = Math.min(
        (previous?.backoffMs ?? this.options.config.blockedRetryMs / 2) * 2,
        300_000,
      );
      this.blocked.set(uid, { retryAt: Date.now() + backoffMs, backoffMs });
      metrics?.evictionBlocked();
      events.record(
        reference,
        'Warning',
        'EvictionBlocked',
        `Cannot evict pod although ${why}: ${result.reason}. Retrying in ${Math.round(backoffMs / 1000)}s.`,
      );
      logger.warn(
        { pod: `${namespace}/${name}`, node: node.node, reason: result.reason },
        'eviction blocked',
      );
    }
  }

  /**
   * Where Kubernetes also sees the node down (NotReady), nothing will finish the pods' termination; after
   * a while they are force-deleted and the driver's VolumeAttachments for the node removed, so that their
   * replacements can attach the volumes elsewhere.
   */
  private async forceDeleteIfNodeDown(
    nodeName: string,
    terminating: readonly { pod: Pod; sinceMs: number }[],
  ): Promise<void> {
    const node = this.options.nodes.get(nodeName);
    const ready = node?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    if (ready || terminating.length === 0) return;
    const { api, events, logger, metrics, config } = this.options;
    let deleted = 0;
    for (const { pod, sinceMs } of terminating) {
      if (Date.now() - sinceMs < config.forceDeleteAfterMs) continue;
      const namespace = pod.metadata?.namespace ?? 'default';
      const name = pod.metadata?.name ?? '';
      try {
        await api.delete(resources.pods, { namespace, name }, { gracePeriodSeconds: 0 });
        deleted++;
        metrics?.podForceDeleted();
        events.record(
          objectReference({ ...pod, apiVersion: 'v1', kind: 'Pod' }),
          'Warning',
          'StorageDriverOffline',
          `Force-deleting pod stuck terminating on node ${nodeName}, which is NotReady and whose storage driver failed`,
        );
        logger.warn(
          { pod: `${namespace}/${name}`, node: nodeName },
          'force-deleted pod stuck on a down node',
        );
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    if (deleted === 0) return;
    const attachments = await api.list<VolumeAttachment>(resources.volumeAttachments);
    for (const attachment of attachments.items) {
      if (attachment.spec.nodeName !== nodeName || attachment.spec.attacher !== this.options.attacher)
        continue;
      try {
        await api.delete(resources.volumeAttachments, { name: attachment.metadata?.name ?? '' });
        logger.info(
          { attachment: attachment.metadata?.name, node: nodeName },
          'removed VolumeAttachment of a down node',
        );
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
  }
}
