import { describe, expect, it } from 'vitest';
import { boxNodeAddresses, topologyNodes } from './nodes.js';

describe('boxNodeAddresses', () => {
  it('gives distinct loopback IPs and keeps the node name as hostname', () => {
    const ips = new Set(
      Array.from(
        { length: 1000 },
        (_, i) => boxNodeAddresses({ name: `n${i}` }, i).find((a) => a.type === 'InternalIP')?.address,
      ),
    );
    expect(ips.size).toBe(1000);
    for (const ip of ips) expect(ip).toMatch(/^127\.1\.\d+\.\d+$/);
    expect(boxNodeAddresses({ name: 'x' }, 0)).toContainEqual({ type: 'Hostname', address: 'x' });
  });

  it('uses an explicit IP when given', () => {
    expect(boxNodeAddresses({ name: 'x', ip: '127.9.9.9' }, 5)[0]).toEqual({
      type: 'InternalIP',
      address: '127.9.9.9',
    });
  });
});

describe('topologyNodes', () => {
  it('spreads nodes over racks and zones', () => {
    const nodes = topologyNodes(4);
    expect(nodes.map((n) => n.labels?.['px/rack'])).toEqual(['rack-1', 'rack-2', 'rack-3', 'rack-1']);
    expect(nodes.map((n) => n.labels?.['topology.kubernetes.io/zone'])).toEqual([
      'zone-a',
      'zone-b',
      'zone-a',
      'zone-b',
    ]);
  });

  it('rejects a bad count', () => {
    expect(() => topologyNodes(0)).toThrow(/positive integer, got 0/);
  });
});
