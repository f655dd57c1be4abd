import { describe, expect, it } from 'vitest';
import { schedulingFixture } from '../../test/fixtures/scheduling.js';
import { best, decisionDocument } from './decision-document.js';
import { explainNow } from './explain.js';
import { filterNodes } from './filter.js';
import { prioritizeNodes } from './prioritize.js';

const options = { staleAfterMs: 30_000 };
const time = new Date('2026-01-02T03:04:05Z');

describe('decision documents', () => {
  // Racks r1,r2,r1; zones a,a,b; node4 Offline. vol1 on node1, vol2 on node1 and node2.
  const f = schedulingFixture({
    nodes: [
      { name: 'node1', rack: 'r1', zone: 'a' },
      { name: 'node2', rack: 'r2', zone: 'a' },
      { name: 'node3', rack: 'r1', zone: 'b' },
      { name: 'node4', rack: 'r3', zone: 'c', driver: { status: 'Offline' } },
    ],
    volumes: [
      { id: 'v1', replicas: ['node1'] },
      { id: 'v2', replicas: ['node1', 'node2'] },
    ],
    claims: [
      { name: 'a', volume: 'v1' },
      { name: 'b', volume: 'v2' },
    ],
  });
  const pod = f.pod(['a', 'b']);

  it('joins filter verdicts and score parts per node, rejected nodes first, then best first', () => {
    const filter = filterNodes(pod, f.nodes, f.state, options);
    const passed = f.nodes.filter((n) => filter.passed.includes(n.metadata?.name ?? ''));
    const prioritize = prioritizeNodes(pod, passed, f.state, options);
    const doc = decisionDocument({ filter, prioritize, time, replica: 'r-1', source: 'recorded' });
    expect(doc).toMatchObject({ time: '2026-01-02T03:04:05.000Z', replica: 'r-1', topNode: 'node1' });
    expect(doc.nodes.map((n) => n.node)).toEqual(['node4', 'node1', 'node2', 'node3']);
    expect(doc.nodes[0]).toEqual({
      node: 'node4',
      passed: false,
      reason: 'pxd storage on this node is Offline',
    });
    expect(doc.nodes[1]).toMatchObject({ passed: true, raw: 200, replica: 200, rack: 0, zone: 0, region: 0 });
    // node2: replica of v2, same zone as node1 for v1.
    expect(doc.nodes[2]).toMatchObject({ raw: 125, replica: 100, zone: 25 });
    // node3: node1's rack name, but another zone: rack keys include the zone, so no rack points.
    expect(doc.nodes[3]).toMatchObject({ raw: 5, replica: 0, rack: 0, zone: 0 });
    const scores = doc.nodes.slice(1).map((n) => n.score ?? -1);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it('keeps the rejected and the best nodes when there are too many', () => {
    const filter = filterNodes(pod, f.nodes, f.state, options);
    const prioritize = prioritizeNodes(pod, f.nodes.slice(0, 3), f.state, options);
    const doc = decisionDocument({ filter, prioritize, time, replica: 'r', source: 'recorded' }, 2);
    expect(doc.nodes.map((n) => n.node)).toEqual(['node4', 'node1']);
    expect(doc.omittedNodes).toBe(2);
  });

  it('has no top node without a preference, and carries the neutral reason', () => {
    const prioritize = prioritizeNodes(f.pod([]), f.nodes, f.state, options);
    const doc = decisionDocument({ prioritize, time, replica: 'r', source: 'recorded' });
    expect(doc.topNode).toBeUndefined();
    expect(doc.neutralReason).toMatch(/no pxd volumes/);
  });

  it('explains "now" over every known node with the same verdicts', () => {
    const doc = explainNow(pod, f.state, options, 'r-2', time);
    expect(doc.source).toBe('now');
    expect(doc.topNode).toBe('node1');
    expect(doc.nodes.find((n) => n.node === 'node4')?.passed).toBe(false);
  });

  it('explains a pod that cannot be placed now by the filter error', () => {
    const g = schedulingFixture({
      nodes: [{ name: 'node1', driver: { status: 'Offline' } }, { name: 'node2' }],
      volumes: [{ id: 'v1', replicas: ['node1'] }],
      claims: [{ name: 'a', volume: 'v1' }],
    });
    const doc = explainNow(g.pod(['a']), g.state, options, 'r', time);
    expect(doc.error).toMatch(/^No online node found with volume replica/);
    expect(doc.nodes).toEqual([]);
  });
});

describe('best: the first k in decision order, without sorting everything', () => {
  // The order a full sort gives: best raw score first, then by name.
  const fullSort = (items: { node: string; raw: number }[]) =>
    [...items].sort((a, b) => b.raw - a.raw || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  it.each([0, 1, 2, 7, 50, 199, 200, 500])(
    'k = %i over 200 nodes with few distinct scores, as a full sort',
    (k) => {
      let seed = 7 + k;
      const random = (): number => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      for (let round = 0; round < 20; round++) {
        const items = Array.from({ length: 200 }, (_, i) => ({
          node: `node-${Math.floor(random() * 1e6)}-${i}`,
          raw: [-1, 0, 5, 25, 50, 100, 200][Math.floor(random() * 7)] ?? 0,
        }));
        expect(best([...items], k)).toEqual(fullSort(items).slice(0, k));
      }
    },
  );
});
