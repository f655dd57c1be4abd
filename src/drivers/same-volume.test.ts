import { describe, expect, it } from 'vitest';
import type { DriverVolume } from './driver.js';
import { sameVolume } from './same-volume.js';

const base: DriverVolume = {
  id: 'v1',
  name: 'pvc-1',
  sizeBytes: 1024,
  replicaNodeIds: ['n1', 'n2'],
  parentId: 'v0',
  labels: { app: 'db', tier: 'data' },
  localTo: ['node-1'],
};

describe('sameVolume', () => {
  const cases: [string, Partial<DriverVolume> | ((v: DriverVolume) => DriverVolume), boolean][] = [
    ['an equal copy', {}, true],
    ['labels in another order', { labels: { tier: 'data', app: 'db' } }, true],
    ['another id', { id: 'v2' }, false],
    ['another name', { name: 'pvc-2' }, false],
    ['another size', { sizeBytes: 2048 }, false],
    ['another parent', { parentId: 'v9' }, false],
    ['no parent', ({ parentId: _p, ...rest }) => rest, false],
    ['a replica moved', { replicaNodeIds: ['n1', 'n3'] }, false],
    ['a replica added', { replicaNodeIds: ['n1', 'n2', 'n3'] }, false],
    ['replicas reordered', { replicaNodeIds: ['n2', 'n1'] }, false],
    ['a label changed', { labels: { app: 'db', tier: 'cache' } }, false],
    ['a label added', { labels: { app: 'db', tier: 'data', x: 'y' } }, false],
    ['a label removed', { labels: { app: 'db' } }, false],
    ['no longer local', ({ localTo: _l, ...rest }) => rest, false],
    ['local to another node', { localTo: ['node-2'] }, false],
  ];
  it.each(cases)('%s', (_name, change, same) => {
    const copy: DriverVolume = structuredClone(base);
    const other = typeof change === 'function' ? change(copy) : { ...copy, ...change };
    expect(sameVolume(base, other)).toBe(same);
    expect(sameVolume(other, base)).toBe(same);
  });
});
