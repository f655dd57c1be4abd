import type { Node, Pod, VolumeAttachment } from '../../wire/k8s-types.js';
import type { DriverCache } from '../../drivers/cache.js';
import type { VolumeDriver } from '../../drivers/driver.js';
import type { CsiDriver } from '../../drivers/csi/csi-driver.js';
import { csiHealthScope, type CsiHealthScope } from '../../drivers/csi/csi-health.js';
import type { ClaimLookups } from '../../drivers/pod-claims.js';
import { healthStatusConfigMap } from '../../drivers/health-status-document.js';
import type { KubeApi } from '../../k8s/api.js';
import { Informer } from '../../k8s/informer.js';
import { resources } from '../../k8s/paths.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import type { WorkQueueObserver } from '../../lib/work-queue.js';
import type { HealthMonitorConfig } from './config.js';
import { HealthMonitor, type HealthLane } from './monitor.js';
import type { EventSink, HealthMonitorMetrics } from './reconciler.js';
import { loggingErrorSink } from '../../lib/error-sink.js';

const byNodeName = 'spec.nodeName';

export interface HealthMonitorWiring {
  readonly api: KubeApi;
  readonly driver: VolumeDriver;
  readonly cache: DriverCache;
  readonly nodes: Informer<Node>;
  /** The shared pod informer; an index by `spec.nodeName` is added to it once. */
  readonly pods: Informer<Pod>;
  readonly claims: ClaimLookups;
  readonly events: EventSink;
  readonly logger: Logger;
  readonly metrics?: HealthMonitorMetrics | undefined;
  readonly queueObserver?: WorkQueueObserver | undefined;
  readonly config: HealthMonitorConfig;
  readonly staleAfterMs: number;
  /** Stork's namespace (the status ConfigMap's). */
  readonly namespace: string;
  readonly replica: string;
  readonly clock?: Clock;
  /**
   * The csi driver and its cache, when stork runs it (`driver` may be it, with `--driver=csi`): each
   * served CSI driver name is judged on its own, beside `driver`.
   */
  readonly csi?: { readonly driver: CsiDriver; readonly cache: DriverCache } | undefined;
}

/**
 * The storage systems the monitor judges: the primary driver (unless it is the csi driver), then each
 * CSI driver name served now. Each lane knows the csi driver's local volumes, so no lane evicts a pod
 * whose data is only on its node, whichever driver's volume that is.
 */
export function healthLanes(w: {
  readonly driver: HealthLane['driver'];
  readonly cache: HealthLane['storage'];
  readonly csi?:
    | {
        readonly driver: Pick<CsiDriver, 'inspectNode' | 'csiDriverOf' | 'isLocal' | 'served'>;
        readonly cache: HealthLane['storage'];
      }
    | undefined;
}): () => HealthLane[] {
  const { csi } = w;
  const scopes = new Map<string, CsiHealthScope>();
  const scope = (name: string, c: NonNullable<typeof csi>): CsiHealthScope => {
    let s = scopes.get(name);
    if (!s) {
      if (scopes.size > 1000) scopes.clear();
      s = csiHealthScope(c.driver, c.cache, name);
      scopes.set(name, s);
    }
    return s;
  };
  const local = csi
    ? { localToOneNode: (pv: Parameters<CsiDriver['isLocal']>[0]) => csi.driver.isLocal(pv) }
    : {};
  return () => [
    ...(csi?.driver === w.driver
      ? []
      : [{ name: w.driver.name, driver: w.driver, storage: w.cache, ...local }]),
    ...(csi ? csi.driver.served().map((name) => ({ name, ...scope(name, csi) })) : []),
  ];
}

const indexed = new WeakSet<Informer<Pod>>();

/**
 * The health monitor as stork runs it: `run(signal)` while this replica leads. Each run watches
 * VolumeAttachments (indexed by node) for as long as it lasts; the shared pod informer gets an index by
 * node once.
 */
export function createHealthMonitor(w: HealthMonitorWiring): { run(signal: AbortSignal): Promise<void> } {
  if (!indexed.has(w.pods)) {
    w.pods.addIndex(byNodeName, (pod) => (pod.spec?.nodeName ? [pod.spec.nodeName] : []));
    indexed.add(w.pods);
  }
  return {
    run: async (signal) => {
      const attachments = new Informer<VolumeAttachment>({
        api: w.api,
        type: resources.volumeAttachments,
        onError: loggingErrorSink(w.logger),
      });
      attachments.addIndex(byNodeName, (a) => (a.spec.nodeName ? [a.spec.nodeName] : []));
      try {
        await attachments.start(signal);
        const monitor = new HealthMonitor({
          client: w.api,
          clock: w.clock ?? systemClock,
          driver: w.driver,
          caches: {
            storage: w.cache,
            nodes: w.nodes,
            podsOnNode: (node) => w.pods.byIndex(byNodeName, node),
            attachmentsOnNode: (node) => attachments.byIndex(byNodeName, node),
            claims: w.claims,
          },
          sources: {
            storage: w.cache,
            nodes: w.nodes,
            pods: w.pods,
            ...(w.csi && w.csi.cache !== w.cache ? { otherStorage: [w.csi.cache] } : {}),
          },
          lanes: healthLanes(w),
          events: w.events,
          logger: w.logger,
          metrics: w.metrics,
          config: w.config,
          staleAfterMs: w.staleAfterMs,
          self: { apiVersion: 'v1', kind: 'ConfigMap', name: healthStatusConfigMap, namespace: w.namespace },
          namespace: w.namespace,
          replica: w.replica,
          ...(w.queueObserver ? { queueObserver: w.queueObserver } : {}),
        });
        await monitor.run(signal);
      } finally {
        attachments.stop();
        await attachments.stopped();
      }
    },
  };
}
