// Native group snapshots of CSI volumes: groupsnapshot.storage.k8s.io/v1 VolumeGroupSnapshots, served by
// external-snapshotter (snapshot-controller makes one VolumeSnapshot per member volume once the CSI
// driver's CreateVolumeGroupSnapshot has cut them all at one point in time).
import type { LabelSelector, ObjectMeta } from '../../wire/k8s-types.js';
import type { KubeClient } from '../../k8s/client.js';
import { getOrUndefined, ignoreNotFound, isNotFound, isResourceNotServed } from '../../k8s/errors.js';
import type { ResourceType } from '../../k8s/paths.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { truncate } from '../../lib/http.js';
import type { DriverVolumeSnapshot, GroupSnapshotState } from '../volume-snapshots.js';
import { discardBoundContent } from './content-discard.js';
import { contentErrorIsFinal } from './content-error.js';
import { csiSnapshotResources, CsiSnapshotFailed, type CsiVolumeSnapshot } from './csi-snapshots.js';

const groupApi = (resource: string, namespaced: boolean): ResourceType => ({
  group: 'groupsnapshot.storage.k8s.io',
  version: 'v1',
  resource,
  namespaced,
});

export const csiGroupSnapshotResources = {
  volumeGroupSnapshots: groupApi('volumegroupsnapshots', true),
  volumeGroupSnapshotContents: groupApi('volumegroupsnapshotcontents', false),
  volumeGroupSnapshotClasses: groupApi('volumegroupsnapshotclasses', false),
} as const;

/** external-snapshotter's mark of a driver's default VolumeGroupSnapshotClass. */
export const defaultGroupSnapshotClassAnnotation = 'groupsnapshot.storage.kubernetes.io/is-default-class';
/**
 * csi-snapshotter's mark on a group content whose CreateVolumeGroupSnapshot has not had a final answer:
 * while it is there, an error in the status is one the sidecar retries.
 */
export const groupBeingCreatedAnnotation =
  'groupsnapshot.storage.kubernetes.io/volumegroupsnapshot-being-created';

/** The parts of groupsnapshot.storage.k8s.io/v1 objects read here. */
export interface CsiVolumeGroupSnapshot {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: {
    source: { selector?: LabelSelector; volumeGroupSnapshotContentName?: string };
    volumeGroupSnapshotClassName?: string;
  };
  status?: {
    boundVolumeGroupSnapshotContentName?: string;
    creationTime?: string;
    readyToUse?: boolean;
    error?: { time?: string; message?: string };
  };
}

export interface CsiVolumeGroupSnapshotContent {
  metadata: ObjectMeta;
  spec: { deletionPolicy: 'Delete' | 'Retain'; driver: string; volumeGroupSnapshotRef?: { uid?: string } };
  status?: { volumeGroupSnapshotHandle?: string; error?: { time?: string; message?: string } };
}

export interface CsiVolumeGroupSnapshotClass {
  metadata: ObjectMeta;
  driver: string;
  deletionPolicy: 'Delete' | 'Retain';
}

/** A VolumeGroupSnapshotClass name: a DNS-1123 subdomain, as Kubernetes validates a cluster-scoped name. */
function isClassName(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name);
}

export interface CsiGroupSnapshotsOptions {
  readonly api: KubeClient;
  /** A member VolumeSnapshot as the csi driver reports its snapshots (CsiVolumeSnapshots). */
  readonly describe: (snapshot: CsiVolumeSnapshot, signal?: AbortSignal) => Promise<DriverVolumeSnapshot>;
  /** How long the group may take to be cut (`status.creationTime`) while the pre-rule is held (60 s). */
  readonly cutTimeoutMs?: number;
  /** How long, from its creation, a cut group may take to become `readyToUse` (10 min). */
  readonly readyTimeoutMs?: number;
  /** How often the VolumeGroupSnapshot is read while waiting for the cut (250 ms). */
  readonly pollIntervalMs?: number;
  readonly clock?: Clock;
}

/**
 * One VolumeGroupSnapshot per group, named by the caller (from the group's UID, so a retry or a restarted
 * stork finds it). `cut` returns once the group is cut, so a pre-rule is held exactly that long; a final
 * failure or a timeout removes the group snapshot with its contents, whatever the class's policy. An error
 * the sidecar still retries (before the cut, or in a readiness check after it) is waited out within the
 * cut and ready timeouts, as for a single CSI snapshot.
 */
export class CsiGroupSnapshots {
  private readonly clock: Clock;

  constructor(private readonly options: CsiGroupSnapshotsOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /**
   * The class for a CSI driver: `wanted` if named (it must exist and be that driver's), else the driver's
   * one default; undefined when the driver has none (or the API is not served), so a caller falls back.
   */
  async classFor(
    driver: string,
    wanted: string | undefined,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const { api } = this.options;
    if (wanted !== undefined) {
      if (!isClassName(wanted))
        throw new CsiSnapshotFailed(
          `"${truncate(wanted, 80)}" is not a VolumeGroupSnapshotClass name (a DNS subdomain of at most 253 characters)`,
        );
      let chosen: CsiVolumeGroupSnapshotClass;
      try {
        chosen = await api.get(
          csiGroupSnapshotResources.volumeGroupSnapshotClasses,
          { name: wanted },
          { signal },
        );
      } catch (error) {
        if (isNotFound(error)) throw new CsiSnapshotFailed(`VolumeGroupSnapshotClass ${wanted} not found`);
        throw error;
      }
      if (chosen.driver !== driver)
        throw new CsiSnapshotFailed(
          `VolumeGroupSnapshotClass ${wanted} is for CSI driver ${chosen.driver}, not ${driver}`,
        );
      return wanted;
    }
    let classes: CsiVolumeGroupSnapshotClass[];
    try {
      classes = (
        await api.list<CsiVolumeGroupSnapshotClass>(
          csiGroupSnapshotResources.volumeGroupSnapshotClasses,
          undefined,
          {
            signal,
          },
        )
      ).items;
    } catch (error) {
      if (isResourceNotServed(error)) return undefined;
      throw error;
    }
    const defaults = classes.filter(
      (c) => c.driver === driver && c.metadata.annotations?.[defaultGroupSnapshotClassAnnotation] === 'true',
    );
    if (defaults.length > 1)
      throw new CsiSnapshotFailed(
        `CSI driver ${driver} has ${defaults.length} default VolumeGroupSnapshotClasses; name one`,
      );
    return defaults[0]?.metadata.name;
  }

  /** Makes (or finds) the VolumeGroupSnapshot and waits until it is cut; failures remove it and are final. */
  async cut(
    ref: { namespace: string; name: string },
    spec: { selector: LabelSelector; className: string; labels: Readonly<Record<string, string>> },
    signal?: AbortSignal,
  ): Promise<void> {
    const { api } = this.options;
    const body: CsiVolumeGroupSnapshot = {
      apiVersion: 'groupsnapshot.storage.k8s.io/v1',
      kind: 'VolumeGroupSnapshot',
      metadata: { name: ref.name, namespace: ref.namespace, labels: { ...spec.labels } },
      spec: { source: { selector: spec.selector }, volumeGroupSnapshotClassName: spec.className },
    };
    let current = await getOrUndefined(() =>
      api.get<CsiVolumeGroupSnapshot>(csiGroupSnapshotResources.volumeGroupSnapshots, ref, { signal }),
    );
    current ??= await api.create(csiGroupSnapshotResources.volumeGroupSnapshots, body, ref.namespace, {
      signal,
    });
    const timeout = this.options.cutTimeoutMs ?? 60_000;
    const deadline = this.clock.now() + timeout;
    const what = `the VolumeGroupSnapshot ${ref.namespace}/${ref.name}`;
    for (;;) {
      const error = current.status?.error?.message;
      if (error !== undefined && (await this.failedForGood(current, signal))) {
        await this.discard(ref, signal);
        throw new CsiSnapshotFailed(`${what} failed: ${error}`);
      }
      if (current.status?.creationTime) return;
      if (this.clock.now() >= deadline) {
        await this.discard(ref, signal);
        throw new CsiSnapshotFailed(
          `${what} was not cut within ${Math.round(timeout / 1000)}s` +
            (error !== undefined ? `; its last error: ${error}` : ''),
        );
      }
      await this.clock.sleep(this.options.pollIntervalMs ?? 250, signal);
      const next = await getOrUndefined(() =>
        api.get<CsiVolumeGroupSnapshot>(csiGroupSnapshotResources.volumeGroupSnapshots, ref, { signal }),
      );
      if (!next) throw new CsiSnapshotFailed(`${what} was deleted before it was cut`);
      current = next;
    }
  }

  /** The group and its member VolumeSnapshots (snapshot-controller's, owned by it) by claim name. */
  async state(ref: { namespace: string; name: string }, signal?: AbortSignal): Promise<GroupSnapshotState> {
    const { api } = this.options;
    const group = await getOrUndefined(() =>
      api.get<CsiVolumeGroupSnapshot>(csiGroupSnapshotResources.volumeGroupSnapshots, ref, { signal }),
    );
    if (!group || group.metadata.deletionTimestamp) return { phase: 'gone' };
    const what = `the VolumeGroupSnapshot ${ref.namespace}/${ref.name}`;
    const error = group.status?.error?.message;
    if (error !== undefined && (await this.failedForGood(group, signal)))
      return { phase: 'failed', cause: `${what} failed: ${error}` };
    const readyTimeout = this.options.readyTimeoutMs ?? 600_000;
    const created = Date.parse(group.metadata.creationTimestamp ?? '');
    const late = Number.isFinite(created) && this.clock.wallNow() - created > readyTimeout;
    const lateCause =
      `${what} was not ready within ${Math.round(readyTimeout / 1000)}s` +
      (error !== undefined ? `; its last error: ${error}` : '');
    // A retried error is waited out until external-snapshotter clears it (it does once the content is ready).
    if (group.status?.readyToUse !== true || error !== undefined)
      return late ? { phase: 'failed', cause: lateCause } : { phase: 'pending' };
    const members = new Map<string, DriverVolumeSnapshot>();
    for (const snapshot of await this.memberSnapshots(group, signal)) {
      const claim = snapshot.spec.source.persistentVolumeClaimName;
      if (claim) members.set(claim, await this.options.describe(snapshot, signal));
    }
    return { phase: 'ready', members };
  }

  /**
   * Removes a group snapshot that must leave nothing behind: its content and its members' contents are
   * switched to the Delete policy, the group snapshot is deleted (snapshot-controller deletes the members
   * with it), then the group content is marked being deleted and deleted (see discardBoundContent).
   */
  async discard(ref: { namespace: string; name: string }, signal?: AbortSignal): Promise<void> {
    const { api } = this.options;
    const group = await getOrUndefined(() =>
      api.get<CsiVolumeGroupSnapshot>(csiGroupSnapshotResources.volumeGroupSnapshots, ref, { signal }),
    );
    if (!group) return;
    const contents: [ResourceType, string, string | undefined][] = [];
    // As for single snapshots, a content made just now may not be in the status yet; snapshot-controller
    // names it after the group snapshot's UID.
    const groupContent =
      group.status?.boundVolumeGroupSnapshotContentName ??
      (group.metadata.uid ? `groupsnapcontent-${group.metadata.uid}` : undefined);
    if (groupContent)
      contents.push([
        csiGroupSnapshotResources.volumeGroupSnapshotContents,
        groupContent,
        group.metadata.uid,
      ]);
    for (const member of await this.memberSnapshots(group, signal)) {
      const memberContent = member.status?.boundVolumeSnapshotContentName;
      if (memberContent)
        contents.push([csiSnapshotResources.volumeSnapshotContents, memberContent, member.metadata.uid]);
    }
    for (const [type, name, uid] of contents)
      await discardBoundContent(api, type, name, uid, 'before', signal);
    await ignoreNotFound(
      api.delete(csiGroupSnapshotResources.volumeGroupSnapshots, ref, { uid: group.metadata.uid, signal }),
    );
    if (groupContent)
      await discardBoundContent(
        api,
        csiGroupSnapshotResources.volumeGroupSnapshotContents,
        groupContent,
        group.metadata.uid,
        'after',
        signal,
      );
  }

  /** Whether the error in a VolumeGroupSnapshot's status is final (see contentErrorIsFinal). */
  private async failedForGood(group: CsiVolumeGroupSnapshot, signal?: AbortSignal): Promise<boolean> {
    const name = group.status?.boundVolumeGroupSnapshotContentName;
    if (!name) return true;
    const content = await getOrUndefined(() =>
      this.options.api.get<CsiVolumeGroupSnapshotContent>(
        csiGroupSnapshotResources.volumeGroupSnapshotContents,
        { name },
        { signal },
      ),
    );
    return contentErrorIsFinal(
      content,
      groupBeingCreatedAnnotation,
      content?.status?.volumeGroupSnapshotHandle,
    );
  }

  /** Whether a VolumeGroupSnapshot of this name exists (being deleted or not). */
  async exists(ref: { namespace: string; name: string }, signal?: AbortSignal): Promise<boolean> {
    const found = await getOrUndefined(() =>
      this.options.api.get(csiGroupSnapshotResources.volumeGroupSnapshots, ref, { signal }),
    );
    return found !== undefined;
  }

  /** Deletes the group snapshot; its class's deletion policy says whether the storage snapshots go. */
  async delete(ref: { namespace: string; name: string }, signal?: AbortSignal): Promise<void> {
    await ignoreNotFound(
      this.options.api.delete(csiGroupSnapshotResources.volumeGroupSnapshots, ref, { signal }),
    );
  }

  private async memberSnapshots(
    group: CsiVolumeGroupSnapshot,
    signal?: AbortSignal,
  ): Promise<CsiVolumeSnapshot[]> {
    const uid = group.metadata.uid ?? '';
    const list = await this.options.api.list<CsiVolumeSnapshot>(
      csiSnapshotResources.volumeSnapshots,
      group.metadata.namespace ?? '',
      { signal },
    );
    return list.items.filter(
      (s) =>
        !!uid &&
        (s.metadata.ownerReferences ?? []).some((o) => o.uid === uid && o.kind === 'VolumeGroupSnapshot'),
    );
  }
}
