import type { DriverNode, VolumeDriver } from '../drivers/driver.js';
import type { Node, Pod } from '../drivers/k8s-types.js';
import { localityOf } from '../drivers/locality.js';
import { NodeMatcher } from '../drivers/node-match.js';
import { claimStorageClassName } from '../drivers/ownership.js';
import type { ClaimLookups } from '../drivers/pod-claims.js';
import {
  hyperconvergenceSummary,
  type HyperconvergenceReport,
  type PlacementClass,
  type PodPlacementReport,
} from '../drivers/scheduling-documents.js';
import type { DriverSnapshot } from '../drivers/snapshot.js';

export type Placement = PlacementClass;

/** A pod's placement: its node, its volumes' replica nodes, and the class (for metrics and storkctl). */
export type PodPlacement = PodPlacementReport;

/**
 * How well each running pod with driver volumes is placed: hyper-converged when its node holds a replica
 * of every one of its volumes; semi-hyper-converged when each volume has a replica at least in the same
 * rack or zone; otherwise not. Computed from caches when metrics are scraped, so it is always current.
 */
export function podPlacements(
  pods: readonly Pod[],
  nodes: { get(name: string): Node | undefined; list(): Node[] },
  snapshot: DriverSnapshot,
  driver: Pick<VolumeDriver, 'name' | 'ownsClaim' | 'volumeIdOf'>,
  claims: ClaimLookups,
  rackLabel: string,
): PodPlacement[] {
  const matcher = new NodeMatcher(snapshot.nodes);
  const kubeNodeOf = new Map<string, Node>();
  for (const node of nodes.list()) {
    const id = matcher.match(node)?.id;
    if (id && !kubeNodeOf.has(id)) kubeNodeOf.set(id, node);
  }
  const localityOfDriverNode = (d: DriverNode) => localityOf(kubeNodeOf.get(d.id), d, rackLabel);
  const result: PodPlacement[] = [];
  for (const pod of pods) {
    const nodeName = pod.spec?.nodeName;
    if (!nodeName || pod.status?.phase !== 'Running') continue;
    const podVolumes = driverVolumeIds(pod, driver, claims);
    if (podVolumes.length === 0) continue;
    const node = nodes.get(nodeName);
    const here = node ? matcher.match(node) : undefined;
    const local = node ? localityOf(node, here, rackLabel) : { region: '', zone: '', rack: '' };
    let allLocal = true;
    let allNear = true;
    const volumes = [];
    for (const { id, claim } of podVolumes) {
      const replicaIds = snapshot.volumesById.get(id)?.replicaNodeIds ?? [];
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
    });
  }
  return result;
}

function driverVolumeIds(
  pod: Pod,
  driver: Pick<VolumeDriver, 'name' | 'ownsClaim' | 'volumeIdOf'>,
  claims: ClaimLookups,
): { id: string; claim: string }[] {
  const namespace = pod.metadata?.namespace ?? 'default';
  const ids: { id: string; claim: string }[] = [];
  for (const volume of pod.spec?.volumes ?? []) {
    const claimName = volume.persistentVolumeClaim?.claimName;
    const claim = claimName ? claims.getClaim(namespace, claimName) : undefined;
    if (!claim?.spec?.volumeName) continue;
    const pv = claims.getVolume(claim.spec.volumeName);
    const className = claimStorageClassName(claim);
    if (!pv || !driver.ownsClaim(claim, pv, className ? claims.getStorageClass(className) : undefined))
      continue;
    const id = driver.volumeIdOf(pv);
    if (id && claimName) ids.push({ id, claim: claimName });
  }
  return ids;
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
    pods: [...pods],
  };
}
