import { bool, duration, nonNegativeInt, percent, port, positiveInt } from './flag-values.js';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { checkLeaderElectionTimings, clientGoTimings } from '../k8s/leader-election.js';
import { defaultHealthMonitorConfig } from '../controllers/health-monitor/config.js';
import { defaultRulesConfig } from '../controllers/rules/config.js';
import { TimeZone } from '../controllers/schedule/time-zone.js';
import { driverNames, parseDriverList } from '../drivers/registry.js';
import { defaultWebhookConfig } from '../webhook/webhook.js';
import { defaultConfig, type StorkConfig } from './config.js';
import {
  addServingFlags,
  excludedNamespacesFromFlags,
  servingConfigFromFlags,
  type ServingFlags,
} from './serving-flags.js';
import { errorText } from '../lib/errors.js';
import { hostPortPattern } from '../lib/host-port.js';

function driverList(value: string): string {
  try {
    return parseDriverList(value).join(',');
  } catch (error) {
    throw new InvalidArgumentError(errorText(error));
  }
}

function csiNameList(value: string): string[] {
  const names = value.split(',').map((n) => n.trim());
  for (const name of names) {
    // CSI driver names are DNS-1123 subdomains of at most 63 characters (CSIDriver validation).
    if (!/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/.test(name))
      throw new InvalidArgumentError(`--csi-driver-names: "${name.slice(0, 80)}" is not a CSI driver name`);
  }
  return names;
}

/**
 * The `stork` command line. Flag names follow Stork's where Stork has one (`--driver`, `--verbose`,
 * `--extender`...); booleans accept Go's `--flag=false` form as well as `--flag`.
 */
export function storkCommand(): Command {
  return (
    addServingFlags(new Command('stork'))
      .description('Storage orchestration for Kubernetes: scheduler extender, health monitor, snapshots.')
      .addOption(
        new Option(
          '-d, --driver <names>',
          `storage driver(s), comma-separated, each claim served by the one that owns it (${driverNames.join(', ')}; e.g. pxd,csi)`,
        )
          .argParser(driverList)
          .makeOptionMandatory(),
      )
      .option(
        '--driver-endpoint <host:port>',
        "the storage system's OpenStorage SDK endpoint (gRPC); required by the pxd driver",
      )
      .option(
        '--driver-rest-endpoint <host:port>',
        "pxd: the storage system's REST volume API (Portworx: port 9001), for group snapshots cut by the storage system in one call; without it, a group's claims are snapshotted one by one while its pre rule holds",
      )
      .option(
        '--csi-driver-names <names>',
        'CSI driver names the csi driver serves, comma-separated (default: every CSIDriver in the cluster)',
        csiNameList,
        [],
      )
      .option('--driver-token-file <path>', 'file holding a bearer token for the storage system')
      .option(
        '--driver-refresh-interval <seconds>',
        'how often storage nodes are re-read into the cache (a node status change is seen this soon)',
        positiveInt('--driver-refresh-interval'),
        defaultConfig.driverRefreshIntervalMs / 1000,
      )
      .option(
        '--driver-volume-refresh-interval <seconds>',
        'how often every storage volume is re-read into the cache (a volume a new PersistentVolume names, or a pod needs, that the cache lacks is read at once); listing 10,000 volumes costs about 0.1 s of CPU',
        positiveInt('--driver-volume-refresh-interval'),
        defaultConfig.driverVolumeRefreshIntervalMs / 1000,
      )
      .option(
        '--driver-stale-after <seconds>',
        'refuse to place pods on storage state older than this',
        positiveInt('--driver-stale-after'),
        defaultConfig.driverStaleAfterMs / 1000,
      )
      .option(
        '--kubeconfig <path>',
        'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)',
      )
      .option('--context <name>', 'kubeconfig context')
      .option('--extender [bool]', 'serve the scheduler extender', bool, defaultConfig.extender)
      .option('--extender-port <port>', 'port of the scheduler extender', port, defaultConfig.extenderPort)
      .option('--extender-address <ip>', 'address the extender listens on', defaultConfig.extenderHost)
      .option(
        '--k8s-api-qps <qps>',
        'client-side rate limit towards the API server',
        positiveInt('--k8s-api-qps'),
        defaultConfig.apiQps,
      )
      .option(
        '--k8s-api-burst <requests>',
        'burst allowed above --k8s-api-qps',
        positiveInt('--k8s-api-burst'),
        defaultConfig.apiBurst,
      )
      .option('--leader-elect [bool]', 'run leader-only controllers on one replica at a time', bool, true)
      .option('--lock-object-name <name>', 'name of the leader election Lease', 'stork')
      .option('--lock-object-namespace <namespace>', 'namespace of the leader election Lease', 'kube-system')
      // Leadership, API deadlines and shutdown (client-go's and kube-controller-manager's names and defaults).
      .option(
        '--leader-elect-lease-duration <duration>',
        'how long a Lease holds without renewal before another replica may take it',
        duration('--leader-elect-lease-duration'),
        clientGoTimings.leaseDurationMs,
      )
      .option(
        '--leader-elect-renew-deadline <duration>',
        'how long the leader keeps trying to renew before its term ends and leader-only work stops',
        duration('--leader-elect-renew-deadline'),
        clientGoTimings.renewDeadlineMs,
      )
      .option(
        '--leader-elect-retry-period <duration>',
        'how often replicas try to acquire or renew the Lease',
        duration('--leader-elect-retry-period'),
        clientGoTimings.retryPeriodMs,
      )
      .option(
        '--k8s-api-timeout <duration>',
        'deadline of every Kubernetes API request except watches',
        duration('--k8s-api-timeout'),
        defaultConfig.apiRequestTimeoutMs,
      )
      .option(
        '--shutdown-timeout <duration>',
        'on SIGTERM, everything (leader-only work, Lease release, server drain) stops within this; keep it below terminationGracePeriodSeconds',
        duration('--shutdown-timeout'),
        defaultConfig.shutdownTimeoutMs,
      )
      .option(
        '--shutdown-drain <duration>',
        'on SIGTERM, how long servers let in-flight requests finish before closing their connections',
        duration('--shutdown-drain'),
        defaultConfig.drainTimeoutMs,
      )
      .option('--health-monitor [bool]', 'move pods off nodes whose storage driver failed', bool, true)
      .option(
        '--snapshotter [bool]',
        'volume snapshots: install the snapshot CRDs, run the snapshot controller and the stork-snapshot provisioner',
        bool,
        defaultConfig.snapshotter,
      )
      .option(
        '--rule-command-timeout <seconds>',
        'how long one run of a pre/post-snapshot rule command may take',
        positiveInt('--rule-command-timeout'),
        defaultRulesConfig.commandTimeoutMs / 1000,
      )
      .option(
        '--rule-command-attempts <count>',
        'runs of a failing rule command per pod before the snapshot fails (Stork: 12)',
        positiveInt('--rule-command-attempts'),
        defaultRulesConfig.commandAttempts,
      )
      .option(
        '--rule-background-timeout <seconds>',
        'how long a background rule command has to reach ${WAIT_CMD} in every pod',
        positiveInt('--rule-background-timeout'),
        defaultRulesConfig.backgroundReadyTimeoutMs / 1000,
      )
      .option('--snapshot-schedules [bool]', 'run VolumeSnapshotSchedules (needs --snapshotter)', bool, true)
      .option(
        '--schedule-time-zone <zone>',
        'IANA time zone of the times of day in schedule policies (e.g. Europe/Berlin)',
        'UTC',
      )
      .option(
        '--health-monitor-interval <seconds>',
        'how often nodes whose storage may move pods are looked at again without an event (a safety net)',
        positiveInt('--health-monitor-interval'),
        defaultHealthMonitorConfig.intervalMs / 1000,
      )
      .option(
        '--health-monitor-grace <seconds>',
        'how long a node must stay Offline before its pods are moved, and the circuit breaker stays open after its cause is gone',
        nonNegativeInt('--health-monitor-grace'),
        defaultHealthMonitorConfig.graceMs / 1000,
      )
      .option(
        '--health-monitor-batch-size <pods>',
        'pods evicted at most per batch interval, across all nodes',
        positiveInt('--health-monitor-batch-size'),
        defaultHealthMonitorConfig.batchSize,
      )
      .option(
        '--health-monitor-batch-interval <seconds>',
        'the batch interval',
        nonNegativeInt('--health-monitor-batch-interval'),
        defaultHealthMonitorConfig.batchIntervalMs / 1000,
      )
      .option(
        '--health-monitor-force-delete-after <seconds>',
        'on a NotReady node, force-delete a pod still terminating this long after its eviction',
        positiveInt('--health-monitor-force-delete-after'),
        defaultHealthMonitorConfig.forceDeleteAfterMs / 1000,
      )
      .option(
        '--health-monitor-max-unhealthy-nodes <nodes>',
        'evict nothing while more storage nodes than this are unhealthy at once (circuit breaker)',
        nonNegativeInt('--health-monitor-max-unhealthy-nodes'),
        defaultHealthMonitorConfig.maxUnhealthyNodes,
      )
      .option(
        '--health-monitor-max-unhealthy-percent <percent>',
        'evict nothing while more than this percentage of storage nodes are unhealthy at once (circuit breaker)',
        percent('--health-monitor-max-unhealthy-percent'),
        defaultHealthMonitorConfig.maxUnhealthyPercent,
      )
      .option(
        '--rack-label <label>',
        'Node label naming the rack (px/rack is always read too)',
        defaultConfig.rackLabel,
      )
      .option('--webhook-controller [bool]', 'run the admission webhook that sets schedulerName', bool, true)
      .option(
        '--webhook-port <port>',
        'port of the admission webhook (HTTPS; the Service maps 443 to it)',
        port,
        defaultWebhookConfig.port,
      )
      .option('--webhook-address <ip>', 'address the webhook listens on', defaultWebhookConfig.host)
      .option(
        '--webhook-skip-resources-annotation <key>',
        'pods with this annotation set to "true" are left alone',
        defaultWebhookConfig.skipAnnotation,
      )
      .option(
        '--webhook-service-name <name>',
        'the Service in front of stork that the API server calls',
        defaultWebhookConfig.serviceName,
      )
      .option(
        '--webhook-namespace <namespace>',
        "namespace of that Service and of the certificate Secret (default: stork's own, else kube-system)",
      )
      .option(
        '--webhook-url <url>',
        'register this https URL instead of the Service (stork running outside the cluster)',
      )
      .option(
        '--webhook-cert-sans <names>',
        'more names (DNS or IP, comma-separated) for the serving certificate',
        (value: string) =>
          value
            .split(',')
            .map((n) => n.trim())
            .filter((n) => n !== ''),
        [] as string[],
      )
      .option(
        '--webhook-cert-validity <seconds>',
        'validity of the serving certificate; renewed when a third remains',
        positiveInt('--webhook-cert-validity'),
        defaultWebhookConfig.certValidityMs / 1000,
      )
      .option(
        '--webhook-ca-validity <seconds>',
        "validity of the webhook's CA; must exceed the serving certificate's",
        positiveInt('--webhook-ca-validity'),
        defaultWebhookConfig.caValidityMs / 1000,
      )
      .option(
        '--webhook-cert-check-interval <seconds>',
        'how often the certificate Secret and the registration are checked',
        positiveInt('--webhook-cert-check-interval'),
        defaultWebhookConfig.certCheckIntervalMs / 1000,
      )
      .option(
        '--webhook-timeout <seconds>',
        "the API server's timeout for a webhook call (1-30)",
        positiveInt('--webhook-timeout'),
        defaultWebhookConfig.timeoutSeconds,
      )
      .option(
        '--scheduler-name <name>',
        'the scheduler the webhook gives pods',
        defaultWebhookConfig.schedulerName,
      )
      .option(
        '--record-decisions [bool]',
        "record each pod's last scheduling decision as a SchedulingDecision beside it (for storkctl explain)",
        bool,
        defaultConfig.recordDecisions,
      )
      .option('--verbose [bool]', 'debug logging', bool, false)
  );
}

/** The namespace stork runs in (its service account's), else kube-system. */
function ownNamespace(): string {
  try {
    const ns = readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
    if (ns !== '') return ns;
  } catch {
    // Not in a pod.
  }
  return 'kube-system';
}

interface ParsedFlags extends ServingFlags {
  driver: string;
  driverEndpoint?: string;
  driverRestEndpoint?: string;
  csiDriverNames: string[];
  driverTokenFile?: string;
  driverRefreshInterval: number;
  driverVolumeRefreshInterval: number;
  driverStaleAfter: number;
  kubeconfig?: string;
  context?: string;
  extender: boolean;
  extenderPort: number;
  extenderAddress: string;
  rackLabel: string;
  healthMonitor: boolean;
  snapshotter: boolean;
  ruleCommandTimeout: number;
  ruleCommandAttempts: number;
  ruleBackgroundTimeout: number;
  snapshotSchedules: boolean;
  scheduleTimeZone: string;
  leaderElect: boolean;
  k8sApiQps: number;
  k8sApiBurst: number;
  lockObjectName: string;
  lockObjectNamespace: string;
  leaderElectLeaseDuration: number;
  leaderElectRenewDeadline: number;
  leaderElectRetryPeriod: number;
  k8sApiTimeout: number;
  shutdownTimeout: number;
  shutdownDrain: number;
  healthMonitorInterval: number;
  healthMonitorGrace: number;
  healthMonitorBatchSize: number;
  healthMonitorBatchInterval: number;
  healthMonitorForceDeleteAfter: number;
  healthMonitorMaxUnhealthyNodes: number;
  healthMonitorMaxUnhealthyPercent: number;
  webhookController: boolean;
  webhookPort: number;
  webhookAddress: string;
  webhookSkipResourcesAnnotation: string;
  webhookServiceName: string;
  webhookNamespace?: string;
  webhookUrl?: string;
  webhookCertSans: string[];
  webhookCertValidity: number;
  webhookCaValidity: number;
  webhookCertCheckInterval: number;
  webhookTimeout: number;
  schedulerName: string;
  verbose: boolean;
  recordDecisions: boolean;
}

function checkWebhookFlags(flags: ParsedFlags): void {
  if (flags.webhookUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(flags.webhookUrl);
    } catch {
      throw new InvalidArgumentError(`--webhook-url is not a URL: "${flags.webhookUrl}"`);
    }
    if (url.protocol !== 'https:') throw new InvalidArgumentError('--webhook-url must be https://');
    if (url.username || url.password || url.search || url.hash)
      throw new InvalidArgumentError('--webhook-url must not carry credentials, a query or a fragment');
  }
  if (flags.webhookTimeout > 30) throw new InvalidArgumentError('--webhook-timeout must be 1-30 seconds');
  // Renewal happens once a third of the validity remains, at one of the checks: they must come often enough.
  if (flags.webhookCertCheckInterval * 3 > flags.webhookCertValidity) {
    throw new InvalidArgumentError(
      `--webhook-cert-check-interval (${flags.webhookCertCheckInterval}s) must be at most a third of --webhook-cert-validity (${flags.webhookCertValidity}s)`,
    );
  }
  if (flags.webhookCaValidity <= flags.webhookCertValidity)
    throw new InvalidArgumentError('--webhook-ca-validity must be longer than --webhook-cert-validity');
}

/** Turns parsed flags into a configuration; cross-flag rules are checked here. */
export function configFromFlags(flags: ParsedFlags, token: string | undefined): StorkConfig {
  if (flags.driverStaleAfter <= flags.driverRefreshInterval) {
    throw new InvalidArgumentError(
      `--driver-stale-after (${flags.driverStaleAfter}s) must be longer than --driver-refresh-interval (${flags.driverRefreshInterval}s)`,
    );
  }
  if (flags.webhookController) checkWebhookFlags(flags);
  const drivers = flags.driver.split(',');
  if (drivers.includes('pxd') && !flags.driverEndpoint)
    throw new InvalidArgumentError('--driver-endpoint is required by the pxd driver');
  if (flags.driverRestEndpoint !== undefined) {
    if (!drivers.includes('pxd'))
      throw new InvalidArgumentError('--driver-rest-endpoint needs the pxd driver in --driver');
    if (!hostPortPattern.test(flags.driverRestEndpoint))
      throw new InvalidArgumentError(
        `--driver-rest-endpoint: expected host:port, got "${flags.driverRestEndpoint.slice(0, 100)}"`,
      );
  }
  if (flags.csiDriverNames.length > 0 && !drivers.includes('csi'))
    throw new InvalidArgumentError('--csi-driver-names needs the csi driver in --driver');
  if (flags.leaderElect) {
    try {
      checkLeaderElectionTimings({
        leaseDurationMs: flags.leaderElectLeaseDuration,
        renewDeadlineMs: flags.leaderElectRenewDeadline,
        retryPeriodMs: flags.leaderElectRetryPeriod,
      });
    } catch (error) {
      throw new InvalidArgumentError(`--leader-elect-*: ${errorText(error)}`);
    }
  }
  try {
    new TimeZone(flags.scheduleTimeZone);
  } catch (error) {
    throw new InvalidArgumentError(`--schedule-time-zone: ${errorText(error)}`);
  }
  return {
    ...defaultConfig,
    driver: flags.driver,
    driverEndpoint: flags.driverEndpoint ?? '',
    ...(flags.driverRestEndpoint !== undefined ? { driverRestEndpoint: flags.driverRestEndpoint } : {}),
    csiDriverNames: flags.csiDriverNames,
    ...(token ? { driverToken: token } : {}),
    driverRefreshIntervalMs: flags.driverRefreshInterval * 1000,
    driverVolumeRefreshIntervalMs: flags.driverVolumeRefreshInterval * 1000,
    driverStaleAfterMs: flags.driverStaleAfter * 1000,
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
    ...(flags.context ? { context: flags.context } : {}),
    extender: flags.extender,
    extenderPort: flags.extenderPort,
    extenderHost: flags.extenderAddress,
    extenderServing: servingConfigFromFlags(flags, flags.webhookNamespace ?? ownNamespace()),
    rackLabel: flags.rackLabel,
    healthMonitor: flags.healthMonitor,
    snapshotter: flags.snapshotter,
    snapshotSchedules: flags.snapshotSchedules,
    scheduleTimeZone: flags.scheduleTimeZone,
    rulesConfig: {
      commandTimeoutMs: flags.ruleCommandTimeout * 1000,
      commandAttempts: flags.ruleCommandAttempts,
      backgroundReadyTimeoutMs: flags.ruleBackgroundTimeout * 1000,
    },
    ...(flags.leaderElect
      ? {
          leaderElection: {
            namespace: flags.lockObjectNamespace,
            name: flags.lockObjectName,
            // Stork uses the hostname; the pid keeps two processes on one host apart.
            identity: `${hostname()}_${process.pid}`,
            leaseDurationMs: flags.leaderElectLeaseDuration,
            renewDeadlineMs: flags.leaderElectRenewDeadline,
            retryPeriodMs: flags.leaderElectRetryPeriod,
          },
        }
      : {}),
    healthMonitorConfig: {
      ...defaultHealthMonitorConfig,
      intervalMs: flags.healthMonitorInterval * 1000,
      graceMs: flags.healthMonitorGrace * 1000,
      batchSize: flags.healthMonitorBatchSize,
      batchIntervalMs: flags.healthMonitorBatchInterval * 1000,
      forceDeleteAfterMs: flags.healthMonitorForceDeleteAfter * 1000,
      maxUnhealthyNodes: flags.healthMonitorMaxUnhealthyNodes,
      maxUnhealthyPercent: flags.healthMonitorMaxUnhealthyPercent,
    },
    webhook: flags.webhookController,
    webhookConfig: {
      ...defaultWebhookConfig,
      port: flags.webhookPort,
      host: flags.webhookAddress,
      skipAnnotation: flags.webhookSkipResourcesAnnotation,
      serviceName: flags.webhookServiceName,
      namespace: flags.webhookNamespace ?? ownNamespace(),
      ...(flags.webhookUrl !== undefined ? { url: flags.webhookUrl } : {}),
      extraSans: flags.webhookCertSans,
      certValidityMs: flags.webhookCertValidity * 1000,
      caValidityMs: flags.webhookCaValidity * 1000,
      certCheckIntervalMs: flags.webhookCertCheckInterval * 1000,
      timeoutSeconds: flags.webhookTimeout,
      schedulerName: flags.schedulerName,
      excludedNamespaces: excludedNamespacesFromFlags(flags, flags.webhookNamespace ?? ownNamespace()),
    },
    apiQps: flags.k8sApiQps,
    apiBurst: flags.k8sApiBurst,
    apiRequestTimeoutMs: flags.k8sApiTimeout,
    shutdownTimeoutMs: flags.shutdownTimeout,
    drainTimeoutMs: Math.min(flags.shutdownDrain, flags.shutdownTimeout),
    verbose: flags.verbose,
    recordDecisions: flags.recordDecisions,
    identity: `${hostname()}_${process.pid}`,
    processMetrics: true,
  };
}

export type { ParsedFlags };
