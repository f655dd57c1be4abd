import { schedulingFixture, type FixtureNode } from '../test/fixtures/scheduling.js';

/** A cluster of `count` nodes over 20 racks, 3 zones and one region; a pod with two 3-replica volumes. */
export function benchFixture(count: number) {
  const nodes: FixtureNode[] = Array.from({ length: count }, (_, i) => ({
    name: `node-${i + 1}`,
    rack: `rack-${i % 20}`,
    zone: `zone-${i % 3}`,
    region: 'region-1',
  }));
  return schedulingFixture({
    nodes,
    volumes: [
      { id: 'v1', replicas: ['node-1', 'node-2', 'node-3'] },
      { id: 'v2', replicas: ['node-3', 'node-4', 'node-5'] },
    ],
    claims: [
      { name: 'data', volume: 'v1' },
      { name: 'logs', volume: 'v2' },
    ],
  });
}
