// Where the storage simulator puts a new volume's replicas when the caller does not say: on the
// least-loaded online nodes, ties broken by node order, so the same requests always give the same layout
// (tests and demos can predict it).
import type { SdkStatus } from '../drivers/portworx/sdk-types.js';
import { SimulatorError } from './errors.js';

export interface PlacementNode {
  readonly id: string;
  readonly status: SdkStatus;
}

/**
 * `haLevel` distinct node ids, fewest replicas first (`load`: node id → replicas it holds). Only
 * STATUS_OK nodes take new replicas, as a real cluster would not place data on a node that is down.
 */
export function pickReplicaNodes(
  nodes: readonly PlacementNode[],
  load: ReadonlyMap<string, number>,
  haLevel: number,
): string[] {
  const online = nodes
    .map((node, index) => ({
      id: node.id,
      index,
      load: load.get(node.id) ?? 0,
      ok: node.status === 'STATUS_OK',
    }))
    .filter((n) => n.ok);
  if (online.length < haLevel) {
    throw new SimulatorError(
      'ResourceExhausted',
      `ha_level ${haLevel} needs ${haLevel} online nodes, but ${online.length} are online` +
        (online.length > 0 ? ` (${online.map((n) => n.id).join(', ')})` : ''),
    );
  }
  online.sort((a, b) => a.load - b.load || a.index - b.index);
  return online.slice(0, haLevel).map((n) => n.id);
}
