import type { Node, StorageClass } from '../wire/k8s-types.js';
import { isAlreadyExists } from '../k8s/errors.js';
import { resources } from '../k8s/paths.js';
import type { SimNodeSpec } from '../simulator/simulator-state.js';
import { startSimulator, type RunningSimulator } from '../simulator/simulator.js';
import type { Box } from './box.js';
import { portworxCsiDriver, SimulatedPortworxProvisioner } from './px-provisioner.js';

/** The storage id the simulator gives the node that runs on Kubernetes node `name`. */
export const storageNodeId = (name: string): string => `px-${name}`;

/** One storage node per Kubernetes node: same hostname and IP, as Portworx reports them. */
export function storageNodesFor(nodes: readonly Node[]): SimNodeSpec[] {
  return nodes.map((node) => {
    const name = node.metadata?.name ?? '';
    const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '';
    return { id: storageNodeId(name), hostname: name, mgmtIp: ip, dataIp: ip, schedulerNodeName: name };
  });
}

export interface BoxStorage {
  readonly simulator: RunningSimulator;
  readonly provisioner: SimulatedPortworxProvisioner;
  stop(): Promise<void>;
}

/**
 * Portworx stand-in for a box: the storage simulator with a node on every box node, the CSI provisioner
 * role for `pxd.portworx.com`, and the seed's storage classes.
 */
export async function startBoxStorage(
  box: Box,
  options: {
    token?: string;
    onError?: (error: unknown, context: string) => void;
    /** Which of the box's nodes get a storage node (default: all). */
    storageNodes?: (node: Node) => boolean;
  } = {},
): Promise<BoxStorage> {
  const nodes = (await box.api.list<Node>(resources.nodes)).items.filter(
    options.storageNodes ?? (() => true),
  );
  const simulator = await startSimulator({
    nodes: storageNodesFor(nodes),
    ...(options.token ? { token: options.token } : {}),
  });
  const provisioner = new SimulatedPortworxProvisioner(box.api, simulator.state, options.onError);
  try {
    await provisioner.start();
  } catch (error) {
    await simulator.stop();
    throw error;
  }
  return {
    simulator,
    provisioner,
    async stop() {
      await provisioner.stop();
      await simulator.stop();
    },
  };
}

/** Creates a StorageClass unless one of that name exists. */
export async function ensureStorageClass(box: Box, storageClass: StorageClass): Promise<void> {
  try {
    await box.api.create(resources.storageClasses, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      ...storageClass,
    });
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
}

/**
 * A driver volume whose replicas are on the given (Kubernetes) nodes, and a PV and a claim bound to it,
 * as Portworx would have provisioned them (StorageClass `px-static`, created on first use). Does not wait
 * for the claim to bind.
 */
export async function createStaticDriverVolume(
  box: Box,
  storage: BoxStorage,
  namespace: string,
  claim: string,
  nodes: readonly string[],
): Promise<string> {
  const { api } = box;
  await ensureStorageClass(box, { metadata: { name: 'px-static' }, provisioner: portworxCsiDriver });
  const id = `${namespace}-${claim}`;
  storage.simulator.state.createVolume({
    id,
    name: id,
    sizeBytes: 2 ** 30,
    haLevel: nodes.length,
    replicaNodes: nodes.map(storageNodeId),
  });
  await api.create(resources.persistentVolumes, {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: id },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'px-static',
      csi: { driver: portworxCsiDriver, volumeHandle: id },
      claimRef: { namespace, name: claim },
    },
  });
  await api.create(
    resources.persistentVolumeClaims,
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: claim },
      spec: {
        storageClassName: 'px-static',
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
        volumeName: id,
      },
    },
    namespace,
  );
  return id;
}

export { portworxCsiDriver };
