import { describe, expect, it } from 'vitest';
import type { DriverNode } from './driver.js';
import type { Node } from '../wire/k8s-types.js';
import { kubeNodesByStorageId, matchNodes, NodeMatcher, nodeMatcherFor } from './node-match.js';

function storage(id: string, extra: Partial<DriverNode> = {}): DriverNode {
  return { id, hostname: `host-${id}`, ips: [], status: 'Online', ...extra };
}
function kube(name: string, addresses: { type: string; address: string }[] = []): Node {
  return { metadata: { name }, status: { addresses } };
}

describe('NodeMatcher', () => {
  const driverNodes = [
    storage('a', { schedulerNodeName: 'k-a' }),
    storage('b', { hostname: 'node-b' }),
    storage('c', { ips: ['198.18.0.3'] }),
    storage('d', { hostname: 'node-d' }),
    // A stale Offline entry for node-d, left behind by a reinstall.
    storage('d-old', { hostname: 'node-d', status: 'Offline' }),
  ];
  const matcher = new NodeMatcher(driverNodes);
  const cases: [string, Node, string | undefined][] = [
    ['by scheduler node name', kube('k-a'), 'a'],
    ['by scheduler node name, ignoring case', kube('K-A'), 'a'],
    ['by hostname equal to the node name', kube('node-b'), 'b'],
    ['by hostname as a dot-prefix of the node name', kube('node-b.example.com'), 'b'],
    ['by hostname equal to a Hostname address', kube('x', [{ type: 'Hostname', address: 'node-b' }]), 'b'],
    ['by id', kube('c'), 'c'],
    ['by InternalIP', kube('y', [{ type: 'InternalIP', address: '198.18.0.3' }]), 'c'],
    ['not by an ExternalIP', kube('y', [{ type: 'ExternalIP', address: '198.18.0.3' }]), undefined],
    ['the healthiest of several entries', kube('node-d'), 'd'],
    ['nothing for a node without storage', kube('z'), undefined],
  ];
  it.each(cases)('matches %s', (_name, node, want) => {
    expect(matcher.match(node)?.id).toBe(want);
  });
});

describe('NodeMatcher, once per Node object', () => {
  /** A Node whose every read of its metadata is counted. */
  function counted(name: string): { node: Node; reads: () => number } {
    let reads = 0;
    const metadata = { name };
    const node: Node = { status: { addresses: [] } };
    Object.defineProperty(node, 'metadata', {
      enumerable: true,
      get: () => {
        reads++;
        return metadata;
      },
    });
    return { node, reads: () => reads };
  }

  it('matches a Node object once, and a new object (a changed Node) afresh', () => {
    const matcher = new NodeMatcher([storage('a', { hostname: 'node-a' })]);
    const first = counted('node-a');
    expect(matcher.match(first.node)?.id).toBe('a');
    const afterFirst = first.reads();
    expect(afterFirst).toBeGreaterThan(0);
    expect(matcher.match(first.node)?.id).toBe('a');
    expect(first.reads()).toBe(afterFirst);
    // No match is remembered too.
    const none = counted('elsewhere');
    expect(matcher.match(none.node)).toBeUndefined();
    const afterNone = none.reads();
    expect(matcher.match(none.node)).toBeUndefined();
    expect(none.reads()).toBe(afterNone);
    // Another matcher (another storage node list) matches the same object again, by its own list.
    expect(new NodeMatcher([storage('b', { hostname: 'node-a' })]).match(first.node)?.id).toBe('b');
  });
});

describe('nodeMatcherFor', () => {
  it('shares one matcher per storage node list, and builds a new one for a new list', () => {
    const list = [storage('a')];
    expect(nodeMatcherFor(list)).toBe(nodeMatcherFor(list));
    expect(nodeMatcherFor([...list])).not.toBe(nodeMatcherFor(list));
  });
});

describe('matchNodes and kubeNodesByStorageId', () => {
  const matcher = new NodeMatcher([
    storage('a', { schedulerNodeName: 'k1' }),
    storage('b', { hostname: 'k3' }),
  ]);
  const nodes = [
    kube('k1'),
    kube('k2'),
    kube('k3'),
    kube('k1.example.com', [{ type: 'Hostname', address: 'k3' }]),
  ];

  it('keeps only the nodes with a storage node, in list order', () => {
    const got = matchNodes(nodes, (n) => matcher.match(n));
    expect(got.map((m) => [m.node.metadata?.name, m.driverNode.id])).toEqual([
      ['k1', 'a'],
      ['k3', 'b'],
      ['k1.example.com', 'b'],
    ]);
  });

  it('gives each storage node the first Kubernetes node that matched it', () => {
    const got = kubeNodesByStorageId(matchNodes(nodes, (n) => matcher.match(n)));
    expect([...got].map(([id, n]) => [id, n.metadata?.name])).toEqual([
      ['a', 'k1'],
      ['b', 'k3'],
    ]);
  });
});
