// Portworx's group snapshot: every volume cut at one point in time by the storage system, in one call of
// its REST API (the SDK has none), all or nothing. The snapshots are then read back over the SDK like any
// other, so the rest of stork sees ordinary snapshots.
import { DriverError } from '../driver.js';
import type { DriverVolumeSnapshot, GroupSnapshotCall } from '../volume-snapshots.js';
import type { OsdRestClient } from './osd-rest-client.js';
import type { SdkClient } from './sdk-client.js';
import type { PortworxSnapshots } from './snapshots.js';
import { errorText } from '../../lib/errors.js';

/** A group the storage system would not cut (a volume it does not know, the call not supported). */
export class GroupSnapshotRefused extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'GroupSnapshotRefused';
  }
}

/** Most volumes one call takes: a bound on the request and on what one refusal can leave to clean up. */
export const maxGroupVolumes = 512;

export class PortworxGroupSnapshots implements GroupSnapshotCall {
  constructor(
    private readonly rest: OsdRestClient,
    private readonly sdk: SdkClient,
    private readonly snapshots: PortworxSnapshots,
    private readonly driver: string,
  ) {}

  async snapshotGroup(
    volumeIds: readonly string[],
    labels: Readonly<Record<string, string>>,
    signal?: AbortSignal,
  ): Promise<DriverVolumeSnapshot[]> {
    if (volumeIds.length === 0) throw new GroupSnapshotRefused('a group snapshot needs at least one volume');
    if (volumeIds.length > maxGroupVolumes) {
      throw new GroupSnapshotRefused(`a group snapshot takes at most ${maxGroupVolumes} volumes`);
    }
    if (new Set(volumeIds).size !== volumeIds.length) {
      throw new GroupSnapshotRefused('a group snapshot names a volume twice');
    }
    let response;
    try {
      response = await this.rest.snapshotGroup(
        { Labels: { ...labels }, volume_ids: [...volumeIds], delete_on_failure: true },
        signal,
      );
    } catch (error) {
      if (error instanceof DriverError) throw error;
      throw new GroupSnapshotRefused(errorText(error), { cause: error });
    }
    const made = new Map<string, string>();
    const problems: string[] = [];
    for (const [volumeId, entry] of Object.entries(response.snapshots ?? {})) {
      const created = entry?.volume_create_response;
      const problem = created?.volume_response?.error;
      if (typeof created?.id === 'string' && created.id && !problem) made.set(volumeId, created.id);
      else problems.push(`volume ${volumeId}: ${problem || 'no snapshot made'}`);
    }
    for (const volumeId of volumeIds) {
      if (!made.has(volumeId) && !problems.some((p) => p.startsWith(`volume ${volumeId}:`))) {
        problems.push(`volume ${volumeId}: not in the answer`);
      }
    }
    if (response.error) problems.unshift(response.error);
    if (problems.length > 0) {
      // The request asked for all or nothing; whatever the answer still names is deleted here too, so that
      // no partial group stays behind whatever the storage system did.
      await Promise.all([...made.values()].map((id) => this.snapshots.deleteSnapshot(id, signal)));
      throw new GroupSnapshotRefused(`the group snapshot failed: ${problems.slice(0, 5).join('; ')}`);
    }
    return Promise.all(
      volumeIds.map(async (volumeId) => {
        const id = made.get(volumeId) ?? '';
        const snapshot = await this.snapshots.inspectSnapshot(id, signal);
        if (!snapshot) {
          throw new DriverError(
            this.driver,
            `snapshot ${id} of volume ${volumeId} vanished right after the group`,
          );
        }
        return snapshot;
      }),
    );
  }

  async findLabelled(
    labels: Readonly<Record<string, string>>,
    signal?: AbortSignal,
  ): Promise<DriverVolumeSnapshot[]> {
    const response = await this.sdk.call(
      'OpenStorageVolume/SnapshotEnumerateWithFilters',
      { volume_id: '', labels: { ...labels } },
      signal ? { signal } : {},
    );
    const found = await Promise.all(
      response.volume_snapshot_ids.map((id) => this.snapshots.inspectSnapshot(id, signal)),
    );
    // A server may filter loosely; only snapshots carrying every label are the group's.
    return found.filter(
      (s): s is DriverVolumeSnapshot =>
        !!s && Object.entries(labels).every(([key, value]) => s.labels[key] === value),
    );
  }
}
