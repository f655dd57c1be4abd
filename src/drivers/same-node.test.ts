import { describe, expect, it } from 'vitest';
import type { DriverNode } from './driver.js';
import { sameNode, sameNodes } from './same-node.js';

// Every field of a DriverNode set, so that a field the comparison forgets shows up below.
const base: Required<DriverNode> = {
  id: 'n1',
  schedulerNodeName: 'worker-1',
  hostname: 'worker-1',
  ips: ['198.18.0.1', '198.18.1.1'],
  status: 'Online',
  rack: 'r1',
  zone: 'z1',
  region: 'e1',
};

describe('sameNode', () => {
  const cases: [string, Partial<DriverNode> | ((n: DriverNode) => DriverNode), boolean][] = [
    ['an equal copy', {}, true],
    ['another id', { id: 'n2' }, false],
    ['another status', { status: 'Offline' }, false],
    ['another hostname', { hostname: 'worker-2' }, false],
    ['another scheduler node name', { schedulerNodeName: 'worker-2' }, false],
    ['no scheduler node name', ({ schedulerNodeName: _s, ...rest }) => rest, false],
    ['another rack', { rack: 'r2' }, false],
    ['no rack', ({ rack: _r, ...rest }) => rest, false],
    ['another zone', { zone: 'z2' }, false],
    ['another region', { region: 'e2' }, false],
    ['an IP changed', { ips: ['198.18.0.1', '198.18.1.2'] }, false],
    ['an IP removed', { ips: ['198.18.0.1'] }, false],
    ['IPs reordered', { ips: ['198.18.1.1', '198.18.0.1'] }, false],
  ];
  it.each(cases)('%s', (_name, change, same) => {
    const copy: DriverNode = structuredClone(base);
    const other = typeof change === 'function' ? change(copy) : { ...copy, ...change };
    expect(sameNode(base, other)).toBe(same);
    expect(sameNode(other, base)).toBe(same);
  });

  it('compares every field a DriverNode has', () => {
    // A field added to DriverNode must be added to sameNode (and to `base` above): each one changed alone
    // must tell the nodes apart.
    for (const field of Object.keys(base) as (keyof DriverNode)[]) {
      const changed = { ...base, [field]: field === 'ips' ? ['198.18.9.9'] : 'changed' } as DriverNode;
      expect(sameNode(base, changed), field).toBe(false);
    }
  });
});

describe('sameNodes', () => {
  const other: DriverNode = { ...base, id: 'n2', hostname: 'worker-2' };
  it('is true for lists saying the same, node by node', () => {
    expect(sameNodes([base, other], [structuredClone(base), structuredClone(other)])).toBe(true);
    expect(sameNodes([], [])).toBe(true);
  });
  it('is false when a node changed, one was added or removed, or the order changed', () => {
    expect(sameNodes([base, other], [base, { ...other, status: 'Offline' }])).toBe(false);
    expect(sameNodes([base], [base, other])).toBe(false);
    expect(sameNodes([base, other], [base])).toBe(false);
    expect(sameNodes([base, other], [other, base])).toBe(false);
  });
});
