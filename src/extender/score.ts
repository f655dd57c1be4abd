import type { DriverNode, DriverVolume } from '../drivers/driver.js';
import { servesData } from './indexes.js';
import type { Locality } from '../drivers/locality.js';

/** How close a node is to one volume's replicas. */
export type Tier = 'replica' | 'rack' | 'zone' | 'region' | 'none';

/** Stork's points per tier for one volume; a node's raw score is the sum over the pod's volumes. */
export const tierPoints: Readonly<Record<Tier, number>> = {
  replica: 100,
  rack: 50,
  zone: 25,
  region: 10,
  none: 0,
};
/** Raw score of a storage node that is near none of the replicas (Stork's default). */
export const defaultPoints = 5;
/** A StorageDown node holding a replica: its data is there but served over the network. */
export const storageDownReplicaPoints = 25;

/** The localities of a volume's replicas that serve data: what "near" is measured against. */
export interface ReplicaPlacement {
  readonly volume: DriverVolume;
  readonly nodeIds: ReadonlySet<string>;
  readonly racks: ReadonlySet<string>;
  readonly zones: ReadonlySet<string>;
  readonly regions: ReadonlySet<string>;
}

export function replicaPlacement(
  volume: DriverVolume,
  nodesById: ReadonlyMap<string, DriverNode>,
  localityOfNode: (node: DriverNode) => Locality,
): ReplicaPlacement {
  const racks = new Set<string>();
  const zones = new Set<string>();
  const regions = new Set<string>();
  for (const id of volume.replicaNodeIds) {
    // An Offline or Degraded replica does not make its neighbourhood attractive (as in Stork).
    const node = nodesById.get(id);
    if (!node || !servesData(node)) continue;
    const locality = localityOfNode(node);
    if (locality.rack) racks.add(locality.rack);
    if (locality.zone) zones.add(locality.zone);
    if (locality.region) regions.add(locality.region);
  }
  return { volume, nodeIds: new Set(volume.replicaNodeIds), racks, zones, regions };
}

/** The tier of a storage node for one volume. */
export function tierOf(driverNode: DriverNode, locality: Locality, placement: ReplicaPlacement): Tier {
  if (placement.nodeIds.has(driverNode.id)) return 'replica';
  if (locality.rack && placement.racks.has(locality.rack)) return 'rack';
  if (locality.zone && placement.zones.has(locality.zone)) return 'zone';
  if (locality.region && placement.regions.has(locality.region)) return 'region';
  return 'none';
}

/**
 * Points for a tier; a StorageDown node ranks lower: a replica there is worth 25, locality half, rounded
 * down to whole points per volume as Stork does (a zone is 12, not 12.5), so that sums over several
 * volumes order nodes exactly as Stork's do.
 */
export function pointsFor(tier: Tier, driverNode: DriverNode): number {
  if (driverNode.status !== 'StorageDown') return tierPoints[tier];
  return tier === 'replica' ? storageDownReplicaPoints : Math.trunc(tierPoints[tier] / 2);
}
