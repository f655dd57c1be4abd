import type { DriverNode } from './driver.js';
import type { Node } from '../wire/k8s-types.js';

/**
 * Where a node sits, as composite keys: a zone key includes its region and a rack key its zone, so "same
 * rack" means the same rack in the same zone and region. Empty means unknown (and every level above it too).
 */
export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly rack: string;
}

const regionLabels = ['topology.kubernetes.io/region', 'failure-domain.beta.kubernetes.io/region'];
const zoneLabels = ['topology.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/zone'];
export const defaultRackLabel = 'px/rack';

function firstLabel(node: Node | undefined, keys: readonly string[]): string {
  const labels = node?.metadata?.labels ?? {};
  for (const key of keys) {
    const value = labels[key];
    if (value) return value;
  }
  return '';
}

/**
 * The locality of a node from its Kubernetes labels (current, then legacy topology labels; the rack from
 * `rackLabel`, then `px/rack`), falling back to what the storage system reports for each level.
 */
export function localityOf(
  node: Node | undefined,
  driverNode: DriverNode | undefined,
  rackLabel: string,
): Locality {
  const region = firstLabel(node, regionLabels) || (driverNode?.region ?? '');
  const zone = firstLabel(node, zoneLabels) || (driverNode?.zone ?? '');
  const rack = firstLabel(node, [rackLabel, defaultRackLabel]) || (driverNode?.rack ?? '');
  // Stork's keys: a level below a known one is always prefixed by it, even when it is itself unknown, so
  // nodes with zone labels and no rack label share their zone's unnamed rack (`region-zone-`) and rank
  // as same-rack neighbours (50 points, not 25), as they do under Stork (see docs/extender.md).
  const zoneKey = region === '' ? zone : `${region}-${zone}`;
  const rackKey = zoneKey === '' ? rack : `${zoneKey}-${rack}`;
  return { region, zone: zoneKey, rack: rackKey };
}
