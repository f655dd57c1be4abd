// The one call of OpenStorage's REST volume API that the SDK (gRPC) does not offer: a snapshot of several
// volumes at one point in time. Portworx serves this API on its management port (9001), osd on
// `--mgmtport`. Field names are the JSON names the Go server decodes and encodes (the `json` tags of
// openstorage's api.pb.go: GroupSnapCreateRequest, GroupSnapCreateResponse, SnapCreateResponse,
// VolumeCreateResponse, VolumeResponse), written here from those definitions.

/** `POST /v1/osd-snapshot/snapshotgroup`. */
export const snapshotGroupPath = '/v1/osd-snapshot/snapshotgroup';

export interface GroupSnapCreateRequest {
  /** A storage-side volume group's id; empty when the volumes are named. */
  readonly id?: string;
  /** Labels put on every snapshot made (note the capital L, as the Go field's tag has it). */
  readonly Labels?: Readonly<Record<string, string>>;
  readonly volume_ids?: readonly string[];
  /** All or nothing: the storage system deletes what it made when one volume fails. */
  readonly delete_on_failure?: boolean;
}

export interface GroupSnapCreateResponse {
  /** Per source volume id, the snapshot made of it. */
  readonly snapshots?: Readonly<Record<string, SnapCreateResponse | null>>;
  readonly error?: string;
}

export interface SnapCreateResponse {
  readonly volume_create_response?: {
    /** The snapshot's volume id. */
    readonly id?: string;
    readonly volume_response?: { readonly error?: string } | null;
  } | null;
}
