import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../wire/k8s-types.js';
import { claimProvisioner, claimStorageClassName } from '../drivers/ownership.js';
import type { KubeApi } from '../k8s/api.js';
import { isAlreadyExists, isNotFound } from '../k8s/errors.js';
import { Informer } from '../k8s/informer.js';
import { resources } from '../k8s/paths.js';
import type { SimulatorState } from '../simulator/simulator-state.js';

/** The CSI driver name Portworx registers; the in-tree `kubernetes.io/portworx-volume` migrates to it. */
export const portworxCsiDriver = 'pxd.portworx.com';
const selectedNodeAnnotation = 'volume.kubernetes.io/selected-node';

/**
 * Plays the part of Portworx's CSI provisioner in the box (a test and demo tool): for each pending claim
 * handed to `pxd.portworx.com` it creates a volume in the storage simulator with the class's `repl`
 * replicas and a CSI PersistentVolume pre-bound to the claim, which kube-controller-manager then binds.
 * With WaitForFirstConsumer it waits for the scheduler's selected node and puts the first replica there.
 * A Released volume with reclaim policy Delete is deleted, with its PV.
 */
export class SimulatedPortworxProvisioner {
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly volumes: Informer<PersistentVolume>;
  private readonly classes: Informer<StorageClass>;
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly api: KubeApi,
    private readonly storage: SimulatorState,
    private readonly onError: (error: unknown, context: string) => void = () => undefined,
  ) {
    this.claims = new Informer({ api, type: resources.persistentVolumeClaims, onError });
    this.volumes = new Informer({ api, type: resources.persistentVolumes, onError });
    this.classes = new Informer({ api, type: resources.storageClasses, onError });
    const provision = (pvc: PersistentVolumeClaim): void => {
      void this.provision(pvc).catch((error: unknown) => {
        this.onError(error, `provisioning ${pvc.metadata?.namespace ?? ''}/${pvc.metadata?.name ?? ''}`);
      });
    };
    this.claims.addHandlers({ onAdd: provision, onUpdate: (_, pvc) => provision(pvc) });
    const reclaim = (pv: PersistentVolume): void => {
      void this.reclaim(pv).catch((error: unknown) =>
        this.onError(error, `deleting ${pv.metadata?.name ?? ''}`),
      );
    };
    this.volumes.addHandlers({ onAdd: reclaim, onUpdate: (_, pv) => reclaim(pv) });
  }

  async start(): Promise<void> {
    await Promise.all([this.classes.start(), this.volumes.start()]);
    await this.claims.start();
  }

  async stop(): Promise<void> {
    for (const informer of [this.claims, this.volumes, this.classes]) informer.stop();
    await Promise.all([this.claims.stopped(), this.volumes.stopped(), this.classes.stopped()]);
  }

  private async provision(pvc: PersistentVolumeClaim): Promise<void> {
    const uid = pvc.metadata?.uid;
    const namespace = pvc.metadata?.namespace ?? 'default';
    const name = pvc.metadata?.name ?? '';
    if (!uid || pvc.spec?.volumeName || pvc.status?.phase !== 'Pending') return;
    const className = claimStorageClassName(pvc);
    const storageClass = className ? this.classes.get(className) : undefined;
    if (!storageClass) return;
    const provisioner = claimProvisioner(pvc, storageClass);
    if (provisioner !== portworxCsiDriver && provisioner !== 'kubernetes.io/portworx-volume') return;
    const selectedNode = pvc.metadata?.annotations?.[selectedNodeAnnotation];
    if (storageClass.volumeBindingMode === 'WaitForFirstConsumer' && !selectedNode) return;
    const pvName = `pvc-${uid}`;
    if (this.inFlight.has(pvName) || this.volumes.get(pvName)) return;
    this.inFlight.add(pvName);
    try {
      const request = pvc.spec?.resources?.requests?.storage ?? '1Gi';
      const replicas = Number(storageClass.parameters?.repl ?? '1');
      const volume = this.storage.createVolume({
        id: pvName,
        name: pvName,
        sizeBytes: bytesOf(request),
        haLevel: replicas,
        replicaNodes: this.replicaNodes(replicas, selectedNode),
        labels: { pvc: name, namespace },
      });
      const pv: PersistentVolume = {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: pvName, annotations: { 'pv.kubernetes.io/provisioned-by': portworxCsiDriver } },
        spec: {
          capacity: { storage: request },
          accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: storageClass.reclaimPolicy ?? 'Delete',
          storageClassName: storageClass.metadata?.name ?? '',
          csi: { driver: portworxCsiDriver, volumeHandle: volume.id, fsType: 'ext4' },
          claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name, uid },
        },
      };
      try {
        await this.api.create(resources.persistentVolumes, pv);
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
      }
    } finally {
      this.inFlight.delete(pvName);
    }
  }

  /** Replica nodes: the scheduler's selected node first (by its Kubernetes name), then the least loaded. */
  private replicaNodes(count: number, selectedNode: string | undefined): string[] {
    const nodes = this.storage.nodes();
    const load = this.storage.load();
    const first = selectedNode ? nodes.find((n) => n.schedulerNodeName === selectedNode) : undefined;
    const rest = nodes
      .filter((n) => n.id !== first?.id && n.status === 'STATUS_OK')
      .sort((a, b) => (load.get(a.id) ?? 0) - (load.get(b.id) ?? 0) || a.id.localeCompare(b.id));
    return [...(first ? [first] : []), ...rest].slice(0, count).map((n) => n.id);
  }

  private async reclaim(pv: PersistentVolume): Promise<void> {
    if (pv.status?.phase !== 'Released' || pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') return;
    if (pv.spec.csi?.driver !== portworxCsiDriver) return;
    this.storage.deleteVolume(pv.spec.csi.volumeHandle);
    try {
      await this.api.delete(resources.persistentVolumes, { name: pv.metadata?.name ?? '' });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

const units: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** Bytes of a Kubernetes quantity such as `2Gi` or `500M`. */
export function bytesOf(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity.trim());
  const unit = units[match?.[2] ?? ''];
  if (!match || unit === undefined) throw new RangeError(`unsupported quantity "${quantity}"`);
  return Math.ceil(Number(match[1]) * unit);
}
