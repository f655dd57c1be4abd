import { X509Certificate } from 'node:crypto';
import { hostname } from 'node:os';
import { createHealthMonitor } from '../controllers/health-monitor/create.js';
import { hyperconvergenceReport, podPlacements } from '../extender/placement-report.js';
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod, StorageClass } from '../wire/k8s-types.js';
import { DriverCache } from '../drivers/cache.js';
import type { VolumeDriver } from '../drivers/driver.js';
import { createDrivers, type DriverSet } from '../drivers/registry.js';
import { createDriverCaches } from './driver-caches.js';
import { announceNewVolumes } from './new-volumes.js';
import { csiSupportFor } from '../drivers/csi/csi-support.js';
import { informerClusterState } from '../extender/informer-state.js';
import { startIndexWarmer, type IndexWarmer } from '../extender/index-warmer.js';
import { DecisionRecorder } from '../extender/decision-recorder.js';
import { explainNow } from '../extender/explain.js';
import { reportDecision } from '../extender/decision-events.js';
import { notReadyReason } from '../extender/readiness.js';
import { startExtenderServing, type RunningExtenderServing } from '../extender/serving.js';
import { isCachedPod } from '../extender/trusted-pod.js';
import { UnconfirmedDecisions } from '../extender/unconfirmed-decisions.js';
import type { DecisionRecord } from '../extender/server.js';
import { systemClock } from '../lib/clock.js';
import { KubeApi } from '../k8s/api.js';
import { EventRecorder } from '../k8s/events.js';
import { Informer } from '../k8s/informer.js';
import {
  nodeForStork,
  podForStork,
  sameNodeContent,
  withoutManagedFields,
} from '../k8s/informer-transforms.js';
import { LeaderElector } from '../k8s/leader-election.js';
import { loadKubeConfig } from '../k8s/kubeconfig.js';
import { resources } from '../k8s/paths.js';
import type { Logger } from '../lib/log.js';
import { startWebhook, type RunningWebhook } from '../webhook/webhook.js';
import { superviseWebhook } from './webhook-supervisor.js';
import { ensureCrds, storkCrds } from '../k8s/crds/install.js';
import { schedulingDecisionCrd } from '../k8s/crds/scheduling-decision.js';
import { SnapshotRules } from '../controllers/rules/snapshot-rules.js';
import { groupVolumeSnapshotSubject } from '../controllers/rules/rule-subject.js';
import type { StorkConfig } from './config.js';
import { runSnapshotter } from './snapshotter.js';
import { createMetrics, type StorkMetrics } from './metrics.js';
import { cleanupComponent, driverCacheComponent, informerComponent, serviceComponent } from './components.js';
import { Lifecycle } from './lifecycle.js';
import { snapshotSchedules } from '../controllers/schedule/component.js';
import { scheduleMetrics } from './schedule-metrics.js';
import { loggingErrorSink } from '../lib/error-sink.js';

/** A running stork: what tests and the process entry point hold on to. */
export interface RunningStork {
  /** The extender's port (useful when configured as 0). */
  readonly extenderPort: number | undefined;
  /** The authenticated port of /metrics, /explain and /hyperconvergence, when it runs. */
  readonly statusPort: number | undefined;
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
  /**
   * Stops everything within the shutdown budget: leader-only work first and the Lease released, then the
   * servers drain, then watches and timers.
   */
  stop(): Promise<void>;
}

/**
 * Starts stork from a validated configuration: builds its parts, hands them to the lifecycle (every-replica
 * parts started in order, each ready before the next; then the campaign for the leader-only parts) and
 * resolves once every every-replica part serves. Only wiring lives here.
 */
export async function startStork(
  config: StorkConfig,
  logger: Logger,
  options: StartOptions = {},
): Promise<RunningStork> {
  const kubeConfig = loadKubeConfig({ kubeconfig: config.kubeconfig, context: config.context });
  const api = new KubeApi(kubeConfig, {
    qps: config.apiQps,
    burst: config.apiBurst,
    requestTimeoutMs: config.apiRequestTimeoutMs,
  });
  // Every background part reports through this one sink, which keeps the stack.
  const onError = loggingErrorSink(logger);
  // Every cache drops what no reader uses (managedFields; most of a pod), as client-go's transforms do.
  const lean = { onError, transform: withoutManagedFields };
  const informers = {
    // A kubelet's status heartbeat changes nothing stork reads once nodeForStork has dropped it.
    nodes: new Informer<Node>({
      api,
      type: resources.nodes,
      onError,
      transform: nodeForStork,
      sameContent: sameNodeContent,
    }),
    claims: new Informer<PersistentVolumeClaim>({ api, type: resources.persistentVolumeClaims, ...lean }),
    volumes: new Informer<PersistentVolume>({ api, type: resources.persistentVolumes, ...lean }),
    storageClasses: new Informer<StorageClass>({ api, type: resources.storageClasses, ...lean }),
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
    {
      endpoint: config.driverEndpoint,
      ...(config.driverToken ? { token: config.driverToken } : {}),
      ...(config.driverRestEndpoint !== undefined ? { restEndpoint: config.driverRestEndpoint } : {}),
    },
    csi?.driverOptions,
  );
  const driver = drivers.primary;
  const { cache, csiCache } = createDriverCaches(drivers, {
    refreshIntervalMs: config.driverRefreshIntervalMs,
    volumeRefreshIntervalMs: config.driverVolumeRefreshIntervalMs,
    onError,
  });
  const pods = new Informer<Pod>({ api, type: resources.pods, onError, transform: podForStork });
  // The pod cache is the largest: only the extender (its pod check, explain, placement reports) and the
  // health monitor read it.
  const podsNeeded = config.extender || config.healthMonitor;
  const csiInformers = csi
    ? {
        csinodes: csi.informers.csiNodes,
        csidrivers: csi.informers.csiDrivers,
        csistoragecapacities: csi.informers.capacities,
      }
    : {};
  const allInformers = [
    ...Object.values(informers),
    ...(podsNeeded ? [pods] : []),
    ...Object.values(csiInformers),
  ];
  const events = new EventRecorder({ api, component: 'stork', onError });
  const claims = {
    getClaim: (name: string, namespace: string) => informers.claims.get(name, namespace),
    getVolume: (name: string) => informers.volumes.get(name),
    getStorageClass: (name: string) => informers.storageClasses.get(name),
  };
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
  const identity = config.identity ?? config.leaderElection?.identity ?? `${hostname()}_${process.pid}`;
  const elector = config.leaderElection
    ? new LeaderElector({
        ...config.leaderElection,
        api,
        onError,
        onTransition: (t) => logger.info({ identity, ...t }, `leader election: ${t.type}`),
      })
    : undefined;
  const metrics = createMetrics({
    processMetrics: config.processMetrics ?? false,
    placements,
    informers: () => allInformers.map((i) => i.status()),
    ...(config.leaderElection
      ? { leadership: { name: config.leaderElection.name, isLeader: () => elector?.isLeader ?? false } }
      : {}),
  });
  const lifecycle = new Lifecycle({ logger, elector, onFatal: options.onFatal ?? (() => undefined) });

  // Every replica, in start order (stopped in reverse: servers before the caches they read).
  lifecycle.add(
    cleanupComponent('api-client', async () => {
      await events.close();
      await drivers.driver.close();
      api.close();
    }),
  );
  for (const [name, informer] of Object.entries({
    ...informers,
    ...(podsNeeded ? { pods } : {}),
    ...csiInformers,
  })) {
    lifecycle.add(informerComponent(name, informer));
  }
  lifecycle.add(driverCacheComponent(cache));
  if (csiCache) lifecycle.add({ ...driverCacheComponent(csiCache), name: 'csi-driver-cache' });
  // A new PV's volume is read at once, not at the next listing of every volume.
  announceNewVolumes(informers.volumes, [
    { driver, cache },
    ...(csiCache && drivers.csi ? [{ driver: drivers.csi, cache: csiCache }] : []),
  ]);
  // Every replica makes sure the CRDs it writes exist (and are this version's) before anyone relies on them.
  const recording = config.extender && config.recordDecisions;
  if (config.snapshotter || recording) {
    const crds = config.snapshotter ? storkCrds : [schedulingDecisionCrd];
    lifecycle.add(
      serviceComponent(
        'crds',
        () => ensureCrds(api, crds),
        () => Promise.resolve(),
      ),
    );
  }

  // Leader-only: each runs for a leadership term with the term's signal, afresh every term.
  if (config.healthMonitor) {
    const monitor = createHealthMonitor({
      api,
      driver,
      cache,
      nodes: informers.nodes,
      pods,
      claims,
      events,
      logger: logger.child({ controller: 'health-monitor' }),
      metrics: metrics.healthMonitor,
      queueObserver: metrics.workQueue('health-monitor'),
      config: config.healthMonitorConfig,
      staleAfterMs: config.driverStaleAfterMs,
      namespace: config.leaderElection?.namespace ?? config.webhookConfig.namespace,
      replica: identity,
      csi: drivers.csi ? { driver: drivers.csi, cache: csiCache ?? cache } : undefined,
    });
    lifecycle.add({ name: 'health-monitor', scope: 'leader-only', run: (signal) => monitor.run(signal) });
  }
  if (config.snapshotter) {
    lifecycle.add({
      name: 'snapshotter',
      scope: 'leader-only',
      run: (signal) =>
        runSnapshotter(
          {
            api,
            // Every driver's snapshots (pxd's, and csi's through snapshot.storage.k8s.io), routed by volume.
            driver: drivers.driver,
            // A CSI snapshot holds its worker until the sidecars have cut it: more of them at once.
            ...(drivers.csi ? { snapshotConcurrency: 16 } : {}),
            ...(csi ? { csiGroupSnapshots: csi.groupSnapshots } : {}),
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
              new SnapshotRules({
                api,
                events,
                logger: logger.child({ controller: 'rules' }),
                ...(config.rulesConfig ? { config: config.rulesConfig } : {}),
              }),
            groupHooks:
              config.groupSnapshotHooks ??
              new SnapshotRules({
                api,
                events,
                logger: logger.child({ controller: 'group-rules' }),
                subject: groupVolumeSnapshotSubject,
                ...(config.rulesConfig ? { config: config.rulesConfig } : {}),
              }),
          },
          signal,
        ),
    });
    if (config.snapshotSchedules ?? true) {
      const { scheduleTimeZone: timeZone } = config;
      lifecycle.add({
        ...snapshotSchedules({
          client: api,
          events,
          logger,
          metrics: scheduleMetrics(metrics.registry),
          ...(timeZone ? { timeZone } : {}),
        }),
        scope: 'leader-only',
      });
    }
  }

  let extenderPort: number | undefined;
  let statusPort: number | undefined;
  if (config.extender) {
    const state = informerClusterState(
      informers,
      drivers.replicaDriver,
      cache,
      config.rackLabel,
      drivers.csiView,
    );
    // Per-node facts are computed when the storage state changes, not on the first request after it.
    let warmer: IndexWarmer | undefined;
    lifecycle.add(
      serviceComponent(
        'index-warmer',
        () => {
          warmer = startIndexWarmer({ state, subscribe: (listener) => cache.subscribe(listener) });
          return Promise.resolve();
        },
        async () => warmer?.stop(),
      ),
    );
    const decisionOptions = { staleAfterMs: config.driverStaleAfterMs };
    const recorder = config.recordDecisions
      ? new DecisionRecorder({ api, replica: identity, logger })
      : undefined;
    if (recorder) lifecycle.add(cleanupComponent('decision-recorder', () => recorder.stop()));
    const deliverDecision = (record: DecisionRecord): void => {
      reportDecision(record, events, logger);
      recorder?.observe(record);
    };
    const unconfirmed = new UnconfirmedDecisions({ deliver: deliverDecision });
    // Handlers live as long as the pod informer, which stops with stork.
    pods.addHandlers({
      onAdd: (pod) => unconfirmed.podSeen(pod),
      onUpdate: (_previous, pod) => unconfirmed.podSeen(pod),
    });
    let serving: RunningExtenderServing | undefined;
    lifecycle.add(
      serviceComponent(
        'extender',
        async () => {
          serving = await startExtenderServing(
            config.extenderServing,
            config.extenderPort,
            config.extenderHost,
            {
              api,
              clock: systemClock,
              logger,
              extender: {
                state,
                decisionOptions,
                logger,
                requestVolumes: (ids) => {
                  for (const id of ids) cache.requestVolume(id);
                },
                onDecision: (record) => {
                  // Writes only for pods stork knows by UID: a forged body naming another pod changes nothing.
                  // A pod the cache has not seen yet waits for it (kube-scheduler is often faster).
                  if (!isCachedPod(record.pod, (namespace, name) => pods.get(name, namespace))) {
                    unconfirmed.hold(record);
                    return;
                  }
                  deliverDecision(record);
                },
                notReady: () =>
                  notReadyReason({
                    snapshot: cache.snapshot(),
                    staleAfterMs: config.driverStaleAfterMs,
                    informers: allInformers.map((i) => i.status()),
                    now: Date.now(),
                  }),
                observe: (verb, status, seconds) =>
                  metrics.extenderRequestSeconds.observe({ verb, code: String(status) }, seconds),
              },
              status: {
                explain: (namespace, name) => {
                  const pod = pods.get(name, namespace);
                  return pod ? explainNow(pod, state(), decisionOptions, identity) : undefined;
                },
                hyperconvergence: () => hyperconvergenceReport(placements(), identity, Date.now()),
                metrics: async () => ({
                  contentType: metrics.registry.contentType,
                  body: await metrics.registry.metrics(),
                }),
              },
            },
          );
          extenderPort = serving.extenderPort;
          statusPort = serving.statusPort;
        },
        async () => serving?.stop(config.drainTimeoutMs),
      ),
    );
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
    let supervisor: Awaited<ReturnType<typeof superviseWebhook>> | undefined;
    lifecycle.add(
      serviceComponent(
        'webhook',
        async () => {
          const started = await superviseWebhook(begin, logger);
          supervisor = started;
          webhook = () => started.current();
        },
        async () => supervisor?.stop(),
      ),
    );
  }

  try {
    await lifecycle.start();
  } catch (error) {
    await lifecycle.stop(config.shutdownTimeoutMs);
    throw error;
  }
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
  return {
    extenderPort,
    statusPort,
    get webhookPort() {
      return webhook()?.port;
    },
    reconcileWebhook: () => webhook()?.reconcile() ?? Promise.resolve(),
    driver,
    cache,
    drivers,
    csiCache,
    metrics,
    stop: () => lifecycle.stop(config.shutdownTimeoutMs),
    isLeader: () => lifecycle.isLeader(),
  };
}

export interface StartOptions {
  /** Called when stork cannot safely go on (e.g. leader-only work outlived its term); the process exits. */
  readonly onFatal?: (error: unknown) => void;
}
