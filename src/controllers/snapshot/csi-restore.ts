// Restores of CSI-backed snapshots for the `stork-snapshot` provisioner. The CSI driver makes the volume:
// stork asks for it with a claim of its own (the "restore claim", in the user's namespace, of the source
// volume's storage class, with the CSI VolumeSnapshot as its data source), and once the driver's
// provisioner has bound a volume to that claim, stork points the volume's claimRef at the user's claim;
// kube-controller-manager's PV controller then binds the user's claim to it (a pre-bound volume), as
// upstream's volume populators rebind theirs. The restore claim, left Lost, is deleted afterwards.
import type { Node, PersistentVolume, PersistentVolumeClaim, StorageClass } from '../../wire/k8s-types.js';
import {
  csiSnapshotResources,
  type CsiVolumeSnapshot,
  type CsiVolumeSnapshotContent,
} from '../../drivers/csi/csi-snapshots.js';
import { nodeSelectorMatches } from '../../drivers/node-selectors.js';
import { claimStorageClassName } from '../../drivers/ownership.js';
import { quantityValue } from '../../drivers/quantity.js';
import type { KubeClient } from '../../k8s/client.js';
import { getOrUndefined, ignoreNotFound, isAlreadyExists } from '../../k8s/errors.js';
import { objectReference, type EventRecorder } from '../../k8s/events.js';
import { resources } from '../../k8s/paths.js';
import type { Logger } from '../../lib/log.js';
import type { WorkResult } from '../../lib/work-queue.js';
import { snapshotAnnotation } from './names.js';
import { RestoreRefused, type RestoreRef } from './restore-source.js';

/** On stork's restore claim, its PV, and (cross-namespace) its VolumeSnapshot and content: the user claim's UID. */
export const restoreForUidLabel = 'stork.libopenstorage.org/restore-for-uid';
/** On stork's restore claim: the name of the user's claim it restores for (same namespace). */
export const restoreForClaimAnnotation = 'stork.libopenstorage.org/restore-for';
/** The scheduler's choice of node for a claim of a WaitForFirstConsumer class (read by the provisioner). */
export const selectedNodeAnnotation = 'volume.kubernetes.io/selected-node';

/**
 * On a VolumeSnapshotContent, with distributed snapshotting: the node whose snapshotter sidecar serves it
 * (external-snapshotter's label). Copied onto a pre-provisioned content, or no sidecar would serve it.
 */
export const managedByLabel = 'snapshot.storage.kubernetes.io/managed-by';

/** How often a restore in progress is looked at again, besides the watch events that wake it. */
const pollMs = 2000;

/**
 * The name of everything stork makes to restore a claim from a CSI snapshot: the restore claim, and for
 * another namespace's snapshot, the VolumeSnapshot and VolumeSnapshotContent that bring it there.
 * Derived from the user claim's UID, so a retry or a restarted stork finds them instead of making more.
 */
export function csiRestoreName(claimUid: string): string {
  return `stork-restore-${claimUid}`;
}

/** Whether an object is one stork made for the claim with this UID (its label says so). */
function madeFor(object: { metadata?: { labels?: Record<string, string> } }, claimUid: string): boolean {
  return !!claimUid && object.metadata?.labels?.[restoreForUidLabel] === claimUid;
}

/** The user claim a restore claim works for (`namespace/name`), or undefined for any other claim. */
export function restoreClaimOwner(pvc: PersistentVolumeClaim): string | undefined {
  const owner = pvc.metadata?.annotations?.[restoreForClaimAnnotation];
  return owner && pvc.metadata?.labels?.[restoreForUidLabel]
    ? `${pvc.metadata.namespace ?? ''}/${owner}`
    : undefined;
}

export interface CsiRestoresOptions {
  readonly api: KubeClient;
  readonly events: EventRecorder;
  readonly logger: Logger;
  readonly storageClasses: { get(name: string): StorageClass | undefined };
  /** The PV with this CSI volume handle of this driver, if any (the PV informer). */
  readonly volumeByHandle: (driver: string, handle: string) => PersistentVolume | undefined;
}

/** What a CSI snapshot is restored from: read from the CSI VolumeSnapshot, its content and source PV. */
interface CsiSource {
  readonly snapshot: CsiVolumeSnapshot;
  readonly content: CsiVolumeSnapshotContent & {
    spec: { source?: { volumeHandle?: string }; volumeSnapshotClassName?: string; sourceVolumeMode?: string };
  };
  readonly storageClass: StorageClass;
  readonly node?: string;
}

/**
 * The CSI half of the `stork-snapshot` provisioner. `restore` moves one held user claim a step on and asks
 * to be called again; `cleanUp` removes what it made once the user claim no longer waits for a volume.
 *
 * Nothing here deletes a volume: a restore claim is deleted only once its volume's claimRef names the
 * user claim (then the user claim's lifecycle owns the volume), or once the user claim no longer wants
 * a volume (then the volume made for it belongs to no one, and the restore claim's deletion hands it to
 * its class's reclaim policy, through the CSI driver's own provisioner).
 */
export class CsiRestores {
  constructor(private readonly options: CsiRestoresOptions) {}

  async restore(pvc: PersistentVolumeClaim, ref: RestoreRef, signal?: AbortSignal): Promise<WorkResult> {
    const { api } = this.options;
    const uid = pvc.metadata?.uid ?? '';
    const namespace = pvc.metadata?.namespace ?? '';
    const name = csiRestoreName(uid);
    const shadow = await getOrUndefined<PersistentVolumeClaim>(() =>
      api.get(resources.persistentVolumeClaims, { namespace, name }, { signal }),
    );
    if (shadow && !madeFor(shadow, uid)) {
      throw new RestoreRefused(`claim ${namespace}/${name} exists and was not made by stork for this claim`);
    }
    if (!shadow) {
      // Its volume already handed over (the restore claim deleted since): the PV controller binds it.
      if (await this.handedOver(uid, signal)) return { requeueAfterMs: pollMs };
      const source = await this.source(ref, signal);
      const dataSource = namespace === ref.namespace ? ref.name : await this.bringOver(pvc, source, signal);
      await this.createShadow(pvc, source, dataSource, signal);
      return { requeueAfterMs: pollMs };
    }
    const volumeName = shadow.spec?.volumeName;
    if (!volumeName) return { requeueAfterMs: pollMs };
    const pv = await getOrUndefined<PersistentVolume>(() =>
      api.get(resources.persistentVolumes, { name: volumeName }, { signal }),
    );
    if (!pv) return { requeueAfterMs: pollMs };
    const claimRefUid = pv.spec?.claimRef?.uid;
    if (claimRefUid === uid) return { requeueAfterMs: pollMs };
    if (claimRefUid !== shadow.metadata?.uid) {
      throw new RestoreRefused(
        `volume ${volumeName} of claim ${namespace}/${name} is bound to another claim; not touching it`,
      );
    }
    await this.handOver(pvc, shadow, pv, signal);
    return { requeueAfterMs: pollMs };
  }

  /** Whether a PV made for the claim with this UID already names it (read from the API server). */
  private async handedOver(uid: string, signal?: AbortSignal): Promise<boolean> {
    const list = await this.options.api.list<PersistentVolume>(resources.persistentVolumes, undefined, {
      labelSelector: `${restoreForUidLabel}=${uid}`,
      signal,
    });
    return list.items.some((pv) => pv.spec?.claimRef?.uid === uid);
  }

  /**
   * Points the restore claim's volume at the user's claim: its claimRef (with the user claim's UID, so
   * that deleting the user claim releases the volume to its reclaim policy) and its class (the user
   * claim's, as a pre-bound volume of another class would not satisfy the claim). One write, guarded by
   * the resourceVersion read: the volume is never half handed over.
   */
  private async handOver(
    pvc: PersistentVolumeClaim,
    shadow: PersistentVolumeClaim,
    pv: PersistentVolume,
    signal?: AbortSignal,
  ): Promise<void> {
    const uid = pvc.metadata?.uid ?? '';
    const namespace = pvc.metadata?.namespace ?? '';
    const name = pvc.metadata?.name ?? '';
    const pvName = pv.metadata?.name ?? '';
    await this.options.api.patch(
      resources.persistentVolumes,
      { name: pvName },
      {
        metadata: { resourceVersion: pv.metadata?.resourceVersion, labels: { [restoreForUidLabel]: uid } },
        spec: {
          claimRef: {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            namespace,
            name,
            uid,
            resourceVersion: pvc.metadata?.resourceVersion,
          },
          storageClassName: claimStorageClassName(pvc) ?? '',
        },
      },
      'merge',
      { signal },
    );
    const source = pvc.metadata?.annotations?.[snapshotAnnotation] ?? '';
    this.options.events.record(
      claimReference(pvc),
      'Normal',
      'ProvisioningSucceeded',
      `Successfully provisioned volume ${pvName} from snapshot ${source} (through claim ${csiRestoreName(uid)})`,
    );
    this.options.logger.info(
      { claim: `${namespace}/${name}`, pv: pvName, restoreClaim: shadow.metadata?.name },
      'restored from a CSI snapshot; the volume is handed to the claim',
    );
  }

  /** The CSI snapshot a restore reads, and where its volume is to be made; RestoreRefused says why not. */
  private async source(ref: RestoreRef, signal?: AbortSignal): Promise<CsiSource> {
    const { api, storageClasses, volumeByHandle } = this.options;
    const what = `CSI snapshot ${ref.namespace}/${ref.name}`;
    const snapshot = await getOrUndefined<CsiVolumeSnapshot>(() =>
      api.get(csiSnapshotResources.volumeSnapshots, ref, { signal }),
    );
    if (!snapshot) throw new RestoreRefused(`${what} not found`);
    const contentName = snapshot.status?.boundVolumeSnapshotContentName;
    if (snapshot.status?.readyToUse !== true || !contentName)
      throw new RestoreRefused(`${what} is not ready yet`);
    const content = await getOrUndefined<CsiSource['content']>(() =>
      api.get(csiSnapshotResources.volumeSnapshotContents, { name: contentName }, { signal }),
    );
    if (!content?.status?.snapshotHandle)
      throw new RestoreRefused(`${what}: its content ${contentName} has no snapshot handle`);
    const driver = content.spec.driver;
    const handle = content.spec.source?.volumeHandle;
    const sourcePv = handle ? volumeByHandle(driver, handle) : undefined;
    const className = sourcePv?.spec?.storageClassName;
    if (!className) {
      throw new RestoreRefused(
        `${what}: its source volume (${handle ?? 'not recorded'}) is gone or has no storage class, ` +
          'so stork cannot tell which class to restore it with',
      );
    }
    const storageClass = storageClasses.get(className);
    if (storageClass?.provisioner !== driver) {
      throw new RestoreRefused(
        `${what}: storage class ${className} not found or not provisioned by ${driver}`,
      );
    }
    if (storageClass.volumeBindingMode !== 'WaitForFirstConsumer') return { snapshot, content, storageClass };
    // No pod will consume the restore claim, so no scheduler picks its node: stork does, the node whose
    // snapshotter serves the snapshot (distributed snapshotting), else one the source volume is reachable
    // from (where a node-local driver keeps its snapshots).
    const node = content.metadata.labels?.[managedByLabel] ?? (await this.nodeFor(sourcePv, signal));
    if (!node) {
      throw new RestoreRefused(`${what}: no node matches its source volume's node affinity to restore it on`);
    }
    return { snapshot, content, storageClass, node };
  }

  private async nodeFor(pv: PersistentVolume | undefined, signal?: AbortSignal): Promise<string | undefined> {
    const nodes = await this.options.api.list<Node>(resources.nodes, undefined, { signal });
    const required = pv?.spec?.nodeAffinity?.required;
    const names = nodes.items
      .filter((n) => !n.spec?.unschedulable && (!required || nodeSelectorMatches(required, n)))
      .map((n) => n.metadata?.name ?? '')
      .filter((n) => n !== '')
      .sort();
    return names[0];
  }

  /**
   * For a snapshot of another namespace (restore-source.ts has allowed it): a VolumeSnapshotContent of the
   * same storage snapshot, with the Retain policy so that its deletion never deletes the snapshot, and a
   * VolumeSnapshot in the user's namespace bound to it (upstream's pre-provisioned snapshot). Returns that
   * VolumeSnapshot's name.
   */
  private async bringOver(
    pvc: PersistentVolumeClaim,
    source: CsiSource,
    signal?: AbortSignal,
  ): Promise<string> {
    const uid = pvc.metadata?.uid ?? '';
    const namespace = pvc.metadata?.namespace ?? '';
    const name = csiRestoreName(uid);
    const labels = { [restoreForUidLabel]: uid };
    const { spec, status, metadata } = source.content;
    const managedBy = metadata.labels?.[managedByLabel];
    const content = {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotContent',
      metadata: { name, labels: { ...labels, ...(managedBy ? { [managedByLabel]: managedBy } : {}) } },
      spec: {
        deletionPolicy: 'Retain',
        driver: spec.driver,
        source: { snapshotHandle: status?.snapshotHandle },
        ...(spec.volumeSnapshotClassName ? { volumeSnapshotClassName: spec.volumeSnapshotClassName } : {}),
        ...(spec.sourceVolumeMode ? { sourceVolumeMode: spec.sourceVolumeMode } : {}),
        volumeSnapshotRef: {
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshot',
          namespace,
          name,
        },
      },
    };
    const snapshot = {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name, namespace, labels },
      spec: { source: { volumeSnapshotContentName: name } },
    };
    await this.createOrAdopt(csiSnapshotResources.volumeSnapshotContents, content, undefined, uid, signal);
    await this.createOrAdopt(csiSnapshotResources.volumeSnapshots, snapshot, namespace, uid, signal);
    return name;
  }

  private async createShadow(
    pvc: PersistentVolumeClaim,
    source: CsiSource,
    dataSource: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const uid = pvc.metadata?.uid ?? '';
    const namespace = pvc.metadata?.namespace ?? '';
    const name = csiRestoreName(uid);
    const requested = pvc.spec?.resources?.requests?.storage;
    const restoreSize = source.snapshot.status?.restoreSize;
    const shadow: PersistentVolumeClaim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name,
        namespace,
        labels: { [restoreForUidLabel]: uid },
        annotations: {
          [restoreForClaimAnnotation]: pvc.metadata?.name ?? '',
          ...(source.node ? { [selectedNodeAnnotation]: source.node } : {}),
        },
      },
      spec: {
        accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
        storageClassName: source.storageClass.metadata?.name ?? '',
        ...(pvc.spec?.volumeMode ? { volumeMode: pvc.spec.volumeMode } : {}),
        resources: { requests: { storage: largerQuantity(requested, restoreSize) } },
        dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: dataSource },
      },
    };
    await this.createOrAdopt(resources.persistentVolumeClaims, shadow, namespace, uid, signal);
    this.options.events.record(
      claimReference(pvc),
      'Normal',
      'Restoring',
      `restoring CSI snapshot ${source.snapshot.metadata.namespace ?? ''}/${source.snapshot.metadata.name ?? ''} ` +
        `through claim ${name} of class ${source.storageClass.metadata?.name ?? ''}; ` +
        `its volume is bound to this claim when ${source.storageClass.provisioner} has made it`,
    );
  }

  /** Creates an object, or accepts the one already there if stork made it for this claim. */
  private async createOrAdopt(
    type: Parameters<KubeClient['create']>[0],
    body: { metadata?: { name?: string } },
    namespace: string | undefined,
    uid: string,
    signal?: AbortSignal,
  ): Promise<void> {
    try {
      await this.options.api.create(type, body, namespace, { signal });
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      const name = body.metadata?.name ?? '';
      const existing = await this.options.api.get<{ metadata?: { labels?: Record<string, string> } }>(
        type,
        { name, ...(namespace ? { namespace } : {}) },
        { signal },
      );
      if (!madeFor(existing, uid)) {
        throw new RestoreRefused(`${type.resource} ${name} exists and was not made by stork for this claim`);
      }
    }
  }

  /**
   * Removes what `restore` made for a claim that no longer waits for a volume (bound, or deleted): the
   * restore claim (Lost once its volume was handed over; else its volume, which belongs to no one, goes
   * with it by its class's reclaim policy), then a cross-namespace VolumeSnapshot and its content. The
   * content is deleted only with the Retain policy, so the storage snapshot itself always stays.
   */
  async cleanUp(pvc: PersistentVolumeClaim, signal?: AbortSignal): Promise<void> {
    const { api, logger } = this.options;
    const uid = pvc.metadata?.uid ?? '';
    const namespace = pvc.metadata?.namespace ?? '';
    if (!uid) return;
    const name = csiRestoreName(uid);
    const shadow = await getOrUndefined<PersistentVolumeClaim>(() =>
      api.get(resources.persistentVolumeClaims, { namespace, name }, { signal }),
    );
    if (shadow && madeFor(shadow, uid)) {
      await ignoreNotFound(
        api.delete(
          resources.persistentVolumeClaims,
          { namespace, name },
          { uid: shadow.metadata?.uid, signal },
        ),
      );
      logger.info(
        { claim: `${namespace}/${pvc.metadata?.name ?? ''}`, restoreClaim: name },
        'deleted the restore claim',
      );
    }
    const snapshot = await getOrUndefined<CsiVolumeSnapshot>(() =>
      api.get(csiSnapshotResources.volumeSnapshots, { namespace, name }, { signal }),
    );
    if (snapshot && madeFor(snapshot, uid)) {
      await ignoreNotFound(api.delete(csiSnapshotResources.volumeSnapshots, { namespace, name }, { signal }));
    }
    const content = await getOrUndefined<CsiVolumeSnapshotContent>(() =>
      api.get(csiSnapshotResources.volumeSnapshotContents, { name }, { signal }),
    );
    if (content && madeFor(content, uid)) {
      if (content.spec.deletionPolicy !== 'Retain') {
        await api.patch(
          csiSnapshotResources.volumeSnapshotContents,
          { name },
          {
            metadata: { resourceVersion: content.metadata.resourceVersion },
            spec: { deletionPolicy: 'Retain' },
          },
          'merge',
          { signal },
        );
      }
      await ignoreNotFound(api.delete(csiSnapshotResources.volumeSnapshotContents, { name }, { signal }));
    }
  }
}

/** The larger of two quantities (the user's request, the snapshot's restore size); either may be unset. */
export function largerQuantity(a: string | undefined, b: string | undefined): string {
  if (!a) return b ?? '1Gi';
  if (!b) return a;
  return (quantityValue(b) ?? 0) > (quantityValue(a) ?? 0) ? b : a;
}

function claimReference(pvc: PersistentVolumeClaim) {
  return objectReference({ ...pvc, apiVersion: 'v1', kind: 'PersistentVolumeClaim' });
}
