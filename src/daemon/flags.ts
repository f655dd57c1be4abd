import { hostname } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { clientGoTimings } from '../k8s/leader-election.js';
import { defaultHealthMonitorConfig } from '../controllers/health-monitor/config.js';
import { driverNames } from '../drivers/registry.js';
import { defaultConfig, type StorkConfig } from './config.js';

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0)
      throw new InvalidArgumentError(`${name} must be a positive whole number, got "${value}"`);
    return n;
  };
}

function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a whole number >= 0, got "${value}"`);
    return n;
  };
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`not a port: "${value}"`);
  return n;
}

function bool(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError(`expected true or false, got "${value}"`);
}

/**
 * The `stork` command line. Flag names follow Stork's where Stork has one (`--driver`, `--verbose`,
 * `--extender`...); booleans accept Go's `--flag=false` form as well as `--flag`.
 */
export function storkCommand(): Command {
  return new Command('stork')
    .description('Storage orchestration for Kubernetes: scheduler extender, health monitor, snapshots.')
    .addOption(
      new Option('-d, --driver <name>', 'storage driver').choices([...driverNames]).makeOptionMandatory(),
    )
    .requiredOption('--driver-endpoint <host:port>', "the storage system's OpenStorage SDK endpoint (gRPC)")
    .option('--driver-token-file <path>', 'file holding a bearer token for the storage system')
    .option(
      '--driver-refresh-interval <seconds>',
      'how often storage nodes and volumes are re-read into the cache',
      positiveInt('--driver-refresh-interval'),
      defaultConfig.driverRefreshIntervalMs / 1000,
    )
    .option(
      '--driver-stale-after <seconds>',
      'refuse to place pods on storage state older than this',
      positiveInt('--driver-stale-after'),
      defaultConfig.driverStaleAfterMs / 1000,
    )
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)')
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
    .option('--health-monitor [bool]', 'move pods off nodes whose storage driver failed', bool, true)
    .option(
      '--snapshotter [bool]',
      'volume snapshots: install the snapshot CRDs, run the snapshot controller and the stork-snapshot provisioner',
      bool,
      defaultConfig.snapshotter,
    )
    .option(
      '--health-monitor-interval <seconds>',
      'how often storage node health is checked (reads the driver cache)',
      positiveInt('--health-monitor-interval'),
      defaultHealthMonitorConfig.intervalMs / 1000,
    )
    .option(
      '--health-monitor-grace <seconds>',
      'how long a node must stay Offline/Degraded before its pods are moved',
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
      '--rack-label <label>',
      'Node label naming the rack (px/rack is always read too)',
      defaultConfig.rackLabel,
    )
    .option('--verbose [bool]', 'debug logging', bool, false);
}

interface ParsedFlags {
  driver: string;
  driverEndpoint: string;
  driverTokenFile?: string;
  driverRefreshInterval: number;
  driverStaleAfter: number;
  kubeconfig?: string;
  context?: string;
  extender: boolean;
  extenderPort: number;
  extenderAddress: string;
  rackLabel: string;
  healthMonitor: boolean;
  snapshotter: boolean;
  leaderElect: boolean;
  k8sApiQps: number;
  k8sApiBurst: number;
  lockObjectName: string;
  lockObjectNamespace: string;
  healthMonitorInterval: number;
  healthMonitorGrace: number;
  healthMonitorBatchSize: number;
  healthMonitorBatchInterval: number;
  healthMonitorForceDeleteAfter: number;
  verbose: boolean;
}

/** Turns parsed flags into a configuration; cross-flag rules are checked here. */
export function configFromFlags(flags: ParsedFlags, token: string | undefined): StorkConfig {
  if (flags.driverStaleAfter <= flags.driverRefreshInterval) {
    throw new InvalidArgumentError(
      `--driver-stale-after (${flags.driverStaleAfter}s) must be longer than --driver-refresh-interval (${flags.driverRefreshInterval}s)`,
    );
  }
  return {
    ...defaultConfig,
    driver: flags.driver,
    driverEndpoint: flags.driverEndpoint,
    ...(token ? { driverToken: token } : {}),
    driverRefreshIntervalMs: flags.driverRefreshInterval * 1000,
    driverStaleAfterMs: flags.driverStaleAfter * 1000,
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
    ...(flags.context ? { context: flags.context } : {}),
    extender: flags.extender,
    extenderPort: flags.extenderPort,
    extenderHost: flags.extenderAddress,
    rackLabel: flags.rackLabel,
    healthMonitor: flags.healthMonitor,
    snapshotter: flags.snapshotter,
    ...(flags.leaderElect
      ? {
          leaderElection: {
            namespace: flags.lockObjectNamespace,
            name: flags.lockObjectName,
            // Stork uses the hostname; the pid keeps two processes on one host apart.
            identity: `${hostname()}_${process.pid}`,
            ...clientGoTimings,
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
    },
    apiQps: flags.k8sApiQps,
    apiBurst: flags.k8sApiBurst,
    verbose: flags.verbose,
    processMetrics: true,
  };
}

export type { ParsedFlags };
