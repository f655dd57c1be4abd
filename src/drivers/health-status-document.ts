// The health monitor's published state: written by the leader into a ConfigMap, read by storkctl.

/** The ConfigMap (in stork's namespace) and key that hold the document. */
export const healthStatusConfigMap = 'stork-health-monitor';
export const healthStatusKey = 'status.json';

export interface HealthStatusNode {
  readonly name: string;
  /** The storage node's status, e.g. Offline. */
  readonly status: string;
  /** Since when it has had it (RFC 3339). */
  readonly since: string;
  /**
   * What the monitor does: `waiting` (within the grace period), `draining` (pods being moved), `held`
   * (due, but the circuit breaker is open), `never` (this status never moves pods).
   */
  readonly action: 'waiting' | 'draining' | 'held' | 'never';
  /** When the grace period ends (RFC 3339), for `waiting`. */
  readonly dueAt?: string;
}

export interface HealthStatusDocument {
  readonly time: string;
  readonly replica: string;
  readonly breaker: {
    readonly state: 'Closed' | 'Open' | 'Closing';
    readonly reason?: string;
    readonly message?: string;
    readonly openedAt?: string;
    readonly closesAt?: string;
  };
  readonly limits: {
    readonly maxUnhealthyNodes: number;
    readonly maxUnhealthyPercent: number;
    readonly graceSeconds: number;
  };
  readonly storageNodes: number;
  readonly unhealthyNodes: number;
  readonly quorumLost: boolean;
  readonly untrustworthy?: string;
  /** Nodes whose storage is not Online. */
  readonly nodes: readonly HealthStatusNode[];
  /** With several drivers (`--driver=pxd,csi`), each one's own state; the top level is the first's. */
  readonly drivers?: readonly HealthStatusDriver[];
}

/** One driver's state in the document (each CSI driver name is one). */
export interface HealthStatusDriver {
  readonly driver: string;
  readonly breaker: HealthStatusDocument['breaker'];
  readonly storageNodes: number;
  readonly unhealthyNodes: number;
  readonly nodes: readonly HealthStatusNode[];
}
