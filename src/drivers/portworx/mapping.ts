// From OpenStorage SDK messages to the driver-neutral DriverNode / DriverVolume.
import type { DriverNode, DriverNodeStatus, DriverVolume } from '../driver.js';
import type { SdkStatus, StorageNode, Volume } from './sdk-types.js';

/**
 * How a node's SDK status reads to the scheduler and the health monitor. STORAGE_DOWN keeps its own
 * status (stork HEAD): the node's volumes stay reachable over the network, so pods may stay. Stork maps
 * INIT, NOT_IN_QUORUM, DECOMMISSION, MAINTENANCE and anything unknown to Offline, which its health monitor
 * acts on; here each keeps its own meaning, and only Offline (and Initializing past the grace period)
 * moves pods. A value newer than our proto arrives as a number and reads as Unknown: kept out of new
 * placements, never a reason to evict.
 */
const statusMap: Partial<Record<SdkStatus, DriverNodeStatus>> = {
  STATUS_OK: 'Online',
  STATUS_STORAGE_DOWN: 'StorageDown',
  STATUS_STORAGE_DEGRADED: 'Degraded',
  STATUS_STORAGE_REBALANCE: 'Degraded',
  STATUS_STORAGE_DRIVE_REPLACE: 'Degraded',
  STATUS_OFFLINE: 'Offline',
  STATUS_ERROR: 'Offline',
  STATUS_NEEDS_REBOOT: 'Offline',
  STATUS_INIT: 'Initializing',
  STATUS_MAINTENANCE: 'Maintenance',
  STATUS_POOLMAINTENANCE: 'Maintenance',
  STATUS_DECOMMISSION: 'Maintenance',
  STATUS_NOT_IN_QUORUM: 'NotInQuorum',
  STATUS_NOT_IN_QUORUM_NO_STORAGE: 'NotInQuorum',
};

export function driverNodeStatus(status: SdkStatus | number): DriverNodeStatus {
  return (typeof status === 'string' ? statusMap[status] : undefined) ?? 'Unknown';
}

/**
 * Topology label keys read from the node's scheduler topology, the same keys Kubernetes and Portworx
 * put on Node objects (Kubernetes node labels take precedence elsewhere; this is the fallback).
 */
const rackKeys = ['px/rack'];
const zoneKeys = ['topology.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/zone'];
const regionKeys = ['topology.kubernetes.io/region', 'failure-domain.beta.kubernetes.io/region'];

function firstLabel(labels: Readonly<Record<string, string>>, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = labels[key];
    if (value) return value;
  }
  return undefined;
}

/** Distinct non-empty strings, in first-seen order. */
function distinct(values: Iterable<string>): string[] {
  return [...new Set(values)].filter((v) => v !== '');
}

export function toDriverNode(node: StorageNode): DriverNode {
  if (!node.id) throw new Error(`storage node without an id (hostname "${node.hostname}")`);
  const topology = node.scheduler_topology?.labels ?? {};
  const rack = firstLabel(topology, rackKeys);
  const zone = firstLabel(topology, zoneKeys);
  const region = firstLabel(topology, regionKeys);
  return {
    id: node.id,
    hostname: node.hostname.toLowerCase(),
    ips: distinct([node.mgmt_ip, node.data_ip]),
    status: driverNodeStatus(node.status),
    ...(node.scheduler_node_name ? { schedulerNodeName: node.scheduler_node_name } : {}),
    ...(rack ? { rack } : {}),
    ...(zone ? { zone } : {}),
    ...(region ? { region } : {}),
  };
}

/** A uint64 carried as a decimal string; bytes beyond 2^53 (8 PiB) lose precision, which is harmless. */
function byteCount(value: string, what: string): number {
  const n = Number(value || '0');
  if (!Number.isFinite(n) || n < 0) throw new Error(`invalid ${what} "${value}": expected a byte count`);
  return n;
}

/**
 * A volume (or snapshot: the SDK models both as volumes). `fallback` is what an Inspect response carries
 * beside the volume (its name and labels), used when the volume's locator lacks them.
 */
export function toDriverVolume(
  volume: Volume,
  fallback: { name?: string; labels?: Readonly<Record<string, string>> } = {},
): DriverVolume {
  if (!volume.id) throw new Error(`volume without an id (name "${volume.locator?.name ?? ''}")`);
  const labels = volume.locator?.volume_labels ?? {};
  const parentId = volume.source?.parent;
  return {
    id: volume.id,
    name: volume.locator?.name || fallback.name || '',
    sizeBytes: byteCount(volume.spec?.size ?? '0', `size of volume ${volume.id}`),
    replicaNodeIds: distinct(volume.replica_sets.flatMap((set) => set.nodes)),
    labels: { ...(Object.keys(labels).length > 0 ? labels : (fallback.labels ?? {})) },
    ...(parentId ? { parentId } : {}),
  };
}
