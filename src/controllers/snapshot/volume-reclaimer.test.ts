import type { PersistentVolume } from '../../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import { resources } from '../../k8s/paths.js';
import { FakeKubeClient } from '../../k8s/testing/fake-client.js';
import { FakeStorage, runUntilSettled } from './testing.js';
import { VolumeReclaimer } from './volume-reclaimer.js';

const ours = { 'pv.kubernetes.io/provisioned-by': 'stork-snapshot', snapshotProvisionerIdentity: 'stork' };

function pv(
  name: string,
  volumeId: string,
  phase: string,
  policy: string,
  annotations: Record<string, string> = ours,
): PersistentVolume {
  return {
    metadata: { name, annotations },
    spec: {
      csi: { driver: 'pxd.portworx.com', volumeHandle: volumeId },
      persistentVolumeReclaimPolicy: policy,
    },
    status: { phase },
  };
}

const cases: {
  name: string;
  pv: (volumeId: string) => PersistentVolume;
  deleted: boolean;
}[] = [
  {
    name: 'a Released PV of ours with policy Delete: its volume, then the PV',
    pv: (id) => pv('pvc-a', id, 'Released', 'Delete'),
    deleted: true,
  },
  { name: 'Retain keeps both', pv: (id) => pv('pvc-b', id, 'Released', 'Retain'), deleted: false },
  { name: 'a Bound PV is not touched', pv: (id) => pv('pvc-c', id, 'Bound', 'Delete'), deleted: false },
  {
    name: 'a Released PV another provisioner made is not touched',
    pv: (id) =>
      pv('pvc-d', id, 'Released', 'Delete', { 'pv.kubernetes.io/provisioned-by': 'pxd.portworx.com' }),
    deleted: false,
  },
  {
    name: 'a PV naming our provisioner without our identity is not touched',
    pv: (id) =>
      pv('pvc-e', id, 'Released', 'Delete', { 'pv.kubernetes.io/provisioned-by': 'stork-snapshot' }),
    deleted: false,
  },
];

const fakeApi = () =>
  new FakeKubeClient({ statusSubresources: [resources.volumeSnapshots, resources.volumeSnapshotDatas] });

describe('VolumeReclaimer', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const storage = new FakeStorage();
      const volume = storage.addVolume('clone');
      const before = c.pv(volume.id);
      const result = await runUntilSettled(fakeApi(), { volumes: [before] }, storage, (deps) => [
        new VolumeReclaimer(deps),
      ]);
      const left = result.api
        .objects<PersistentVolume>(resources.persistentVolumes)
        .map((p) => p.metadata?.name);
      expect(left).toEqual(c.deleted ? [] : [before.metadata?.name]);
      expect(storage.log).toEqual(c.deleted ? [`delete volume ${volume.id}`] : []);
      // The driver volume goes first: a PV deleted first would leave no record of the volume.
      if (c.deleted) {
        expect(result.api.writes().map((w) => `${w.verb} ${w.resource}`)).toEqual([
          'delete persistentvolumes',
        ]);
      }
    });
  }
});
