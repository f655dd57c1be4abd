import type { DriverNode, DriverVolume } from './driver.js';

/**
 * What the driver cache knows at one moment: read by the extender on its request path, replaced as a
 * whole by the background refresh (never mutated), so a reader always sees one consistent state.
 */
export interface DriverState {
  readonly nodes: readonly DriverNode[];
  readonly nodesById: ReadonlyMap<string, DriverNode>;
  readonly volumesById: ReadonlyMap<string, DriverVolume>;
  /** When the last successful refresh finished (ms since epoch); undefined before the first. */
  readonly refreshedAt: number | undefined;
  /** The last refresh's failure, if the last refresh failed. */
  readonly lastError: string | undefined;
  /**
   * Increases with every new snapshot (every refresh, failed ones too). What is derived from the nodes or
   * volumes alone is keyed on their identity instead: unchanged nodes keep the same array and map,
   * unchanged volumes the same objects (and, when none changed, the same map).
   */
  readonly version: number;
  /**
   * The id of the storage node that served this view, when the driver can tell (the health monitor
   * distrusts a view served by a node that is itself unhealthy).
   */
  readonly servedBy?: string | undefined;
  /**
   * Volume ids someone asked for (see DriverCache.requestVolume) that a successful refresh listed
   * everything and did not find: known not to exist, rather than not loaded yet. Bounded.
   */
  readonly absentVolumeIds?: ReadonlySet<string>;
}

export function driverState(
  nodes: readonly DriverNode[],
  volumes: readonly DriverVolume[],
  refreshedAt: number | undefined,
  version: number,
  lastError?: string,
): DriverState {
  return {
    nodes,
    nodesById: new Map(nodes.map((n) => [n.id, n])),
    volumesById: new Map(volumes.map((v) => [v.id, v])),
    refreshedAt,
    lastError,
    version,
  };
}

export const emptyDriverState: DriverState = driverState([], [], undefined, 0);
