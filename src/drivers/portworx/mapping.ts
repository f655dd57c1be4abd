// From OpenStorage SDK messages to the driver-neutral DriverNode / DriverVolume.
import type { DriverNode, DriverNodeStatus, DriverVolume } from '../driver.js';
import type { SdkStatus, StorageNode, StringMap } from './sdk-types.js';

/** What the mapping reads of a StorageNode (the list decoder reads only these). */
export type NodeFields = Pick<
  StorageNode,
  'id' | 'status' | 'mgmt_ip' | 'data_ip' | 'hostname' | 'scheduler_node_name' | 'scheduler_topology'
>;

/** What the mapping reads of a Volume (the list decoder reads only these); sizes as strings or numbers. */
export interface VolumeFields {
  readonly id: string;
  readonly source: { readonly parent: string } | null;
  readonly locator: { readonly name: string; readonly volume_labels: StringMap } | null;
  readonly spec: { readonly size: string | number } | null;
  readonly replica_sets: readonly { readonly nodes: readonly string[] }[];
}

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

// The mapping runs for every node and volume of every listing (2,000 nodes every 2 s, 10,000 volumes
// every 10 s at the scale benchmark's size), so it is written to allocate little: no intermediate sets,
// spreads or messages built for an error that is not thrown.

/** Management then data IP, each once, empty ones left out. */
function addresses(mgmtIp: string, dataIp: string): string[] {
  if (mgmtIp === '') return dataIp === '' ? [] : [dataIp];
  return dataIp === '' || dataIp === mgmtIp ? [mgmtIp] : [mgmtIp, dataIp];
}

/** The nodes of every replica set, each once, empty ones left out, in first-seen order. */
function replicaNodes(sets: readonly { readonly nodes: readonly string[] }[]): string[] {
  const ids: string[] = [];
  for (const set of sets) for (const id of set.nodes) if (id !== '' && !ids.includes(id)) ids.push(id);
  return ids;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function toDriverNode(node: NodeFields): DriverNode {
  if (!node.id) throw new Error(`storage node without an id (hostname "${node.hostname}")`);
  const topology = node.scheduler_topology?.labels;
  const mapped: Mutable<DriverNode> = {
    id: node.id,
    hostname: node.hostname.toLowerCase(),
    ips: addresses(node.mgmt_ip, node.data_ip),
    status: driverNodeStatus(node.status),
  };
  if (node.scheduler_node_name) mapped.schedulerNodeName = node.scheduler_node_name;
  if (topology) {
    const rack = firstLabel(topology, rackKeys);
    const zone = firstLabel(topology, zoneKeys);
    const region = firstLabel(topology, regionKeys);
    if (rack) mapped.rack = rack;
    if (zone) mapped.zone = zone;
    if (region) mapped.region = region;
  }
  return mapped;
}

function hasKeys(record: Readonly<Record<string, string>>): boolean {
  for (const _ in record) return true;
  return false;
}

/**
 * A uint64 carried as a decimal string (or already a number); bytes beyond 2^53 (8 PiB) lose precision,
 * which is harmless.
 */
function byteCount(value: string | number, what: () => string): number {
  const n = typeof value === 'number' ? value : Number(value || '0');
  if (!Number.isFinite(n) || n < 0) throw new Error(`invalid ${what()} "${value}": expected a byte count`);
  return n;
}

/**
 * A volume (or snapshot: the SDK models both as volumes). `fallback` is what an Inspect response carries
 * beside the volume (its name and labels), used when the volume's locator lacks them.
 */
export function toDriverVolume(
  volume: VolumeFields,
  fallback: { name?: string; labels?: Readonly<Record<string, string>> } = {},
): DriverVolume {
  if (!volume.id) throw new Error(`volume without an id (name "${volume.locator?.name ?? ''}")`);
  const labels = volume.locator?.volume_labels;
  const parentId = volume.source?.parent;
  const mapped: Mutable<DriverVolume> = {
    id: volume.id,
    name: volume.locator?.name || fallback.name || '',
    sizeBytes: byteCount(volume.spec?.size ?? 0, () => `size of volume ${volume.id}`),
    replicaNodeIds: replicaNodes(volume.replica_sets),
    labels: { ...(labels && hasKeys(labels) ? labels : (fallback.labels ?? {})) },
  };
  if (parentId) mapped.parentId = parentId;
  return mapped;
}
