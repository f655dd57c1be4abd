import type { PersistentVolume, PersistentVolumeClaim, Pod, StorageClass } from '../wire/k8s-types.js';
import { ownsClaim } from '../drivers/portworx/kubernetes.js';
import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from './admission-review.js';
import { decideMutation, defaultSkipAnnotation } from './decision.js';

const driver = { name: 'pxd', ownsClaim };
const options = { schedulerName: 'stork', skipAnnotation: defaultSkipAnnotation };

const claims: Record<string, PersistentVolumeClaim> = {
  'ns/bound': { metadata: { name: 'bound', namespace: 'ns' }, spec: { volumeName: 'pv-px' } },
  'ns/pending': { metadata: { name: 'pending', namespace: 'ns' }, spec: { storageClassName: 'px-sc' } },
  'ns/other': { metadata: { name: 'other', namespace: 'ns' }, spec: { volumeName: 'pv-ebs' } },
};
const volumes: Record<string, PersistentVolume> = {
  'pv-px': { metadata: { name: 'pv-px' }, spec: { csi: { driver: 'pxd.portworx.com', volumeHandle: 'v1' } } },
  'pv-ebs': {
    metadata: { name: 'pv-ebs' },
    spec: { csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'v2' } },
  },
};
const classes: Record<string, StorageClass> = {
  'px-sc': { metadata: { name: 'px-sc' }, provisioner: 'pxd.portworx.com' },
};
const lookups = {
  getClaim: (name: string, ns: string) => claims[`${ns}/${name}`],
  getVolume: (name: string) => volumes[name],
  getStorageClass: (name: string) => classes[name],
};

function pod(options: {
  claims?: string[];
  schedulerName?: string;
  annotations?: Record<string, string>;
}): Pod {
  return {
    metadata: { name: 'p', ...(options.annotations ? { annotations: options.annotations } : {}) },
    spec: {
      containers: [{ name: 'c', image: 'i' }],
      ...(options.schedulerName !== undefined ? { schedulerName: options.schedulerName } : {}),
      volumes: (options.claims ?? []).map((claimName) => ({
        name: claimName,
        persistentVolumeClaim: { claimName },
      })),
    },
  };
}

function request(object: Pod, overrides: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    uid: 'u',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    operation: 'CREATE',
    namespace: 'ns',
    name: '',
    subResource: '',
    object,
    ...overrides,
  };
}

const decide = (r: AdmissionRequest, final = false) => decideMutation(r, driver, lookups, options, final);
const patchTo = (name: string) => ({
  action: 'patch',
  patch: [{ op: 'add', path: '/spec/schedulerName', value: name }],
});

describe('decideMutation', () => {
  it('patches a pod with a claim bound to a driver PV, with no scheduler or the default one', () => {
    expect(decide(request(pod({ claims: ['bound'] })))).toEqual(patchTo('stork'));
    expect(decide(request(pod({ claims: ['bound'], schedulerName: 'default-scheduler' })))).toEqual(
      patchTo('stork'),
    );
  });

  it('patches a pod whose claim is pending with a driver storage class, among other volumes', () => {
    expect(decide(request(pod({ claims: ['other', 'pending'], schedulerName: '' })))).toEqual(
      patchTo('stork'),
    );
  });

  it('uses the configured scheduler name', () => {
    expect(
      decideMutation(request(pod({ claims: ['bound'] })), driver, lookups, {
        ...options,
        schedulerName: 'mine',
      }),
    ).toEqual(patchTo('mine'));
  });

  it('leaves pods without driver volumes alone', () => {
    expect(decide(request(pod({ claims: ['other'] })))).toEqual({
      action: 'skip',
      reason: 'no-driver-volumes',
    });
    expect(decide(request(pod({})))).toEqual({ action: 'skip', reason: 'no-driver-volumes' });
  });

  it('honours the opt-out annotation, under the configured key', () => {
    const annotated = pod({ claims: ['bound'], annotations: { [defaultSkipAnnotation]: 'true' } });
    expect(decide(request(annotated))).toEqual({ action: 'skip', reason: 'opted-out' });
    const other = pod({ claims: ['bound'], annotations: { 'example.com/skip': 'true' } });
    expect(decide(request(other))).toEqual(patchTo('stork'));
    expect(
      decideMutation(request(other), driver, lookups, { ...options, skipAnnotation: 'example.com/skip' }),
    ).toEqual({ action: 'skip', reason: 'opted-out' });
    // Only "true" opts out.
    const no = pod({ claims: ['bound'], annotations: { [defaultSkipAnnotation]: 'false' } });
    expect(decide(request(no))).toEqual(patchTo('stork'));
  });

  it('never overrides a scheduler the pod names', () => {
    expect(decide(request(pod({ claims: ['bound'], schedulerName: 'volcano' })))).toEqual({
      action: 'skip',
      reason: 'other-scheduler',
    });
    expect(decide(request(pod({ claims: ['bound'], schedulerName: 'stork' })))).toEqual({
      action: 'skip',
      reason: 'already-set',
    });
  });

  it('answers only pod CREATE requests', () => {
    expect(decide(request(pod({ claims: ['bound'] }), { operation: 'UPDATE' }))).toEqual({
      action: 'skip',
      reason: 'not-create',
    });
    const deployment = request(pod({ claims: ['bound'] }), {
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    });
    expect(decide(deployment)).toEqual({ action: 'skip', reason: 'not-a-pod' });
    expect(decide(request(pod({ claims: ['bound'] }), { subResource: 'binding' }))).toEqual({
      action: 'skip',
      reason: 'not-a-pod',
    });
  });

  it('waits for claims the caches have not seen yet, then decides on what it knows', () => {
    const r = request(pod({ claims: ['other', 'new'] }));
    expect(decide(r)).toEqual({ action: 'wait', missingClaims: ['new'] });
    expect(decide(r, true)).toEqual({ action: 'skip', reason: 'no-driver-volumes' });
    // A known driver claim decides at once, whatever else is missing.
    expect(decide(request(pod({ claims: ['new', 'bound'] })))).toEqual(patchTo('stork'));
  });

  it('reads claims in the request namespace when the pod carries none', () => {
    expect(decide(request(pod({ claims: ['bound'] }), { namespace: 'elsewhere' }), true)).toEqual({
      action: 'skip',
      reason: 'no-driver-volumes',
    });
  });
});
