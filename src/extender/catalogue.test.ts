// Stork's scenario catalogue (reference: stork-behavior.md, items 1–18), plus the cases where this
// implementation deliberately answers better than Stork (errors that name their cause).
import { describe, expect, it } from 'vitest';
import { schedulingFixture, type FixtureNode } from '../../test/fixtures/scheduling.js';
import { filterNodes } from './filter.js';
import { prioritizeNodes } from './prioritize.js';

const options = { staleAfterMs: 30_000 };
const raw = (decision: ReturnType<typeof prioritizeNodes>): number[] => decision.scores.map((s) => s.raw);
const five = (racks: string[], extra: Partial<FixtureNode> = {}): FixtureNode[] =>
  racks.map((rack, i) => ({ name: `node${i + 1}`, rack, ...extra }));

describe('scheduling catalogue', () => {
  it('1: a pod without driver volumes passes everywhere with no preference', () => {
    const f = schedulingFixture({
      nodes: five(['r1', 'r2', 'r3']),
      claims: [{ name: 'ebs', volume: 'ebs-1', storageClass: 'other' }],
    });
    for (const pod of [f.pod([]), f.pod(['ebs'])]) {
      expect(filterNodes(pod, f.nodes, f.state, options).passed).toEqual(['node1', 'node2', 'node3']);
      const p = prioritizeNodes(pod, f.nodes, f.state, options);
      expect(p.scores.map((s) => s.score)).toEqual([0, 0, 0]);
      expect(p.neutralReason).toMatch(/no pxd volumes/);
    }
  });

  it('2: a pending driver PVC is an error for both calls', () => {
    const f = schedulingFixture({ nodes: five(['r1', 'r2']), claims: [{ name: 'data' }] });
    expect(filterNodes(f.pod(['data']), f.nodes, f.state, options).error).toBe(
      'Waiting for PVC default/data to be bound',
    );
    expect(prioritizeNodes(f.pod(['data']), f.nodes, f.state, options).neutralReason).toMatch(
      /Waiting for PVC/,
    );
  });

  it('3: no candidate holds a replica: rack preference, and the pod is flagged not hyper-converged', () => {
    const f = schedulingFixture({
      nodes: five(['r1', 'r2', 'r1', 'r3', 'r4']),
      volumes: [{ id: 'v1', replicas: ['node1', 'node2'] }],
      claims: [{ name: 'data', volume: 'v1' }],
    });
    const request = f.select('node3', 'node4', 'node5');
    expect(filterNodes(f.pod(['data']), request, f.state, options).passed).toEqual([
      'node3',
      'node4',
      'node5',
    ]);
    const p = prioritizeNodes(f.pod(['data']), request, f.state, options);
    expect(raw(p)).toEqual([50, 5, 5]);
    expect(p.notHyperconverged).toEqual(['v1']);
    // As Stork's event: the nodes where room would have to be made.
    expect(p.replicaNodes).toEqual(['node1', 'node2']);
  });

  it('4: nodes without the storage driver are filtered out, each with a reason', () => {
    const f = schedulingFixture({
      nodes: [
        { name: 'node1' },
        { name: 'node2' },
        { name: 'node3' },
        { name: 'node4', driver: null },
        { name: 'node5', driver: null },
      ],
      volumes: [{ id: 'v1', replicas: ['node1'] }],
      claims: [{ name: 'data', volume: 'v1' }],
    });
    const d = filterNodes(f.pod(['data']), f.select('node4', 'node5'), f.state, options);
    expect(d.passed).toEqual([]);
    expect(d.failed).toEqual({
      node4: 'no pxd storage node runs on this node',
      node5: 'no pxd storage node runs on this node',
    });
  });

  const fiveRacks = ['r1', 'r2', 'r1', 'r2', 'r3'];

  it('5: hostnames with a domain match storage nodes by prefix; replica 100, rack 50, else 5', () => {
    const f = schedulingFixture({
      nodes: fiveRacks.map((rack, i) => ({
        name: `node${i + 1}`,
        hostname: `node${i + 1}.domain`,
        rack,
        driver: { hostname: `node${i + 1}` },
      })),
      volumes: [{ id: 'v1', replicas: ['node1', 'node2'] }],
      claims: [{ name: 'data', volume: 'v1' }],
    });
    const p = prioritizeNodes(f.pod(['data']), f.nodes, f.state, options);
    expect(raw(p)).toEqual([100, 100, 50, 50, 5]);
    expect(p.scores.map((s) => s.score)).toEqual([10, 10, 5, 5, 0]);
  });

  it('6: points add up over volumes', () => {
    const f = schedulingFixture({
      nodes: five(['r1', 'r2', 'r3', 'r1', 'r2']),
      volumes: [
        { id: 'v1', replicas: ['node1', 'node2'] },
        { id: 'v2', replicas: ['node2', 'node3'] },
      ],
      claims: [
        { name: 'a', volume: 'v1' },
        { name: 'b', volume: 'v2' },
      ],
    });
    expect(raw(prioritizeNodes(f.pod(['a', 'b']), f.nodes, f.state, options))).toEqual([
      100, 200, 100, 50, 100,
    ]);
  });

  it('7: an Offline replica node is filtered, and its rack no longer attracts', () => {
    const f = schedulingFixture({
      nodes: fiveRacks.map((rack, i) => ({
        name: `node${i + 1}`,
        rack,
        ...(i === 0 ? { driver: { status: 'Offline' as const } } : {}),
      })),
      volumes: [{ id: 'v1', replicas: ['node1', 'node2'] }],
      claims: [{ name: 'data', volume: 'v1' }],
    });
    const d = filterNodes(f.pod(['data']), f.nodes, f.state, options);
    expect(d.passed).toEqual(['node2', 'node3', 'node4', 'node5']);
    expect(d.failed).toEqual({ node1: 'pxd storage on this node is Offline' });
    expect(raw(prioritizeNodes(f.pod(['data']), f.select(...d.passed), f.state, options))).toEqual([
      100, 5, 50, 5,
    ]);
  });

  const zoned: FixtureNode[] = [
    { name: 'node1', rack: 'r1', zone: 'a' },
    { name: 'node2', rack: 'r2', zone: 'a' },
    { name: 'node3', rack: 'r1', zone: 'b' },
    { name: 'node4', rack: 'r2', zone: 'b' },
    { name: 'node5', rack: 'r1', zone: 'c' },
  ];
  const twoVolumes = {
    volumes: [
      { id: 'v1', replicas: ['node1', 'node2'] },
      { id: 'v2', replicas: ['node2', 'node3'] },
    ],
    claims: [
      { name: 'a', volume: 'v1' },
      { name: 'b', volume: 'v2' },
    ],
  };

  it('8: zones: a rack counts only within its zone', () => {
    const f = schedulingFixture({ nodes: zoned, ...twoVolumes });
    expect(raw(prioritizeNodes(f.pod(['a', 'b']), f.nodes, f.state, options))).toEqual([
      125, 200, 100, 25, 5,
    ]);
  });

  it('9: regions', () => {
    const regions = ['e1', 'e1', 'e1', 'e2', 'e2'];
    const f = schedulingFixture({
      nodes: zoned.map((n, i) => ({ ...n, region: regions[i] ?? '' })),
      ...twoVolumes,
    });
    const p = prioritizeNodes(f.pod(['a', 'b']), f.nodes, f.state, options);
    expect(raw(p)).toEqual([125, 200, 110, 5, 5]);
    expect(p.scores.find((s) => s.node === 'node3')?.parts).toEqual([
      { volume: 'v1', tier: 'region', points: 10 },
      { volume: 'v2', tier: 'replica', points: 100 },
    ]);
  });

  it('10: matching by node name = storage id, and by IP when hostnames differ', () => {
    const byId = schedulingFixture({
      nodes: fiveRacks.map((rack, i) => ({
        name: `px-id-${i + 1}`,
        hostname: `198.18.9.${i + 1}`,
        rack,
        driver: { id: `px-id-${i + 1}`, hostname: `unrelated-${i + 1}` },
      })),
      volumes: [{ id: 'v1', replicas: ['px-id-1', 'px-id-2'] }],
      claims: [{ name: 'data', volume: 'v1' }],
    });
    expect(raw(prioritizeNodes(byId.pod(['data']), byId.nodes, byId.state, options))).toEqual([
      100, 100, 50, 50, 5,
    ]);
    const byIp = schedulingFixture({
      nodes: fiveRacks.map((rack, i) => ({
        name: `k8s-${i + 1}`,
        ip: `198.51.100.${i + 1}`,
        rack,
        driver: { hostname: `storage-${i + 1}`, ips: [`198.51.100.${i + 1}`] },
      })),
      volumes: [{ id: 'v1', replicas: ['k8s-1', 'k8s-2'] }],
      claims: [{ name: 'data', volume: 'v1' }],
    });
    expect(raw(prioritizeNodes(byIp.pod(['data']), byIp.nodes, byIp.state, options))).toEqual([
      100, 100, 50, 50, 5,
    ]);
  });

  it('12: a volume whose only replica is Offline is an error', () => {
    const f = schedulingFixture({
      nodes: [{ name: 'node1', driver: { status: 'Offline' } }, { name: 'node2' }],
      volumes: [{ id: 'v1', replicas: ['node1'] }],
      claims: [{ name: 'data', volume: 'v1' }],
    });
    expect(filterNodes(f.pod(['data']), f.nodes, f.state, options).error).toBe(
      'No online node found with volume replica for volume v1',
    );
  });

  it('13: a missing PVC and a restore in progress are errors; without the annotation it schedules', () => {
    const restoring = schedulingFixture({
      nodes: [{ name: 'node1' }],
      volumes: [{ id: 'v1', replicas: ['node1'] }],
      claims: [
        {
          name: 'data',
          volume: 'v1',
          annotations: { 'stork.libopenstorage.org/restore-in-progress': 'true' },
        },
      ],
    });
    expect(filterNodes(restoring.pod(['nope']), restoring.nodes, restoring.state, options).error).toBe(
      'Unable to find PVC default/nope',
    );
    expect(filterNodes(restoring.pod(['data']), restoring.nodes, restoring.state, options).error).toBe(
      'Volume restore is in progress for pvc: default/data',
    );
    // Any claim, not only the driver's (as Stork, and as docs/extender.md says).
    const otherRestoring = schedulingFixture({
      nodes: [{ name: 'node1' }],
      claims: [
        {
          name: 'ebs',
          volume: 'ebs-1',
          storageClass: 'other',
          annotations: { 'stork.libopenstorage.org/restore-in-progress': 'true' },
        },
      ],
    });
    expect(
      filterNodes(otherRestoring.pod(['ebs']), otherRestoring.nodes, otherRestoring.state, options).error,
    ).toBe('Volume restore is in progress for pvc: default/ebs');
    const restored = schedulingFixture({
      nodes: [{ name: 'node1' }],
      volumes: [{ id: 'v1', replicas: ['node1'] }],
      claims: [{ name: 'data', volume: 'v1' }],
    });
    expect(filterNodes(restored.pod(['data']), restored.nodes, restored.state, options).passed).toEqual([
      'node1',
    ]);
  });

  it('14: non-replica nodes are kept, unless the pod prefers local nodes only', () => {
    const f = schedulingFixture({
      nodes: five(['r1', 'r2', 'r3']),
      volumes: [{ id: 'v1', replicas: ['node1'] }],
      claims: [{ name: 'data', volume: 'v1' }],
    });
    const request = f.select('node2', 'node3');
    expect(filterNodes(f.pod(['data']), request, f.state, options).passed).toEqual(['node2', 'node3']);
    const local = filterNodes(
      f.pod(['data'], { 'stork.libopenstorage.org/preferLocalNodeOnly': 'true' }),
      request,
      f.state,
      options,
    );
    expect(local.passed).toEqual([]);
    expect(local.failed.node2).toBe('holds no replica of volume(s) v1 (preferLocalNodeOnly)');
    const withReplica = filterNodes(
      f.pod(['data'], { 'stork.libopenstorage.org/preferLocalNodeOnly': 'true' }),
      f.nodes,
      f.state,
      options,
    );
    expect(withReplica.passed).toEqual(['node1']);
  });

  it('15: WaitForFirstConsumer claims do not deadlock and are not scored', () => {
    const f = schedulingFixture({
      nodes: five(['rack1', 'rack1', 'rack1']).map((n, i) =>
        i === 2 ? { ...n, driver: { status: 'Offline' } } : n,
      ),
      volumes: [{ id: 'v1', replicas: ['node2'] }],
      claims: [
        { name: 'wffc', storageClass: 'px-wffc' },
        { name: 'data', volume: 'v1' },
      ],
    });
    const onlyWffc = filterNodes(f.pod(['wffc']), f.nodes, f.state, options);
    // The storage driver must still be up where the volume will be created.
    expect(onlyWffc.passed).toEqual(['node1', 'node2']);
    expect(prioritizeNodes(f.pod(['wffc']), f.nodes, f.state, options).scores.map((s) => s.score)).toEqual([
      0, 0, 0,
    ]);
    expect(
      raw(prioritizeNodes(f.pod(['wffc', 'data']), f.select('node1', 'node2'), f.state, options)),
    ).toEqual([50, 100]);
  });

  it('16: a node the storage operator marked unschedulable is removed', () => {
    const f = schedulingFixture({
      nodes: [
        { name: 'node1', annotations: { 'operator.libopenstorage.org/unschedulable': 'true' } },
        { name: 'node2' },
      ],
      volumes: [{ id: 'v1', replicas: ['node1', 'node2'] }],
      claims: [{ name: 'data', volume: 'v1' }],
    });
    expect(filterNodes(f.pod(['data']), f.nodes, f.state, options).passed).toEqual(['node2']);
  });

  it('17: a StorageDown node is kept but ranked lower', () => {
    const f = schedulingFixture({
      nodes: five(['r1', 'r2', 'r3', 'r1', 'r2']).map((n, i) =>
        i === 2 ? { ...n, driver: { status: 'StorageDown' as const } } : n,
      ),
      ...{
        volumes: [
          { id: 'v1', replicas: ['node1', 'node2'] },
          { id: 'v2', replicas: ['node2', 'node3'] },
        ],
        claims: [
          { name: 'a', volume: 'v1' },
          { name: 'b', volume: 'v2' },
        ],
      },
    });
    expect(filterNodes(f.pod(['a', 'b']), f.nodes, f.state, options).passed).toHaveLength(5);
    expect(raw(prioritizeNodes(f.pod(['a', 'b']), f.nodes, f.state, options))).toEqual([
      100, 200, 25, 50, 100,
    ]);
  });

  it('17b: a StorageDown node earns whole points per volume (12 for a zone), keeping Stork’s strict order', () => {
    // node3 is StorageDown in both replicas' zone: 12 + 12 = 24 (12.5 + 12.5 would tie with node4's 25).
    const f = schedulingFixture({
      nodes: [
        { name: 'node1', rack: 'r1', zone: 'a' },
        { name: 'node2', rack: 'r1', zone: 'b' },
        { name: 'node3', rack: 'r2', zone: 'a', driver: { status: 'StorageDown' } },
        { name: 'node4', rack: 'r3', zone: 'b' },
      ],
      volumes: [
        { id: 'v1', replicas: ['node1'] },
        { id: 'v2', replicas: ['node1'] },
        { id: 'v3', replicas: ['node2'] },
      ],
      claims: [
        { name: 'a', volume: 'v1' },
        { name: 'b', volume: 'v2' },
        { name: 'c', volume: 'v3' },
      ],
    });
    const p = prioritizeNodes(f.pod(['a', 'b', 'c']), f.select('node3', 'node4'), f.state, options);
    expect(raw(p)).toEqual([24, 25]);
    expect(p.scores[0]?.parts.map((part) => part.points)).toEqual([12, 12, 0]);
    expect(p.scores[0]?.score).toBeLessThan(p.scores[1]?.score ?? 0);
  });

  it('17c: zone labels and no rack label (clouds): same-zone nodes share the zone’s unnamed rack, as in Stork', () => {
    // Stork keys a rack-less node's rack `region-zone-`, so a same-zone neighbour earns rack points (50).
    // Kept: users moving from Stork on clouds get the placements they had. node4 (in the zone of three of
    // the four volumes' replicas) outranks node3 (holds one replica): 25-point zones would invert that.
    const f = schedulingFixture({
      nodes: [
        { name: 'node1', zone: 'a', region: 'e1' },
        { name: 'node2', zone: 'a', region: 'e1' },
        { name: 'node3', zone: 'b', region: 'e1' },
        { name: 'node4', zone: 'a', region: 'e1' },
        { name: 'node5', zone: 'c', region: 'e2' },
      ],
      volumes: [
        { id: 'v1', replicas: ['node1'] },
        { id: 'v2', replicas: ['node2'] },
        { id: 'v3', replicas: ['node3'] },
        { id: 'v4', replicas: ['node1'] },
      ],
      claims: [
        { name: 'a', volume: 'v1' },
        { name: 'b', volume: 'v2' },
        { name: 'c', volume: 'v3' },
        { name: 'd', volume: 'v4' },
      ],
    });
    const p = prioritizeNodes(
      f.pod(['a', 'b', 'c', 'd']),
      f.select('node3', 'node4', 'node5'),
      f.state,
      options,
    );
    expect(raw(p)).toEqual([130, 160, 5]);
    expect(p.scores[1]?.parts.map((part) => part.tier)).toEqual(['rack', 'rack', 'region', 'rack']);
    // A node of the same zone that has a rack label is in a different rack: zone points only.
    const racked = schedulingFixture({
      nodes: [
        { name: 'node1', zone: 'a' },
        { name: 'node2', zone: 'a', rack: 'r9' },
        { name: 'node3', zone: 'a' },
      ],
      volumes: [{ id: 'v1', replicas: ['node1'] }],
      claims: [{ name: 'a', volume: 'v1' }],
    });
    expect(raw(prioritizeNodes(racked.pod(['a']), racked.nodes, racked.state, options))).toEqual([
      100, 25, 50,
    ]);
    // No topology labels at all: nothing is near anything.
    const flat = schedulingFixture({
      nodes: [{ name: 'node1' }, { name: 'node2' }],
      volumes: [{ id: 'v1', replicas: ['node1'] }],
      claims: [{ name: 'a', volume: 'v1' }],
    });
    expect(raw(prioritizeNodes(flat.pod(['a']), flat.nodes, flat.state, options))).toEqual([100, 5]);
  });

  it('18: a node without storage scores below a storage node near nothing', () => {
    const f = schedulingFixture({
      nodes: [
        { name: 'node1', rack: 'r1' },
        { name: 'node2', rack: 'r2' },
        { name: 'node3', driver: null },
      ],
      volumes: [{ id: 'v1', replicas: ['node1'] }],
      claims: [{ name: 'data', volume: 'v1' }],
    });
    const p = prioritizeNodes(f.pod(['data']), f.nodes, f.state, options);
    expect(raw(p)).toEqual([100, 5, 0]);
    expect(p.scores.map((s) => s.score)).toEqual([10, 5, 0]);
  });
});

describe('beyond the catalogue', () => {
  const base = {
    nodes: [{ name: 'node1' }, { name: 'node2' }],
    volumes: [{ id: 'v1', replicas: ['node1'] }],
    claims: [{ name: 'data', volume: 'v1' }],
  };

  it('refuses to decide on a storage state that never loaded or went stale', () => {
    const cold = schedulingFixture({ ...base, refreshedAt: undefined });
    expect(filterNodes(cold.pod(['data']), cold.nodes, cold.state, options).error).toMatch(
      /has not been loaded yet/,
    );
    const stale = schedulingFixture({ ...base, refreshedAt: Date.now() - 120_000 });
    expect(filterNodes(stale.pod(['data']), stale.nodes, stale.state, options).error).toMatch(
      /storage state is stale: last refreshed 120s ago/,
    );
  });

  it('asks for a volume the cache does not know instead of guessing', () => {
    const f = schedulingFixture({ ...base, claims: [{ name: 'data', volume: 'v-new' }] });
    const d = filterNodes(f.pod(['data']), f.nodes, f.state, options);
    expect(d.error).toMatch(/v-new not yet known/);
    expect(d.requestVolumes).toEqual(['v-new']);
  });

  it('says a volume does not exist once a complete refresh has not found it', () => {
    const f = schedulingFixture({ ...base, claims: [{ name: 'data', volume: 'v-gone' }] });
    const state = { ...f.state, snapshot: { ...f.state.snapshot, absentVolumeIds: new Set(['v-gone']) } };
    const d = filterNodes(f.pod(['data']), f.nodes, state, options);
    expect(d.error).toBe('volume(s) v-gone do not exist in pxd (a refresh listed every volume)');
    // Still asked for, so that a volume created later is seen.
    expect(d.requestVolumes).toEqual(['v-gone']);
  });

  it('ignores a stale Offline duplicate of a healthy storage node', () => {
    const f = schedulingFixture({
      ...base,
      extraDriverNodes: [{ id: 'old-node2', hostname: 'node2', ips: ['192.0.2.2'], status: 'Offline' }],
    });
    expect(filterNodes(f.pod(['data']), f.nodes, f.state, options).passed).toEqual(['node1', 'node2']);
  });

  it('expresses no preference when hyper-convergence is disabled for the pod', () => {
    const f = schedulingFixture(base);
    const p = prioritizeNodes(
      f.pod(['data'], { 'stork.libopenstorage.org/disableHyperconvergence': 'true' }),
      f.nodes,
      f.state,
      options,
    );
    expect(p.scores.map((s) => s.score)).toEqual([0, 0]);
  });

  it('leaves volumes labelled skipSchedulerScoring out of the score', () => {
    const f = schedulingFixture({
      ...base,
      volumes: [
        {
          id: 'v1',
          replicas: ['node1'],
          labels: { 'stork.libopenstorage.org/skipSchedulerScoring': 'true' },
        },
      ],
    });
    expect(prioritizeNodes(f.pod(['data']), f.nodes, f.state, options).scores.map((s) => s.score)).toEqual([
      0, 0,
    ]);
  });

  it('a claim whose StorageClass is not in the cache is unknown: an error, not "no driver volumes"', () => {
    const f = schedulingFixture({ nodes: five(['r1', 'r2']), claims: [{ name: 'data' }] });
    const state = { ...f.state, getStorageClass: () => undefined };
    const filtered = filterNodes(f.pod(['data']), f.nodes, state, options);
    expect(filtered.error).toMatch(/StorageClass px of PVC default\/data is not known/);
    expect(prioritizeNodes(f.pod(['data']), f.nodes, state, options).neutralReason).toMatch(/not known/);
  });

  it('while a cache the decision reads has not synced, answers with an error saying so', () => {
    const f = schedulingFixture({
      nodes: five(['r1', 'r2']),
      volumes: [{ id: 'v1', replicas: ['node1'] }],
      claims: [{ name: 'data', volume: 'v1' }],
    });
    const state = { ...f.state, unsyncedCaches: ['persistentvolumeclaims'] };
    expect(filterNodes(f.pod(['data']), f.nodes, state, options).error).toMatch(
      /persistentvolumeclaims cache\(s\) have not synced yet/,
    );
    // A pod without volumes needs none of them.
    expect(filterNodes(f.pod([]), f.nodes, state, options).passed).toEqual(['node1', 'node2']);
  });
});
