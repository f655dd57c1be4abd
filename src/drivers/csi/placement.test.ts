import { describe, expect, it } from 'vitest';
import { staticCsiView } from './csi-view.js';
import { csiFilterReason, csiScoreParts, type CsiPodPlacement } from './placement.js';
import {
  capacity,
  csiDriver,
  csiNode,
  localDriver,
  networkDriver,
  node,
  nodeKey,
  volume,
} from './testing-fixtures.js';

const view = staticCsiView({
  drivers: [csiDriver(localDriver, true), csiDriver(networkDriver, false)],
  nodes: [
    csiNode('n1', [localDriver, networkDriver]),
    csiNode('n2', [localDriver, networkDriver]),
    csiNode('n3', [networkDriver]),
    csiNode('n4', []),
  ],
  capacities: [
    capacity('local', 'n1', '10Gi'),
    capacity('local', 'n2', '3Gi'),
    capacity('local', 'n3', '100Gi'),
    capacity('capped', 'n1', '100Gi', '2Gi'),
  ],
});

const waiting = (className: string, gib: number, driver = localDriver): CsiPodPlacement => ({
  bound: [],
  waiting: [{ claim: 'ns/data', storageClass: className, driver, requestBytes: gib * 2 ** 30 }],
  drivers: [driver],
});

const bound = (pv: ReturnType<typeof volume>, driver: string): CsiPodPlacement => ({
  bound: [
    {
      claim: 'ns/data',
      pv: pv.metadata?.name ?? '',
      driver,
      volumeHandle: 'h',
      nodeAffinity: pv.spec?.nodeAffinity?.required,
    },
  ],
  waiting: [],
  drivers: [driver],
});

describe('csiFilterReason', () => {
  it.each([
    ['registered, capacity enough', 'n1', waiting('local', 5), undefined],
    [
      'registered, capacity too small',
      'n2',
      waiting('local', 5),
      /not enough local capacity.*5Gi requested, at most 3Gi/,
    ],
    ['capacity exactly the request', 'n2', waiting('local', 3), undefined],
    [
      'driver not in CSINode',
      'n3',
      waiting('local', 1),
      /CSI driver local\.csi\.example\.com is not registered on this node \(its CSINode lists only network/,
    ],
    ['CSINode lists no driver', 'n4', waiting('local', 1), /its CSINode lists no driver/],
    ['no CSINode at all', 'n9', waiting('local', 1), /the node has no CSINode/],
    [
      'no capacity object reaches the node',
      'n1',
      waiting('other', 1),
      /no CSIStorageCapacity of storage class other reaches this node/,
    ],
    ['maximumVolumeSize caps a large pool', 'n1', waiting('capped', 5), /at most 2Gi/],
    [
      'driver without capacity tracking ignores capacity',
      'n3',
      waiting('none', 500, networkDriver),
      undefined,
    ],
    [
      'bound volume pinned elsewhere',
      'n2',
      bound(volume('pv1', localDriver, { [nodeKey]: ['n1'] }), localDriver),
      /outside the topology of volume pv1 \(claim ns\/data\), which needs topology\.local\.csi\.example\.com\/node In \[n1\]/,
    ],
    [
      'bound volume pinned here',
      'n1',
      bound(volume('pv1', localDriver, { [nodeKey]: ['n1'] }), localDriver),
      undefined,
    ],
    ['network volume without affinity', 'n3', bound(volume('pv2', networkDriver), networkDriver), undefined],
  ])('%s', (_name, nodeName, pod, expected) => {
    const reason = csiFilterReason(node(nodeName), pod, view);
    if (expected === undefined) expect(reason).toBeUndefined();
    else expect(reason).toMatch(expected);
  });

  it('reads a CSINode whose drivers the API server sent as null (its last driver went away)', () => {
    const nulled = staticCsiView({
      drivers: [csiDriver(localDriver, true)],
      nodes: [{ metadata: { name: 'n1' }, spec: { drivers: null as unknown as [] } }],
    });
    expect(csiFilterReason(node('n1'), waiting('local', 1), nulled)).toMatch(/its CSINode lists no driver/);
  });

  it('checks registration before topology, so the reason names the missing plugin', () => {
    const pod = bound(volume('pv1', localDriver, { [nodeKey]: ['n1'] }), localDriver);
    expect(csiFilterReason(node('n3'), pod, view)).toMatch(/not registered/);
  });
});

describe('csiScoreParts', () => {
  it('scores a WaitForFirstConsumer claim by the room left: 100 × (1 − request / largest volume)', () => {
    const pod = waiting('local', 2);
    expect(csiScoreParts(node('n1'), pod, view, 'px/rack')).toEqual([
      { volume: 'ns/data', tier: 'capacity', points: 80 },
    ]);
    expect(csiScoreParts(node('n2'), pod, view, 'px/rack')).toEqual([
      { volume: 'ns/data', tier: 'capacity', points: 33 },
    ]);
  });

  it('gives no capacity points where the claim does not fit or the driver tracks no capacity', () => {
    expect(csiScoreParts(node('n2'), waiting('local', 5), view, 'px/rack')).toEqual([]);
    expect(csiScoreParts(node('n3'), waiting('none', 1, networkDriver), view, 'px/rack')).toEqual([]);
  });

  it.each([
    ['pinned by the driver topology key', { [nodeKey]: ['n1'] }, 'replica', 100],
    ['pinned by hostname', { 'kubernetes.io/hostname': ['n1'] }, 'replica', 100],
    ['rack', { 'px/rack': ['r1'] }, 'rack', 50],
    ['zone', { 'topology.kubernetes.io/zone': ['z1'] }, 'zone', 25],
    ['region', { 'topology.kubernetes.io/region': ['eu'] }, 'region', 10],
  ] as const)('a bound volume with %s affinity scores its tier', (_name, affinity, tier, points) => {
    const n1 = node('n1', {
      'px/rack': 'r1',
      'topology.kubernetes.io/zone': 'z1',
      'topology.kubernetes.io/region': 'eu',
    });
    const pod = bound(volume('pv1', localDriver, affinity), localDriver);
    expect(csiScoreParts(n1, pod, view, 'px/rack')).toEqual([{ volume: 'pv1', tier, points }]);
  });

  it('a network volume expresses no preference', () => {
    expect(
      csiScoreParts(node('n1'), bound(volume('pv2', networkDriver), networkDriver), view, 'px/rack'),
    ).toEqual([]);
  });
});

describe('capacity answers kept per Node object and per list of objects', () => {
  it('a new CSIStorageCapacity list (an object changed) is read again; the same node object and list are not', () => {
    const n1 = node('n1');
    const objects = { drivers: [csiDriver(localDriver, true)], nodes: [csiNode('n1', [localDriver])] };
    let capacities = [capacity('local', 'n1', '3Gi')];
    const changing = { ...staticCsiView(objects), capacities: () => capacities };
    expect(csiFilterReason(n1, waiting('local', 5), changing)).toMatch(/at most 3Gi/);
    // The storage grew: a new list, as the informer view hands out after any change.
    capacities = [capacity('local', 'n1', '10Gi')];
    expect(csiFilterReason(n1, waiting('local', 5), changing)).toBeUndefined();
    // The same node object and list: the objects are read once, not once per request.
    let reads = 0;
    const counted = capacities.map((c) => ({
      ...c,
      get capacity() {
        reads += 1;
        return '10Gi';
      },
    }));
    const stable = { ...changing, capacities: () => counted };
    for (let i = 0; i < 5; i++) expect(csiFilterReason(n1, waiting('local', 5), stable)).toBeUndefined();
    expect(reads).toBe(1);
  });

  it('a new Node object (its labels changed) is matched again', () => {
    const objects = {
      drivers: [csiDriver(localDriver, true)],
      nodes: [csiNode('n1', [localDriver])],
      capacities: [capacity('local', 'n1', '10Gi')],
    };
    const v = staticCsiView(objects);
    expect(csiFilterReason(node('n1'), waiting('local', 5), v)).toBeUndefined();
    // Relabelled so that the n1 capacity's topology no longer matches it.
    const moved = node('n1', { [nodeKey]: 'elsewhere' });
    expect(csiFilterReason(moved, waiting('local', 5), v)).toMatch(/no CSIStorageCapacity/);
  });
});
