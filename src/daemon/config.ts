import type { RulesConfig } from '../controllers/rules/config.js';
import {
  defaultHealthMonitorConfig,
  type HealthMonitorConfig,
} from '../controllers/health-monitor/config.js';
import type { SnapshotHooks } from '../controllers/snapshot/hooks.js';
import { defaultRackLabel } from '../drivers/locality.js';
import type { LeaderElectionConfig } from '../k8s/leader-election.js';
import { defaultWebhookConfig, type WebhookConfig } from '../webhook/webhook.js';
import { defaultExtenderServingConfig, type ExtenderServingConfig } from '../extender/serving.js';

/** Stork's settings, validated: what the flags produce and what `startStork` takes. */
export interface StorkConfig {
  readonly driver: string;
  /** `host:port` of the storage system's SDK API. */
  readonly driverEndpoint: string;
  readonly driverToken?: string;
  /** `host:port` of the storage system's REST volume API (pxd: group snapshots in one call), if any. */
  readonly driverRestEndpoint?: string;
  readonly driverRefreshIntervalMs: number;
  /** How often the storage volumes are re-read (volumes a pod needs and the cache lacks: at once). */
  readonly driverVolumeRefreshIntervalMs: number;
  /** Decisions refuse a driver state older than this. */
  readonly driverStaleAfterMs: number;
  /** CSI driver names the csi driver serves; empty: every CSIDriver in the cluster. */
  readonly csiDriverNames?: readonly string[];
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly extender: boolean;
  readonly extenderPort: number;
  readonly extenderHost: string;
  /** Transport (mutual TLS or Stork's plain HTTP), bounds, certificates and the status port. */
  readonly extenderServing: ExtenderServingConfig;
  readonly rackLabel: string;
  readonly healthMonitor: boolean;
  /** Volume snapshots: the CRDs, the snapshot controller and the `stork-snapshot` provisioner. */
  readonly snapshotter: boolean;
  /** What runs around each driver snapshot; default: Stork's pre/post-snapshot Rules. */
  readonly snapshotHooks?: SnapshotHooks;
  /** The same for GroupVolumeSnapshots (their pre- and post-exec rules); SnapshotRules by default. */
  readonly groupSnapshotHooks?: SnapshotHooks;
  /** Timeouts and retries of rule commands (defaults in src/controllers/rules/config.ts). */
  readonly rulesConfig?: Partial<RulesConfig>;
  /** Snapshot schedules (VolumeSnapshotSchedule); default on, with the snapshotter. */
  readonly snapshotSchedules?: boolean;
  /** IANA time zone of schedule policies' times of day (default UTC). */
  readonly scheduleTimeZone?: string;
  /** Leader election for the leader-only controllers; undefined runs them unconditionally. */
  readonly leaderElection?: Omit<LeaderElectionConfig, 'api' | 'onError' | 'onTransition' | 'clock'>;
  readonly healthMonitorConfig: HealthMonitorConfig;
  /** The admission webhook that sets `schedulerName: stork` (Stork's `--webhook-controller`). */
  readonly webhook: boolean;
  readonly webhookConfig: WebhookConfig;
  /** Client-side rate limit towards the API server (Stork's `--k8s-api-qps` / `--k8s-api-burst`). */
  readonly apiQps: number;
  readonly apiBurst: number;
  /** Deadline of every API request but watches (`--k8s-api-timeout`). */
  readonly apiRequestTimeoutMs: number;
  /** The whole of shutdown (leader-only work, Lease release, server drain) fits in this (`--shutdown-timeout`). */
  readonly shutdownTimeoutMs: number;
  /** How long servers let in-flight requests finish on shutdown before cutting them (`--shutdown-drain`). */
  readonly drainTimeoutMs: number;
  readonly verbose: boolean;
  /** Write each pod's last scheduling decision onto the pod, for `storkctl explain`. */
  readonly recordDecisions: boolean;
  /** This replica's name in the documents it publishes (defaults to the leader election identity). */
  readonly identity?: string;
  /** Export the Node.js process metrics too (off in tests, where several storks share a process). */
  readonly processMetrics?: boolean;
}

export const defaultConfig: Omit<StorkConfig, 'driver' | 'driverEndpoint'> = {
  driverRefreshIntervalMs: 2000,
  driverVolumeRefreshIntervalMs: 10_000,
  driverStaleAfterMs: 30_000,
  extender: true,
  extenderPort: 8099,
  extenderHost: '0.0.0.0',
  extenderServing: defaultExtenderServingConfig,
  rackLabel: defaultRackLabel,
  healthMonitor: true,
  snapshotter: true,
  healthMonitorConfig: defaultHealthMonitorConfig,
  webhook: true,
  webhookConfig: { ...defaultWebhookConfig, namespace: 'kube-system' },
  apiQps: 1000,
  apiBurst: 2000,
  apiRequestTimeoutMs: 30_000,
  // Within the specs' terminationGracePeriodSeconds (30 s), with room for the process to exit.
  shutdownTimeoutMs: 25_000,
  drainTimeoutMs: 10_000,
  verbose: false,
  recordDecisions: true,
};
