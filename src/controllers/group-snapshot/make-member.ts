// A member of a group whose snapshot is done: the seed-API VolumeSnapshot and VolumeSnapshotData of one
// claim, restorable through stork-snapshot-sc like any other snapshot.
import type { DriverVolumeSnapshot } from '../../drivers/volume-snapshots.js';
import type { GroupVolumeSnapshot } from '../../k8s/crds/group-volume-snapshot.js';
import {
  snapshotApiVersion,
  type VolumeSnapshot,
  type VolumeSnapshotData,
} from '../../k8s/crds/volume-snapshot.js';
import { isAlreadyExists } from '../../k8s/errors.js';
import { resources } from '../../k8s/paths.js';
import {
  condition,
  currentCondition,
  restoreNamespacesAnnotation,
  snapshotDataName,
  snapshotFinalizer,
} from '../snapshot/names.js';
import type { GroupSnapshotControllerOptions } from './context.js';
import { GroupFailed } from './failure.js';
import { claimOfMemberName, groupOwnerReference, groupSnapshotUidLabel } from './names.js';

/**
 * The member VolumeSnapshot (owned by the group, protected by the snapshot finalizer so that its deletion
 * deletes the storage snapshot), its VolumeSnapshotData named after its UID, then the two bound and Ready.
 */
export async function makeMember(
  options: GroupSnapshotControllerOptions,
  group: GroupVolumeSnapshot,
  memberName: string,
  driverSnapshot: DriverVolumeSnapshot,
) {
  const { api, snapshots } = options;
  const namespace = group.metadata.namespace ?? '';
  const groupUid = group.metadata.uid ?? '';
  const claimName = claimOfMemberName(group.metadata.name ?? '', memberName, groupUid);
  if (!claimName)
    throw new GroupFailed(`VolumeSnapshot name ${memberName.slice(0, 253)} is not this group's`);
  const restoreNamespaces = (group.spec.restoreNamespaces ?? []).filter((n) => n !== '');
  const body: VolumeSnapshot = {
    apiVersion: snapshotApiVersion,
    kind: 'VolumeSnapshot',
    metadata: {
      name: memberName,
      namespace,
      labels: { ...group.metadata.labels, [groupSnapshotUidLabel]: groupUid },
      ...(restoreNamespaces.length > 0
        ? { annotations: { [restoreNamespacesAnnotation]: restoreNamespaces.join(',') } }
        : {}),
      finalizers: [snapshotFinalizer],
      ownerReferences: [groupOwnerReference(group)],
    },
    spec: { persistentVolumeClaimName: claimName },
  };
  let member: VolumeSnapshot;
  try {
    member = await api.create(resources.volumeSnapshots, body, namespace);
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    member = await api.get(resources.volumeSnapshots, { namespace, name: memberName });
  }
  if (!(member.metadata.ownerReferences ?? []).some((ref) => ref.uid === groupUid))
    throw new GroupFailed(`VolumeSnapshot ${namespace}/${memberName} exists and is not this group's`);
  const memberUid = member.metadata.uid ?? '';
  const dataName = snapshotDataName(memberUid);
  const pvName = options.claims.get(claimName, namespace)?.spec?.volumeName ?? '';
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const dataBody: VolumeSnapshotData = {
    apiVersion: snapshotApiVersion,
    kind: 'VolumeSnapshotData',
    metadata: { name: dataName },
    spec: {
      ...snapshots.snapshotDataSource(driverSnapshot),
      volumeSnapshotRef: { kind: 'VolumeSnapshot', namespace, name: memberName, uid: memberUid },
      ...(pvName ? { persistentVolumeRef: { kind: 'PersistentVolume', name: pvName } } : {}),
    },
  };
  let data: VolumeSnapshotData;
  try {
    data = await api.create(resources.volumeSnapshotDatas, dataBody);
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    data = await api.get(resources.volumeSnapshotDatas, { name: dataName });
  }
  if (currentCondition(data.status?.conditions)?.type !== 'Ready') {
    await api.patch(
      resources.volumeSnapshotDatas,
      { name: dataName, subresource: 'status' },
      {
        status: {
          creationTimestamp: now,
          conditions: [condition('Ready', 'Snapshot created successfully')],
        },
      },
    );
  }
  if (member.spec.snapshotDataName !== dataName) {
    member = await api.patch<VolumeSnapshot>(
      resources.volumeSnapshots,
      { namespace, name: memberName },
      {
        metadata: { resourceVersion: member.metadata.resourceVersion },
        spec: { snapshotDataName: dataName },
      },
    );
  }
  if (currentCondition(member.status?.conditions)?.type !== 'Ready') {
    await api.patch(
      resources.volumeSnapshots,
      { namespace, name: memberName, subresource: 'status' },
      {
        status: {
          creationTimestamp: data.metadata.creationTimestamp ?? now,
          conditions: [condition('Ready', 'Snapshot created successfully and it is ready', 'SnapshotReady')],
        },
      },
    );
  }
}
