import type { Pod } from '../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../lib/fake-clock.js';
import { Informer } from './informer.js';
import { podForStork, withoutManagedFields } from './informer-transforms.js';
import { resources } from './paths.js';
import { FakeKubeClient } from './testing/fake-client.js';

const managedFields = [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': {} } }];

/** A pod as the API server returns it: everything a reader might want, and much that stork does not. */
const fullPod = (name: string): Pod => ({
  metadata: {
    name,
    namespace: 'ns',
    uid: `uid-${name}`,
    labels: { app: 'db' },
    annotations: { 'stork.libopenstorage.org/preferLocalNodeOnly': 'true' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'ss' }],
    managedFields,
  },
  spec: {
    schedulerName: 'stork',
    nodeName: 'node-1',
    containers: [
      {
        name: 'app',
        image: 'registry.example/app:1',
        env: [{ name: 'A', value: 'x'.repeat(1000) }],
        resources: { requests: { cpu: '1' } },
      },
    ],
    initContainers: [{ name: 'init', image: 'registry.example/init:1' }],
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
  },
  status: {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'True' }],
    containerStatuses: [
      {
        name: 'app',
        image: 'i',
        imageID: 'x',
        ready: true,
        restartCount: 0,
        state: { running: { startedAt: '2026-01-01T00:00:00Z' } },
      },
    ],
  },
});

describe('podForStork', () => {
  it('keeps what stork reads: identity, labels, annotations, owners, node, volumes, container names, phase', () => {
    const lean = podForStork(fullPod('a'));
    expect(lean.metadata).toEqual({ ...fullPod('a').metadata, managedFields: undefined });
    expect(lean.metadata && 'managedFields' in lean.metadata).toBe(false);
    expect(lean.spec).toEqual({
      schedulerName: 'stork',
      nodeName: 'node-1',
      containers: [{ name: 'app' }],
      initContainers: [{ name: 'init' }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
    });
    expect(lean.status).toEqual({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] });
  });

  it('leaves an object without managedFields as it is (no copy)', () => {
    const node = { metadata: { name: 'n' } };
    expect(withoutManagedFields(node)).toBe(node);
  });
});

describe('an informer with a transform', () => {
  it('caches the transformed object from the list and from every watch event', async () => {
    const clock = new FakeClock();
    const api = new FakeKubeClient({ clock });
    api.seed(resources.pods, fullPod('listed'));
    const informer = new Informer<Pod>({ api, clock, type: resources.pods, transform: podForStork });
    const controller = new AbortController();
    const running = informer.run(controller.signal);
    await clock.advance(0);
    await informer.whenSynced();
    await api.create(resources.pods, fullPod('watched'), 'ns');
    await clock.advance(0);
    for (const name of ['listed', 'watched']) {
      const cached = informer.get(name, 'ns');
      expect(cached?.metadata?.labels).toEqual({ app: 'db' });
      expect(cached?.metadata && 'managedFields' in cached.metadata).toBe(false);
      expect(cached?.spec?.containers).toEqual([{ name: 'app' }]);
      expect(cached?.status?.containerStatuses).toBeUndefined();
    }
    controller.abort();
    await running;
  });
});
