import { describe, expect, it } from 'vitest';
import type { PersistentVolume, PersistentVolumeClaim, Pod, StorageClass } from '../wire/k8s-types.js';
import {
  boundDriverVolumes,
  inlineDriverVolumeIds,
  podClaims,
  usesDriverVolumes,
  type ClaimLookups,
} from './pod-claims.js';

const claims: PersistentVolumeClaim[] = [
  { metadata: { name: 'px', namespace: 'app' }, spec: { storageClassName: 'px-sc', volumeName: 'pv-px' } },
  {
    metadata: { name: 'other', namespace: 'app' },
    spec: { storageClassName: 'other-sc', volumeName: 'pv-o' },
  },
  { metadata: { name: 'pending', namespace: 'app' }, spec: { storageClassName: 'px-sc' } },
  {
    metadata: { name: 'ghost-pv', namespace: 'app' },
    spec: { storageClassName: 'px-sc', volumeName: 'pv-gone' },
  },
  {
    metadata: { name: 'px', namespace: 'elsewhere' },
    spec: { storageClassName: 'px-sc', volumeName: 'pv-x' },
  },
];
const volumes: PersistentVolume[] = [
  { metadata: { name: 'pv-px' }, spec: { csi: { driver: 'pxd.portworx.com', volumeHandle: 'vol-1' } } },
  { metadata: { name: 'pv-o' }, spec: { csi: { driver: 'other.example', volumeHandle: 'vol-2' } } },
];
const classes: StorageClass[] = [
  { metadata: { name: 'px-sc' }, provisioner: 'pxd.portworx.com' },
  { metadata: { name: 'other-sc' }, provisioner: 'other.example' },
];
const lookups: ClaimLookups = {
  getClaim: (name, namespace) =>
    claims.find((c) => c.metadata?.name === name && c.metadata.namespace === namespace),
  getVolume: (name) => volumes.find((v) => v.metadata?.name === name),
  getStorageClass: (name) => classes.find((c) => c.metadata?.name === name),
};
/** Owns what pxd provisions; its volume id is the CSI handle. */
const driver = {
  name: 'pxd',
  ownsClaim: (_c: PersistentVolumeClaim, pv: PersistentVolume | undefined, sc: StorageClass | undefined) =>
    (pv?.spec?.csi?.driver ?? sc?.provisioner) === 'pxd.portworx.com',
  volumeIdOf: (pv: PersistentVolume) => pv.spec?.csi?.volumeHandle,
};

function pod(...names: (string | { inline: string })[]): Pod {
  return {
    metadata: { name: 'p', namespace: 'app' },
    spec: {
      containers: [],
      volumes: [
        { name: 'scratch', emptyDir: {} },
        ...names.map((n, i) =>
          typeof n === 'string'
            ? { name: `v${i}`, persistentVolumeClaim: { claimName: n } }
            : { name: `v${i}`, portworxVolume: { volumeID: n.inline } },
        ),
      ],
    },
  };
}

describe('podClaims', () => {
  it("resolves each claim in the pod's own namespace, in volume order, skipping non-claim volumes", () => {
    const got = podClaims(pod('other', 'px', 'missing', 'pending', 'ghost-pv'), lookups);
    expect(
      got.map((c) => [
        c.key,
        c.claim !== undefined,
        c.pvName,
        c.pv?.metadata?.name,
        c.storageClass?.provisioner,
      ]),
    ).toEqual([
      ['app/other', true, 'pv-o', 'pv-o', 'other.example'],
      ['app/px', true, 'pv-px', 'pv-px', 'pxd.portworx.com'],
      ['app/missing', false, undefined, undefined, undefined],
      ['app/pending', true, undefined, undefined, 'pxd.portworx.com'],
      // The claim names a PV the cache has not seen: the name is kept, the object is absent.
      ['app/ghost-pv', true, 'pv-gone', undefined, 'pxd.portworx.com'],
    ]);
  });

  it('never reads a claim of the same name in another namespace', () => {
    const p = pod('px');
    if (p.metadata) p.metadata.namespace = 'elsewhere';
    expect(podClaims(p, lookups)[0]?.pvName).toBe('pv-x');
  });

  it('reads a pod without a namespace as the default namespace', () => {
    const p = pod('px');
    delete p.metadata?.namespace;
    expect(podClaims(p, lookups)[0]?.key).toBe('default/px');
  });
});

describe('usesDriverVolumes', () => {
  const cases: [string, Pod, boolean][] = [
    ['a claim the driver owns', pod('other', 'px'), true],
    ['an unbound claim of its class', pod('pending'), true],
    ["only another driver's claim", pod('other'), false],
    ['a missing claim', pod('missing'), false],
    ['an inline portworx volume', pod({ inline: 'vol-9' }), true],
    ['no volumes at all', pod(), false],
  ];
  it.each(cases)('%s', (_name, p, want) => {
    expect(usesDriverVolumes(p, driver, lookups)).toBe(want);
  });

  it('never asks the driver about a claim the cache does not have', () => {
    const greedy = { ...driver, ownsClaim: () => true };
    expect(usesDriverVolumes(pod('missing'), greedy, lookups)).toBe(false);
  });

  it('counts inline portworx volumes for pxd only', () => {
    expect(inlineDriverVolumeIds(pod({ inline: 'vol-9' }, 'px'), driver)).toEqual(['vol-9']);
    expect(usesDriverVolumes(pod({ inline: 'vol-9' }), { ...driver, name: 'csi' }, lookups)).toBe(false);
  });
});

describe('boundDriverVolumes', () => {
  it("lists only the driver's claims bound to a PV in the cache, with the driver's volume id", () => {
    const got = boundDriverVolumes(
      pod('other', 'px', 'pending', 'ghost-pv', 'missing', { inline: 'v' }),
      driver,
      lookups,
    );
    expect(got.map((b) => [b.claim.name, b.volumeId])).toEqual([['px', 'vol-1']]);
  });
});
