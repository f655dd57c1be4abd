import { describe, expect, it } from 'vitest';
import type { Node, PersistentVolume, PersistentVolumeClaim, StorageClass } from '../wire/k8s-types.js';
import { staticCsiView, type CsiView } from '../drivers/csi/csi-view.js';
import {
  capacity,
  claim,
  csiDriver,
  csiNode,
  localDriver,
  networkDriver,
  node,
  nodeKey,
  podWithClaims,
  storageClass,
  volume,
} from '../drivers/csi/testing-fixtures.js';
import { driverState } from '../drivers/driver-state.js';
import type { ClusterState } from './cluster-state.js';
import { filterNodes } from './filter.js';
import { prioritizeNodes } from './prioritize.js';

const options = { staleAfterMs: 30_000 };
const nodes = ['n1', 'n2', 'n3'].map((n) => node(n));

function state(spec: {
  claims: PersistentVolumeClaim[];
  pvs?: PersistentVolume[];
  csi?: CsiView;
  pxdReplicaOn?: string;
}): ClusterState {
  const classes = new Map<string, StorageClass>([
    ['local', storageClass('local', localDriver, true)],
    ['network', storageClass('network', networkDriver, false)],
    ['px', storageClass('px', 'pxd.portworx.com', false)],
  ]);
  const claims = new Map(spec.claims.map((c) => [c.metadata?.name ?? '', c]));
  const pvs = new Map((spec.pvs ?? []).map((p) => [p.metadata?.name ?? '', p]));
  const byName = new Map(nodes.map((n) => [n.metadata?.name ?? '', n]));
  const driverNodes = nodes.map((n) => ({
    id: `px-${n.metadata?.name ?? ''}`,
    hostname: n.metadata?.name ?? '',
    ips: [],
    status: 'Online' as const,
  }));
  return {
    driver: {
      name: 'pxd',
      volumeIdOf: (pv) =>
        pv.spec?.csi?.driver === 'pxd.portworx.com' ? pv.spec.csi.volumeHandle : undefined,
      ownsClaim: (pvc, pv, sc) =>
        pv ? pv.spec?.csi?.driver === 'pxd.portworx.com' : sc?.provisioner === 'pxd.portworx.com',
    },
    snapshot: driverState(
      driverNodes,
      spec.pxdReplicaOn
        ? [
            {
              id: 'handle-pxv',
              name: 'pxv',
              sizeBytes: 1,
              replicaNodeIds: [`px-${spec.pxdReplicaOn}`],
              labels: {},
            },
          ]
        : [],
      Date.now(),
      1,
    ),
    getClaim: (name, namespace) => (namespace === 'ns' ? claims.get(name) : undefined),
    getVolume: (name) => pvs.get(name),
    getStorageClass: (name) => classes.get(name),
    getNode: (name) => byName.get(name),
    listNodes: (): readonly Node[] => nodes,
    nodesVersion: 1,
    rackLabel: 'px/rack',
    ...(spec.csi ? { csi: spec.csi } : {}),
  };
}

const view = staticCsiView({
  drivers: [csiDriver(localDriver, true), csiDriver(networkDriver, false)],
  nodes: [
    csiNode('n1', [localDriver, networkDriver]),
    csiNode('n2', [localDriver, networkDriver]),
    csiNode('n3', [networkDriver]),
  ],
  capacities: [
    capacity('local', 'n1', '10Gi'),
    capacity('local', 'n2', '4Gi'),
    capacity('local', 'n3', '99Gi'),
  ],
});

describe('the csi driver in filter and prioritize', () => {
  it('drops nodes without the node plugin or without capacity, each with its reason', () => {
    const s = state({ claims: [claim('data', 'local', '5Gi')], csi: view });
    const decision = filterNodes(podWithClaims('data'), nodes, s, options);
    expect(decision.passed).toEqual(['n1']);
    expect(decision.failed.n2).toMatch(
      /not enough local capacity for claim ns\/data: 5Gi requested, at most 4Gi/,
    );
    expect(decision.failed.n3).toMatch(/CSI driver local\.csi\.example\.com is not registered on this node/);
  });

  it('prefers the node with the most room left for a WaitForFirstConsumer claim', () => {
    const s = state({ claims: [claim('data', 'local', '2Gi')], csi: view });
    const decision = prioritizeNodes(podWithClaims('data'), nodes.slice(0, 2), s, options);
    expect(decision.scores.map((x) => [x.node, x.raw, x.score])).toEqual([
      ['n1', 80, 10],
      ['n2', 50, 0],
    ]);
    expect(decision.neutralReason).toBeUndefined();
  });

  it('drops nodes outside a bound volume’s topology and prefers the one it is pinned to', () => {
    const pv = volume('pv1', localDriver, { [nodeKey]: ['n2'] });
    const s = state({ claims: [claim('data', 'local', '1Gi', 'pv1')], pvs: [pv], csi: view });
    const filtered = filterNodes(podWithClaims('data'), nodes, s, options);
    expect(filtered.passed).toEqual(['n2']);
    expect(filtered.failed.n1).toMatch(/outside the topology of volume pv1/);
  });

  it('a network volume passes wherever its node plugin runs, with no preference', () => {
    const pv = volume('pv2', networkDriver);
    const s = state({ claims: [claim('data', 'network', '1Gi', 'pv2')], pvs: [pv], csi: view });
    expect(filterNodes(podWithClaims('data'), nodes, s, options).passed).toEqual(['n1', 'n2', 'n3']);
    const p = prioritizeNodes(podWithClaims('data'), nodes, s, options);
    expect(p.scores.every((x) => x.score === 0)).toBe(true);
    expect(p.neutralReason).toMatch(/reachable from every node/);
  });

  it('pxd and csi claims in one pod: both drivers’ rules apply and the points add up', () => {
    const pxPv: PersistentVolume = {
      metadata: { name: 'pv-px' },
      spec: { csi: { driver: 'pxd.portworx.com', volumeHandle: 'handle-pxv' } },
    };
    const s = state({
      claims: [claim('px', 'px', '1Gi', 'pv-px'), claim('data', 'local', '2Gi')],
      pvs: [pxPv],
      csi: view,
      pxdReplicaOn: 'n2',
    });
    const pod = podWithClaims('px', 'data');
    const filtered = filterNodes(pod, nodes, s, options);
    expect(filtered.passed).toEqual(['n1', 'n2']);
    const p = prioritizeNodes(pod, nodes.slice(0, 2), s, options);
    // n1: 5 (pxd storage node near nothing) + 80 capacity; n2: 100 (replica) + 50 capacity.
    expect(p.scores.map((x) => [x.node, x.raw])).toEqual([
      ['n1', 85],
      ['n2', 150],
    ]);
    // What explain shows: each driver's parts, pxd's first.
    expect(p.scores.map((x) => x.parts.map((part) => `${part.tier} ${part.points}`))).toEqual([
      ['none 0', 'capacity 80'],
      ['replica 100', 'capacity 50'],
    ]);
  });

  it('leaves decisions for pods without csi claims exactly as they were', () => {
    const pxPv: PersistentVolume = {
      metadata: { name: 'pv-px' },
      spec: { csi: { driver: 'pxd.portworx.com', volumeHandle: 'handle-pxv' } },
    };
    const spec = { claims: [claim('px', 'px', '1Gi', 'pv-px')], pvs: [pxPv], pxdReplicaOn: 'n2' };
    const pod = podWithClaims('px');
    expect(filterNodes(pod, nodes, state({ ...spec, csi: view }), options)).toEqual(
      filterNodes(pod, nodes, state(spec), options),
    );
    expect(prioritizeNodes(pod, nodes, state({ ...spec, csi: view }), options)).toEqual(
      prioritizeNodes(pod, nodes, state(spec), options),
    );
  });

  it('refuses to decide before the CSI objects are loaded, and for a missing claim', () => {
    const unsynced: CsiView = { ...view, synced: false };
    const s = state({ claims: [claim('data', 'local', '1Gi')], csi: unsynced });
    expect(filterNodes(podWithClaims('data'), nodes, s, options).error).toMatch(/not loaded yet/);
    const missing = state({ claims: [], csi: view });
    expect(filterNodes(podWithClaims('gone'), nodes, missing, options).error).toMatch(
      /Unable to find PVC ns\/gone/,
    );
  });

  it('serves only the configured CSI driver names', () => {
    const onlyNetwork = staticCsiView({
      drivers: [csiDriver(localDriver, true), csiDriver(networkDriver, false)],
      nodes: [csiNode('n1', [])],
      served: [networkDriver],
    });
    const s = state({ claims: [claim('data', 'local', '500Gi')], csi: onlyNetwork });
    expect(filterNodes(podWithClaims('data'), nodes, s, options).passed).toEqual(['n1', 'n2', 'n3']);
  });
});
