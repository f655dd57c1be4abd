import { X509Certificate } from 'node:crypto';
import { hostname } from 'node:os';
import { HealthMonitor } from '../controllers/health-monitor/monitor.js';
import { podPlacements } from '../controllers/hyperconvergence.js';
import type {
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  StorageClass,
} from '../drivers/k8s-types.js';
import { DriverCache } from '../drivers/cache.js';
import type { VolumeDriver } from '../drivers/driver.js';
import { hyperconvergenceSummary, type HyperconvergenceReport } from '../drivers/scheduling-documents.js';
import { createDrivers, type DriverSet } from '../drivers/registry.js';
import { csiSupportFor } from '../drivers/csi/csi-support.js';
import { informerClusterState } from '../extender/informer-state.js';
import { DecisionRecorder } from '../extender/decision-recorder.js';
import { explainNow } from '../extender/explain.js';
import { ExtenderServer, type DecisionRecord } from '../extender/server.js';
import { KubeApi } from '../k8s/api.js';
import { EventRecorder, objectReference } from '../k8s/events.js';
import { Informer } from '../k8s/informer.js';
import { LeaderElector } from '../k8s/leader-election.js';
import { loadKubeConfig } from '../k8s/kubeconfig.js';
import { resources } from '../k8s/paths.js';
import type { Logger } from '../lib/log.js';
import { startWebhook, type RunningWebhook } from '../webhook/webhook.js';
import { superviseWebhook } from './webhook-supervisor.js';
import { ensureCrds } from '../k8s/crds/install.js';
import { createSnapshotRules } from '../controllers/rules/snapshot-rules.js';
import type { StorkConfig } from './config.js';
import { runSnapshotter } from './snapshotter.js';
import { createMetrics, type StorkMetrics } from './metrics.js';

/**
 * A controller that runs only on the leader: `run` starts it and resolves once it has stopped, which it
 * must do promptly after `signal` aborts (leadership lost, or stork stopping).
 */
interface LeaderController {
  readonly name: string;
  run(signal: AbortSignal): Promise<void>;
}

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** A running stork: what tests and the process entry point hold on to. */
export interface RunningStork {
  /** The extender's port (useful when configured as 0). */
  readonly extenderPort: number | undefined;
  /** The admission webhook's port, when it runs. */
  readonly webhookPort: number | undefined;
  /** Runs one webhook certificate/registration round now (rotation when due); tests use it. */
  reconcileWebhook(): Promise<void>;
  readonly driver: VolumeDriver;
  readonly cache: DriverCache;
  /** Every driver `--driver` names, and the csi driver's own cache when it is not the primary one. */
  readonly drivers: DriverSet;
  readonly csiCache: DriverCache | undefined;
  readonly metrics: StorkMetrics;
  /** Whether this replica runs the leader-only controllers now. */
  isLeader(): boolean;
  /** Stops everything: servers first (finishing in-flight requests), then watches and timers. */
  stop(): Promise<void>;
}

/**
 * Starts stork's parts from a validated configuration: the driver and its cache, the informers, and the
 * scheduler extender. Every part started here is stopped by `stop()`.
 */
export async function startStork(config: StorkConfig, logger: Logger): Promise<RunningStork> {
  const kubeConfig = loadKubeConfig({ kubeconfig: config.kubeconfig, context: config.context });
  const api = new KubeApi(kubeConfig, { qps: config.apiQps, burst: config.apiBurst });
  const onError = (error: unknown, context: string): void => {
    logger.warn({ err: error instanceof Error ? error.message : String(error) }, context);
  };
  const informers = {
    nodes: new Informer<Node>({ api, type: resources.nodes, onError }),
    claims: new Informer<PersistentVolumeClaim>({ api, type: resources.persistentVolumeClaims, onError }),
    volumes: new Informer<PersistentVolume>({ api, type: resources.persistentVolumes, onError }),
    storageClasses: new Informer<StorageClass>({ api, type: resources.storageClasses, onError }),
  };
  // --driver may name several drivers (pxd,csi); see createDrivers for which part reads which.
  const csi = csiSupportFor({
    api,
    drivers: config.driver,
    csiDriverNames: config.csiDriverNames ?? [],
    ...informers,
    onError,
  });
  const drivers = createDrivers(
    config.driver,
    { endpoint: config.driverEndpoint, ...(config.driverToken ? { token: config.driverToken } : {}) },
    csi?.driverOptions,
  );
  const driver = drivers.primary;
  const cache = new DriverCache({ driver, refreshIntervalMs: config.driverRefreshIntervalMs, onError });
  const events = new EventRecorder({ api, component: 'stork', onError });
  const metrics = createMetrics({ processMetrics: config.processMetrics ?? false });
  const stoppers: (() => Promise<void>)[] = [];
  let isLeader = (): boolean => false;
  const stop = async (): Promise<void> => {
    for (const s of stoppers.reverse()) {
      try {
        await s();
      } catch (error) {
        onError(error, 'while stopping');
      }
    }
    stoppers.length = 0;
  };
  try {
    stoppers.push(async () => {
      for (const informer of Object.values(informers)) informer.stop();
      await Promise.all(Object.values(informers).map((i) => i.stopped()));
      await events.close();
      await drivers.driver.close();
      api.close();
    });
    await Promise.all(Object.values(informers).map((i) => i.start()));
    if (csi) {
      stoppers.push(() => csi.informers.stop());
      await csi.informers.start();
    }
    const pods = new Informer<Pod>({ api, type: resources.pods, onError });
    stoppers.push(async () => {
      pods.stop();
      await pods.stopped();
    });
    await pods.start();
    const claims = {
      getClaim: (namespace: string, name: string) => informers.claims.get(name, namespace),
      getVolume: (name: string) => informers.volumes.get(name),
      getStorageClass: (name: string) => informers.storageClasses.get(name),
    };
    // With pxd and csi both, the csi driver's volumes are read by a cache of their own (in memory only).
    const csiCache =
      drivers.csi && drivers.csi !== driver ? new DriverCache({ driver: drivers.csi, onError }) : undefined;
    if (csiCache) {
      stoppers.push(async () => {
        csiCache.stop();
        await csiCache.stopped();
      });
      await csiCache.start();
    }
    const placements = () => [
      ...podPlacements(pods.list(), informers.nodes, cache.snapshot(), driver, claims, config.rackLabel),
      ...(csiCache && drivers.csi
        ? podPlacements(
            pods.list(),
            informers.nodes,
            csiCache.snapshot(),
            drivers.csi,
            claims,
            config.rackLabel,
          )
        : []),
    ];
    metrics.placements = placements;
    const identity = config.identity ?? config.leaderElection?.identity ?? `${hostname()}_${process.pid}`;
    stoppers.push(async () => {
      cache.stop();
      await cache.stopped();
    });
    await cache.start();
    const snapshot = cache.snapshot();
    logger.info(
      {
        driver: driver.name,
        nodes: snapshot.nodes.length,
        volumes: snapshot.volumesById.size,
        error: snapshot.lastError,
      },
      'driver cache loaded',
    );

    // Leader-only controllers: each runs while this replica leads and stops the moment it does not.
    const leaderControllers: LeaderController[] = [];
    if (config.healthMonitor) {
      leaderControllers.push({
        name: 'health-monitor',
        run: async (signal) => {
          const monitor = new HealthMonitor({
            api,
            driver,
            cache,
            pods,
            nodes: informers.nodes,
            claims,
            events,
            logger: logger.child({ controller: 'health-monitor' }),
            metrics: metrics.healthMonitor,
            config: config.healthMonitorConfig,
            attacher: driver.csiDriverName,
          });
          monitor.start();
          logger.info({ ...config.healthMonitorConfig }, 'health monitor running');
          await untilAborted(signal);
          await monitor.stop();
          logger.info('health monitor stopped');
        },
      });
    }
    if (config.snapshotter) {
      // Every replica makes sure the CRDs exist (and are this version's) before anyone relies on them.
      await ensureCrds(api);
      leaderControllers.push({
        name: 'snapshotter',
        run: (signal) =>
          runSnapshotter(
            {
              api,
              driver,
              claims: informers.claims,
              volumes: informers.volumes,
              storageClasses: informers.storageClasses,
              events,
              logger,
              onError,
              workQueueMetrics: (name) => metrics.workQueue(name),
              // Stork's pre/post-snapshot Rules, unless a caller brings its own hooks.
              hooks:
                config.snapshotHooks ??
                createSnapshotRules({
                  api,
                  events,
                  logger: logger.child({ controller: 'rules' }),
                  ...(config.rulesConfig ? { config: config.rulesConfig } : {}),
                }),
            },
            signal,
          ),
      });
    }
    if (leaderControllers.length > 0) {
      const lead = async (signal: AbortSignal): Promise<void> => {
        await Promise.all(
          leaderControllers.map(async (c) => {
            try {
              await c.run(signal);
            } catch (error) {
              onError(error, `controller ${c.name} failed`);
            }
          }),
        );
      };
      if (config.leaderElection) {
        const elector = new LeaderElector({ ...config.leaderElection, api, onError });
        const campaign = elector.run(async (signal) => {
          logger.info({ identity: config.leaderElection?.identity }, 'became the leader');
          await lead(signal);
          logger.info('no longer the leader');
        });
        stoppers.push(async () => {
          elector.stop();
          await campaign;
        });
        isLeader = () => elector.isLeader;
      } else {
        const term = new AbortController();
        const running = lead(term.signal);
        stoppers.push(async () => {
          term.abort();
          await running;
        });
        isLeader = () => true;
      }
    }

    let extenderPort: number | undefined;
    if (config.extender) {
      const state = informerClusterState(
        informers,
        drivers.replicaDriver,
        cache,
        config.rackLabel,
        drivers.csiView,
      );
      const decisionOptions = { staleAfterMs: config.driverStaleAfterMs };
      let recorder: DecisionRecorder | undefined;
      if (config.recordDecisions) {
        const started = new DecisionRecorder({ api, replica: identity, logger });
        recorder = started;
        stoppers.push(() => started.stop());
      }
      const server = new ExtenderServer({
        state,
        decisionOptions,
        logger,
        requestVolumes: (ids) => {
          for (const id of ids) cache.requestVolume(id);
        },
        onDecision: (record) => {
          reportDecision(record, events, logger);
          recorder?.observe(record);
        },
        explain: (namespace, name) => {
          const pod = pods.get(name, namespace);
          return pod ? explainNow(pod, state(), decisionOptions, identity) : undefined;
        },
        hyperconvergence: (): HyperconvergenceReport => {
          const pods = placements();
          const summary = hyperconvergenceSummary(pods);
          return { time: new Date().toISOString(), replica: identity, summary, pods };
        },
        notReady: () => {
          const snapshot = cache.snapshot();
          if (snapshot.refreshedAt === undefined)
            return `storage state not loaded: ${snapshot.lastError ?? 'no answer yet'}`;
          const age = Date.now() - snapshot.refreshedAt;
          if (age > config.driverStaleAfterMs)
            return `storage state ${Math.round(age / 1000)}s old: ${snapshot.lastError ?? ''}`;
          return undefined;
        },
        metrics: async () => ({
          contentType: metrics.registry.contentType,
          body: await metrics.registry.metrics(),
        }),
        observe: (verb, status, seconds) =>
          metrics.extenderRequestSeconds.observe({ verb, code: String(status) }, seconds),
      });
      extenderPort = await server.listen(config.extenderPort, config.extenderHost);
      stoppers.push(() => server.close());
      logger.info({ port: extenderPort }, 'scheduler extender listening');
    }
    // The webhook runs on every replica (like the extender); see startWebhook for why its Secret and
    // registration are kept by every replica rather than the leader.
    let webhook: () => RunningWebhook | undefined = () => undefined;
    if (config.webhook) {
      const begin = (): Promise<RunningWebhook> =>
        startWebhook(config.webhookConfig, {
          api,
          driver: drivers.driver,
          lookups: claims,
          logger,
          observe: (status, seconds) =>
            metrics.webhookRequestSeconds.observe({ code: String(status) }, seconds),
          onOutcome: (o) =>
            metrics.webhookAdmissions.inc({ outcome: o.outcome, reason: 'reason' in o ? o.reason : '' }),
          onCertificates: (c) =>
            metrics.webhookCertificateExpiry.set(Date.parse(new X509Certificate(c.certPem).validTo) / 1000),
        });
      const supervisor = await superviseWebhook(begin, logger);
      webhook = () => supervisor.current();
      stoppers.push(() => supervisor.stop());
    }
    return {
      extenderPort,
      get webhookPort() {
        return webhook()?.port;
      },
      reconcileWebhook: () => webhook()?.reconcile() ?? Promise.resolve(),
      driver,
      cache,
      drivers,
      csiCache,
      metrics,
      stop,
      isLeader: () => isLeader(),
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Events users see on their pods for decisions that need their attention. */
function reportDecision(record: DecisionRecord, events: EventRecorder, logger: Logger): void {
  const pod = `${record.pod.metadata?.namespace ?? ''}/${record.pod.metadata?.name ?? ''}`;
  const debug = logger.isLevelEnabled('debug');
  if (record.verb === 'filter') {
    const { decision } = record;
    if (decision.error) logger.info({ pod, reason: decision.error }, 'filter: cannot place pod now');
    else if (debug) logger.debug({ pod, passed: decision.passed.length, failed: decision.failed }, 'filter');
    return;
  }
  const { decision } = record;
  // Built only when debug logging is on: this runs for every pod, over every node.
  if (debug) {
    const scored = decision.scores.filter((s) => s.score > 0).map((s) => [s.node, s.raw, s.score]);
    logger.debug({ pod, scored, neutral: decision.neutralReason }, 'prioritize');
  }
  if (decision.notHyperconverged.length > 0) {
    events.record(
      objectReference({ ...record.pod, kind: 'Pod', apiVersion: 'v1' }),
      'Warning',
      'NonOptimumScheduling',
      `Unable to schedule pod using volumes [${decision.notHyperconverged.join(', ')}] in a hyperconverged fashion: ` +
        'none of the nodes offered holds a replica. Check that the replica nodes have room for this pod.',
    );
  }
}
