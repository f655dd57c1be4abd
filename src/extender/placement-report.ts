import type { DriverNode, VolumeDriver } from '../drivers/driver.js';
import type { Node, Pod } from '../wire/k8s-types.js';
import { localityOf } from '../drivers/locality.js';
import { kubeNodesByStorageId, matchNodes, nodeMatcherFor } from '../drivers/node-match.js';
import { boundDriverVolumes, type ClaimLookups } from '../drivers/pod-claims.js';
import {
  hyperconvergenceSummary,
  type HyperconvergenceReport,
  type PlacementClass,
  type PodPlacementReport,
} from '../wire/scheduling-documents.js';
import type { DriverState } from '../drivers/driver-state.js';

export type Placement = PlacementClass;

/** A pod's placement: its node, its volumes' replica nodes, and the class (for metrics and storkctl). */
export interface PodPlacement extends PodPlacementReport {
  /**
   * Stork's class, which its metrics carry: hyper-converged when the pod's storage node holds as many of
   * the pod's volumes' replicas as any node does; semi- when it holds some, but fewer; non- when none.
   */
  readonly storkPlacement: Placement;
  /** Whether the pod is Ready (Stork's metrics count only Ready pods). */
  readonly ready: boolean;
}

/** Stork's class: how many replicas the pod's storage node holds against the node that holds most. */
function storkPlacementOf(
  replicaIdsPerVolume: readonly (readonly string[])[],
  here: string | undefined,
): Placement {
  const held = new Map<string, number>();
  for (const ids of replicaIdsPerVolume) for (const id of ids) held.set(id, (held.get(id) ?? 0) + 1);
  const mine = here === undefined ? undefined : held.get(here);
  if (mine === undefined) return 'non-hyperconverged';
  return mine === Math.max(...held.values()) ? 'hyperconverged' : 'semi-hyperconverged';
}

/**
 * How well each running pod with driver volumes is placed (`storkctl get hyperconvergence`, and the
 * `stork_pod_placement` metric): hyper-converged when its node holds a replica of every one of its
 * volumes; semi-hyper-converged when each volume has a replica at least in the same rack or zone;
 * otherwise not. Stork's own classes, under Stork's metric names, are `storkPlacement`. Computed from
 * caches when metrics are scraped, so it is always current.
 */
export function podPlacements(
  pods: readonly Pod[],
  nodes: { get(name: string): Node | undefined; list(): Node[] },
  snapshot: DriverState,
  driver: Pick<VolumeDriver, 'name' | 'ownsClaim' | 'volumeIdOf'>,
  claims: ClaimLookups,
  rackLabel: string,
): PodPlacement[] {
  const matcher = nodeMatcherFor(snapshot.nodes);
  const kubeNodeOf = kubeNodesByStorageId(matchNodes(nodes.list(), (node) => matcher.match(node)));
  const localityOfDriverNode = (d: DriverNode) => localityOf(kubeNodeOf.get(d.id), d, rackLabel);
  const result: PodPlacement[] = [];
  for (const pod of pods) {
    const nodeName = pod.spec?.nodeName;
    if (!nodeName || pod.status?.phase !== 'Running') continue;
    const podVolumes = boundDriverVolumes(pod, driver, claims);
    if (podVolumes.length === 0) continue;
    const node = nodes.get(nodeName);
    const here = node ? matcher.match(node) : undefined;
    const local = node ? localityOf(node, here, rackLabel) : { region: '', zone: '', rack: '' };
    let allLocal = true;
    let allNear = true;
    const volumes = [];
    const replicaIdsPerVolume: (readonly string[])[] = [];
    for (const {
      volumeId: id,
      claim: { name: claim },
    } of podVolumes) {
      const replicaIds = snapshot.volumesById.get(id)?.replicaNodeIds ?? [];
      replicaIdsPerVolume.push(replicaIds);
      const replicas = replicaIds
        .map((r) => snapshot.nodesById.get(r))
        .filter((d): d is DriverNode => d !== undefined);
      volumes.push({
        claim,
        volume: id,
        replicaNodes: replicaIds.map((r) => kubeNodeOf.get(r)?.metadata?.name ?? r),
      });
      if (!here || !replicas.some((d) => d.id === here.id)) allLocal = false;
      const near = replicas.some((d) => {
        const l = localityOfDriverNode(d);
        return (
          d.id === here?.id ||
          (l.rack !== '' && l.rack === local.rack) ||
          (l.zone !== '' && l.zone === local.zone)
        );
      });
      if (!near) allNear = false;
    }
    result.push({
      namespace: pod.metadata?.namespace ?? '',
      pod: pod.metadata?.name ?? '',
      node: nodeName,
      volumes,
      placement: allLocal ? 'hyperconverged' : allNear ? 'semi-hyperconverged' : 'non-hyperconverged',
      storkPlacement: storkPlacementOf(replicaIdsPerVolume, here?.id),
      ready: (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    });
  }
  return result;
}

/** The `get hyperconvergence` document this replica serves: every placement now, and their summary. */
export function hyperconvergenceReport(
  pods: readonly PodPlacement[],
  replica: string,
  wallNow: number,
): HyperconvergenceReport {
  return {
    time: new Date(wallNow).toISOString(),
    replica,
    summary: hyperconvergenceSummary(pods),
    pods: pods.map(({ storkPlacement: _stork, ready: _ready, ...report }) => report),
  };
}
