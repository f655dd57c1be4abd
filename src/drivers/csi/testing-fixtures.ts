// Plain objects for the csi driver's unit tests and benchmarks (not used by stork itself).
import type {
  CSIDriver,
  CSINode,
  CSIStorageCapacity,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  StorageClass,
} from '../../wire/k8s-types.js';

export const localDriver = 'local.csi.example.com';
export const networkDriver = 'network.csi.example.com';
export const nodeKey = 'topology.local.csi.example.com/node';

export function node(name: string, labels: Record<string, string> = {}): Node {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, [nodeKey]: name, ...labels } },
    status: { addresses: [{ type: 'InternalIP', address: `127.1.0.${name.length}` }] },
  };
}

export function csiNode(name: string, drivers: readonly string[]): CSINode {
  return {
    metadata: { name },
    spec: {
      drivers: drivers.map((d) => ({
        name: d,
        nodeID: name,
        ...(d === localDriver ? { topologyKeys: [nodeKey] } : {}),
      })),
    },
  };
}

export function csiDriver(name: string, storageCapacity: boolean): CSIDriver {
  return { metadata: { name }, spec: { storageCapacity } };
}

export function capacity(
  storageClassName: string,
  nodeName: string,
  bytes: string,
  maximumVolumeSize?: string,
): CSIStorageCapacity {
  return {
    metadata: { name: `${storageClassName}-${nodeName}`, namespace: 'kube-system' },
    storageClassName,
    nodeTopology: { matchLabels: { [nodeKey]: nodeName } },
    capacity: bytes,
    ...(maximumVolumeSize ? { maximumVolumeSize } : {}),
  };
}

export function storageClass(name: string, provisioner: string, wffc: boolean): StorageClass {
  return {
    metadata: { name },
    provisioner,
    volumeBindingMode: wffc ? 'WaitForFirstConsumer' : 'Immediate',
  };
}

export function claim(
  name: string,
  className: string,
  size: string,
  volumeName?: string,
): PersistentVolumeClaim {
  return {
    metadata: { name, namespace: 'ns' },
    spec: {
      storageClassName: className,
      resources: { requests: { storage: size } },
      ...(volumeName ? { volumeName } : {}),
    },
    status: { phase: volumeName ? 'Bound' : 'Pending' },
  };
}

/** A CSI PV; `affinity` maps a label key to the values the volume can be used from. */
export function volume(
  name: string,
  driver: string,
  affinity?: Record<string, readonly string[]>,
): PersistentVolume {
  return {
    metadata: { name },
    spec: {
      capacity: { storage: '1Gi' },
      csi: { driver, volumeHandle: `handle-${name}` },
      ...(affinity
        ? {
            nodeAffinity: {
              required: {
                nodeSelectorTerms: [
                  {
                    matchExpressions: Object.entries(affinity).map(([key, values]) => ({
                      key,
                      operator: 'In',
                      values: [...values],
                    })),
                  },
                ],
              },
            },
          }
        : {}),
    },
  };
}

export function podWithClaims(...claims: readonly string[]): Pod {
  return {
    metadata: { name: 'app', namespace: 'ns' },
    spec: {
      containers: [{ name: 'c' }],
      volumes: claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })),
    },
  };
}
