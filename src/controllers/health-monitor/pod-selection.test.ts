import type { Pod } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import { podsToMove } from './pod-selection.js';

const pod = (name: string, extra: Partial<Pod['metadata']> = {}, node = 'n1', phase = 'Running'): Pod => ({
  metadata: { name, namespace: 'ns', ...extra },
  spec: { nodeName: node, containers: [] },
  status: { phase },
});

describe('podsToMove', () => {
  const usesDriver = (p: Pod) => !p.metadata?.name?.startsWith('nodriver');

  it('selects running driver pods on the node and never DaemonSet, mirror, finished or other-node pods', () => {
    const result = podsToMove(
      [
        pod('app'),
        pod('nodriver-app'),
        pod('ds', {
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'd', uid: 'u', controller: true },
          ],
        }),
        pod('mirror', { annotations: { 'kubernetes.io/config.mirror': 'x' } }),
        pod('done', {}, 'n1', 'Succeeded'),
        pod('elsewhere', {}, 'n2'),
      ],
      'n1',
      usesDriver,
    );
    expect(result.toEvict.map((p) => p.metadata?.name)).toEqual(['app']);
    expect(result.terminating).toEqual([]);
  });

  it('lists pods already being deleted separately, with since when', () => {
    const result = podsToMove(
      [pod('going', { deletionTimestamp: '2026-01-01T00:00:00Z' })],
      'n1',
      usesDriver,
    );
    expect(result.toEvict).toEqual([]);
    expect(result.terminating.map((t) => [t.pod.metadata?.name, t.sinceMs])).toEqual([
      ['going', Date.parse('2026-01-01T00:00:00Z')],
    ]);
  });
});
