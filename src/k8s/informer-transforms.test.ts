import type { Node, Pod } from '../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../lib/fake-clock.js';
import { Informer } from './informer.js';
import {
  nodeForStork,
  podForStork,
  podStrings,
  sameNodeContent,
  withoutManagedFields,
} from './informer-transforms.js';
import { resources } from './paths.js';
import { FakeKubeClient } from './testing/fake-client.js';

const managedFields = [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': {} } }];

/** A pod as the API server returns it: everything a reader might want, and much that stork does not. */
const fullPod = (name: string): Pod => ({
  metadata: {
    name,
    namespace: 'ns',
    uid: `uid-${name}`,
    creationTimestamp: '2026-01-01T00:00:00Z',
    labels: { app: 'db' },
    annotations: {
      'stork.libopenstorage.org/preferLocalNodeOnly': 'true',
      'kubernetes.io/config.mirror': 'abc',
      'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(1000),
    },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'ss' }],
    deletionTimestamp: '2026-01-01T00:01:00Z',
    deletionGracePeriodSeconds: 30,
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
    volumes: [
      { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
      { name: 'px', portworxVolume: { volumeID: 'v1' } },
      { name: 'token', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } },
      { name: 'scratch', emptyDir: {} },
    ],
    tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }],
    dnsPolicy: 'ClusterFirst',
  },
  status: {
    phase: 'Running',
    podIP: '198.18.0.10',
    conditions: [
      { type: 'PodScheduled', status: 'True' },
      { type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' },
    ],
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
  it('keeps exactly what stork reads: identity, owners, deletion, its annotations, node, claims, phase, conditions', () => {
    const full = fullPod('a');
    const lean = podForStork({ ...full, metadata: { ...full.metadata, resourceVersion: '42' } });
    expect(lean.metadata).toEqual({
      name: 'a',
      namespace: 'ns',
      uid: 'uid-a',
      resourceVersion: '42',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'ss' }],
      deletionTimestamp: '2026-01-01T00:01:00Z',
      deletionGracePeriodSeconds: 30,
      annotations: {
        'stork.libopenstorage.org/preferLocalNodeOnly': 'true',
        'kubernetes.io/config.mirror': 'abc',
      },
    });
    expect(lean.spec).toEqual({
      schedulerName: 'stork',
      nodeName: 'node-1',
      containers: [{ name: 'app' }],
      initContainers: [{ name: 'init' }],
      volumes: [
        { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
        { name: 'px', portworxVolume: { volumeID: 'v1' } },
      ],
    });
    expect(lean.status).toEqual({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] });
  });

  it('keeps one copy of the strings many pods share (namespace, node, scheduler, phase, owner kind)', () => {
    const pod = (name: string): Pod => ({
      metadata: {
        name,
        namespace: 'pool-test-ns',
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u' }],
      },
      spec: { nodeName: 'pool-test-node', schedulerName: 'stork', containers: [] },
      status: { phase: 'Running' },
    });
    podForStork(pod('first'));
    const held = podStrings.size;
    const lean = podForStork(pod('second'));
    expect(podStrings.size).toBe(held);
    expect(lean.spec?.nodeName).toBe('pool-test-node');
    podForStork({ ...pod('third'), spec: { nodeName: 'pool-test-node-2', containers: [] } });
    expect(podStrings.size).toBe(held + 1);
  });

  it('leaves out what is absent instead of writing undefined', () => {
    const lean = podForStork({ metadata: { name: 'bare' }, spec: { containers: [] } });
    expect(lean).toEqual({ metadata: { name: 'bare' }, spec: { containers: [] } });
    expect(Object.keys(lean.metadata ?? {})).toEqual(['name']);
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
      expect(cached?.metadata?.name).toBe(name);
      expect(cached?.metadata?.annotations).toEqual({
        'stork.libopenstorage.org/preferLocalNodeOnly': 'true',
        'kubernetes.io/config.mirror': 'abc',
      });
      expect(cached?.metadata?.labels).toBeUndefined();
      expect(cached?.metadata && 'managedFields' in cached.metadata).toBe(false);
      expect(cached?.spec?.containers).toEqual([{ name: 'app' }]);
      expect(cached?.status?.containerStatuses).toBeUndefined();
    }
    controller.abort();
    await running;
  });
});

describe('nodeForStork', () => {
  it('keeps metadata, spec, addresses and the conditions stork reads; drops images, capacity and node info', () => {
    const node: Node = {
      metadata: { name: 'n1', labels: { 'px/rack': 'r1' }, annotations: { a: 'b' }, managedFields },
      spec: { unschedulable: true, providerID: 'p' },
      status: {
        addresses: [{ type: 'InternalIP', address: '198.18.0.1' }],
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
            lastHeartbeatTime: '2026-01-01T00:00:00Z',
          },
        ],
        images: [{ names: ['registry.example/app:1'], sizeBytes: 1 }],
        capacity: { cpu: '8' },
        nodeInfo: {
          machineID: 'm',
          systemUUID: 's',
          bootID: 'b',
          kernelVersion: 'k',
          osImage: 'o',
          containerRuntimeVersion: 'c',
          kubeletVersion: 'v',
          kubeProxyVersion: 'v',
          operatingSystem: 'linux',
          architecture: 'amd64',
        },
      },
    };
    expect(nodeForStork(node)).toEqual({
      metadata: { name: 'n1', labels: { 'px/rack': 'r1' }, annotations: { a: 'b' } },
      spec: { unschedulable: true, providerID: 'p' },
      status: {
        addresses: [{ type: 'InternalIP', address: '198.18.0.1' }],
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }],
      },
    });
  });
});

describe('sameNodeContent', () => {
  const base: Node = {
    metadata: { name: 'n1', resourceVersion: '1', labels: { 'px/rack': 'r1' } },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }] },
  };
  it.each<[string, (n: Node) => Node, boolean]>([
    ['only the resourceVersion', (n) => ({ ...n, metadata: { ...n.metadata, resourceVersion: '2' } }), true],
    ['a label', (n) => ({ ...n, metadata: { ...n.metadata, labels: { 'px/rack': 'r2' } } }), false],
    ['cordoned', (n) => ({ ...n, spec: { unschedulable: true } }), false],
    [
      'no longer Ready',
      (n) => ({
        ...n,
        status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady' }] },
      }),
      false,
    ],
  ])('%s: same %s', (_name, change, same) => {
    expect(sameNodeContent(base, change(structuredClone(base)))).toBe(same);
  });
});

describe('an informer with sameContent', () => {
  it('keeps its object and tells nobody when an update changes nothing a reader uses', async () => {
    const clock = new FakeClock();
    const api = new FakeKubeClient({ clock });
    const node = (heartbeat: string, rack: string): Node => ({
      metadata: { name: 'n1', labels: { 'px/rack': rack } },
      status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: heartbeat }] },
    });
    api.seed(resources.nodes, node('t0', 'r1'));
    const informer = new Informer<Node>({
      api,
      clock,
      type: resources.nodes,
      transform: nodeForStork,
      sameContent: sameNodeContent,
    });
    const updates: string[] = [];
    informer.addHandlers({ onUpdate: (_p, n) => updates.push(n.metadata?.labels?.['px/rack'] ?? '') });
    const controller = new AbortController();
    const running = informer.run(controller.signal);
    await clock.advance(0);
    await informer.whenSynced();
    const cached = informer.get('n1');
    const version = informer.version;
    await api.replace(resources.nodes, { name: 'n1' }, node('t1', 'r1'));
    await clock.advance(0);
    expect(informer.get('n1')).toBe(cached);
    expect(informer.version).toBe(version);
    expect(updates).toEqual([]);
    await api.replace(resources.nodes, { name: 'n1' }, node('t2', 'r2'));
    await clock.advance(0);
    expect(updates).toEqual(['r2']);
    expect(informer.version).not.toBe(version);
    controller.abort();
    await running;
  });
});
