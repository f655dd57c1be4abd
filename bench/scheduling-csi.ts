// The scheduling benchmark's CSI case (BENCH_CLAIMS=csi): the same pods, with a claim of a CSI driver
// instead of pxd, scheduled through stork's csi driver (`--driver=pxd,csi`). Every node has the driver's
// node plugin registered in its CSINode, and the claim is bound to a network volume (no node affinity),
// so the extender checks each node's registration and the topology of the bound volume for every pod.
import type { CSIDriver, CSINode, PersistentVolume, PersistentVolumeClaim } from '../src/wire/k8s-types.js';
import { csiResources } from '../src/drivers/csi/csi-informers.js';
import type { KubeApi } from '../src/k8s/api.js';
import { isAlreadyExists } from '../src/k8s/errors.js';
import { resources } from '../src/k8s/paths.js';

export const benchCsiDriver = 'network.csi.bench.test';

/** The stork flags of the CSI case (after the box's own `--driver=pxd`, which they override). */
export const csiStorkArgs: readonly string[] = ['--driver=pxd,csi', `--csi-driver-names=${benchCsiDriver}`];

async function createIfAbsent(
  api: KubeApi,
  type: Parameters<KubeApi['create']>[0],
  body: object,
  ns?: string,
) {
  try {
    await api.create(type, body, ns);
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
}

/**
 * The CSIDriver, one CSINode per node (20 writers at once) and a claim pre-bound to a CSI volume; returns
 * the claim's name. Nothing runs the driver: stork reads these objects only.
 */
export async function createCsiBenchClaim(
  api: KubeApi,
  namespace: string,
  nodeNames: readonly string[],
): Promise<string> {
  const claim = 'data-csi';
  const pv = `pv-${namespace}-${claim}`;
  await createIfAbsent(api, csiResources.csiDrivers, {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'CSIDriver',
    metadata: { name: benchCsiDriver },
    spec: { attachRequired: false, storageCapacity: false },
  } satisfies CSIDriver);
  const queue = [...nodeNames];
  const worker = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      await createIfAbsent(api, csiResources.csiNodes, {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'CSINode',
        metadata: { name },
        spec: { drivers: [{ name: benchCsiDriver, nodeID: name }] },
      } satisfies CSINode);
    }
  };
  await Promise.all(Array.from({ length: 20 }, worker));
  await createIfAbsent(api, resources.persistentVolumes, {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: pv },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteMany'],
      persistentVolumeReclaimPolicy: 'Retain',
      csi: { driver: benchCsiDriver, volumeHandle: pv },
      claimRef: { namespace, name: claim },
    },
  } satisfies PersistentVolume);
  await createIfAbsent(
    api,
    resources.persistentVolumeClaims,
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: claim, namespace },
      spec: {
        storageClassName: '',
        volumeName: pv,
        accessModes: ['ReadWriteMany'],
        resources: { requests: { storage: '1Gi' } },
      },
    } satisfies PersistentVolumeClaim,
    namespace,
  );
  return claim;
}
