// Snapshots and restores over the OpenStorage SDK: a snapshot is a read-only volume whose source parent
// is the snapshotted volume; a restore is a Clone of the snapshot into a new volume.
import type { PersistentVolumeSpec } from '../../wire/k8s-types.js';
import { DriverError, DriverNotFoundError, type DriverVolume } from '../driver.js';
import type { DriverVolumeSnapshot, GroupSnapshotCall, VolumeSnapshots } from '../volume-snapshots.js';
import { portworxCsiDriver } from './kubernetes.js';
import { toDriverVolume } from './mapping.js';
import type { SdkClient } from './sdk-client.js';
import type { SdkVolumeInspectResponse, Volume } from './sdk-types.js';
import { errorText } from '../../lib/errors.js';

/**
 * Snapshots are read-only volumes with a parent on Portworx; osd's reference server leaves `readonly`
 * unset on them, so the parent is what tells a snapshot from a plain volume. (Clones have parents too;
 * callers tell them apart by name.)
 */
function isSnapshot(volume: Volume | null | undefined): boolean {
  return !!volume && (volume.readonly || !!volume.source?.parent);
}

export class PortworxSnapshots implements VolumeSnapshots {
  /** The storage system's group snapshot, when its REST API is configured (the SDK has none). */
  group: GroupSnapshotCall | undefined;

  constructor(
    private readonly sdk: SdkClient,
    private readonly driver: string,
  ) {}

  groupCall(): GroupSnapshotCall | undefined {
    return this.group;
  }

  async createSnapshot(
    volumeId: string,
    name: string,
    labels: Readonly<Record<string, string>>,
    signal?: AbortSignal,
  ): Promise<DriverVolumeSnapshot> {
    const response = await this.sdk.call(
      'OpenStorageVolume/SnapshotCreate',
      { volume_id: volumeId, name, labels: { ...labels } },
      { what: `volume "${volumeId}"`, ...(signal ? { signal } : {}) },
    );
    if (!response.snapshot_id) {
      throw new DriverError(this.driver, `SnapshotCreate of volume "${volumeId}" answered without an id`);
    }
    const snapshot = await this.inspectSnapshot(response.snapshot_id, signal);
    if (!snapshot) {
      throw new DriverError(
        this.driver,
        `snapshot ${response.snapshot_id} vanished right after it was created`,
      );
    }
    return snapshot;
  }

  async findSnapshot(name: string, signal?: AbortSignal): Promise<DriverVolumeSnapshot | undefined> {
    const found = (await this.byName(name, signal)).find((entry) => isSnapshot(entry.volume));
    return found?.volume ? this.toSnapshot(found.volume, found) : undefined;
  }

  async inspectSnapshot(id: string, signal?: AbortSignal): Promise<DriverVolumeSnapshot | undefined> {
    const response = await this.inspect(id, signal);
    if (!response?.volume) return undefined;
    if (!isSnapshot(response.volume)) {
      throw new DriverError(this.driver, `volume ${id} is not a snapshot`);
    }
    return this.toSnapshot(response.volume, response);
  }

  async deleteSnapshot(id: string, signal?: AbortSignal): Promise<void> {
    await this.deleteVolume(id, signal);
  }

  async restoreSnapshot(
    snapshotId: string,
    name: string,
    _labels: Readonly<Record<string, string>>,
    signal?: AbortSignal,
  ): Promise<DriverVolume> {
    // The SDK's Clone carries no labels in the subset we speak; the name (pvc-<uid>) identifies the clone.
    const response = await this.sdk.call(
      'OpenStorageVolume/Clone',
      { name, parent_id: snapshotId },
      { what: `snapshot "${snapshotId}"`, ...(signal ? { signal } : {}) },
    );
    const inspected = await this.inspect(response.volume_id, signal);
    if (!inspected?.volume) {
      throw new DriverError(this.driver, `clone ${response.volume_id} vanished right after it was created`);
    }
    return this.mapped(() => toDriverVolume(inspected.volume as Volume, inspected));
  }

  async findVolume(name: string, signal?: AbortSignal): Promise<DriverVolume | undefined> {
    const found = (await this.byName(name, signal)).find((entry) => entry.volume && !entry.volume.readonly);
    return found?.volume ? this.mapped(() => toDriverVolume(found.volume as Volume, found)) : undefined;
  }

  async deleteVolume(id: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.sdk.call(
        'OpenStorageVolume/Delete',
        { volume_id: id },
        { what: `volume "${id}"`, ...(signal ? { signal } : {}) },
      );
    } catch (error) {
      if (!(error instanceof DriverNotFoundError)) throw error;
    }
  }

  persistentVolumeSource(volumeId: string): Pick<PersistentVolumeSpec, 'csi'> {
    return { csi: { driver: portworxCsiDriver, volumeHandle: volumeId, fsType: 'ext4' } };
  }

  snapshotDataSource(snapshot: DriverVolumeSnapshot): Record<string, unknown> {
    return { portworxVolume: { snapshotId: snapshot.id, snapshotType: 'local' } };
  }

  snapshotIdOf(dataSpec: Readonly<Record<string, unknown>>): string | undefined {
    const source = dataSpec.portworxVolume as { snapshotId?: unknown } | undefined;
    return typeof source?.snapshotId === 'string' && source.snapshotId ? source.snapshotId : undefined;
  }

  private async byName(name: string, signal?: AbortSignal): Promise<SdkVolumeInspectResponse[]> {
    const response = await this.sdk.call(
      'OpenStorageVolume/InspectWithFilters',
      { name },
      signal ? { signal } : {},
    );
    // A server may match names loosely; only the exact name is ours.
    return response.volumes.filter((entry) => (entry.volume?.locator?.name || entry.name) === name);
  }

  private async inspect(id: string, signal?: AbortSignal): Promise<SdkVolumeInspectResponse | undefined> {
    try {
      return await this.sdk.call(
        'OpenStorageVolume/Inspect',
        { volume_id: id },
        { what: `volume "${id}"`, ...(signal ? { signal } : {}) },
      );
    } catch (error) {
      if (error instanceof DriverNotFoundError) return undefined;
      throw error;
    }
  }

  private toSnapshot(volume: Volume, response: SdkVolumeInspectResponse): DriverVolumeSnapshot {
    const mapped = this.mapped(() => toDriverVolume(volume, response));
    return {
      id: mapped.id,
      name: mapped.name,
      volumeId: mapped.parentId ?? '',
      labels: mapped.labels,
      // Local snapshots are usable as soon as they exist, unless the storage system reports a failure.
      ready: volume.state !== 'VOLUME_STATE_ERROR' && volume.state !== 'VOLUME_STATE_PENDING',
    };
  }

  private mapped<T>(map: () => T): T {
    try {
      return map();
    } catch (error) {
      throw new DriverError(this.driver, `unexpected answer from ${this.sdk.endpoint}: ${errorText(error)}`, {
        cause: error,
      });
    }
  }
}
