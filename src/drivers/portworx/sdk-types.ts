// The OpenStorage SDK messages of proto/openstorage/api.proto as plain objects, in the shape
// @grpc/proto-loader gives them with the options in proto.ts: snake_case names (keepCase), 64-bit
// integers as decimal strings, enums as their value names, and every field present (defaults).
//
// Requests are what a client sends, so every field is optional (proto3 has no required fields).
// Responses are what a decoder produces, so every field is present; a message-typed field the sender
// left out decodes as null. An enum value newer than our proto decodes as its number.

/** Names of the SDK's node and cluster `Status` enum, in value order (STATUS_NONE = 0 …). */
export const sdkStatusNames = [
  'STATUS_NONE',
  'STATUS_INIT',
  'STATUS_OK',
  'STATUS_OFFLINE',
  'STATUS_ERROR',
  'STATUS_NOT_IN_QUORUM',
  'STATUS_DECOMMISSION',
  'STATUS_MAINTENANCE',
  'STATUS_STORAGE_DOWN',
  'STATUS_STORAGE_DEGRADED',
  'STATUS_NEEDS_REBOOT',
  'STATUS_STORAGE_REBALANCE',
  'STATUS_STORAGE_DRIVE_REPLACE',
  'STATUS_NOT_IN_QUORUM_NO_STORAGE',
  'STATUS_POOLMAINTENANCE',
  'STATUS_MAX',
] as const;
export type SdkStatus = (typeof sdkStatusNames)[number];

export type SdkVolumeStatus =
  | 'VOLUME_STATUS_NONE'
  | 'VOLUME_STATUS_NOT_PRESENT'
  | 'VOLUME_STATUS_UP'
  | 'VOLUME_STATUS_DOWN'
  | 'VOLUME_STATUS_DEGRADED';

export type SdkVolumeState =
  | 'VOLUME_STATE_NONE'
  | 'VOLUME_STATE_PENDING'
  | 'VOLUME_STATE_AVAILABLE'
  | 'VOLUME_STATE_ATTACHED'
  | 'VOLUME_STATE_DETACHED'
  | 'VOLUME_STATE_DETATCHING'
  | 'VOLUME_STATE_ERROR'
  | 'VOLUME_STATE_DELETED'
  | 'VOLUME_STATE_TRY_DETACHING'
  | 'VOLUME_STATE_RESTORE';

export type StringMap = Record<string, string>;

// ---- Shared messages (decoded form) ----

export interface StorageCluster {
  status: SdkStatus | number;
  id: string;
  name: string;
}

export interface SchedulerTopology {
  labels: StringMap;
}

export interface StorageNode {
  id: string;
  status: SdkStatus | number;
  mgmt_ip: string;
  data_ip: string;
  hostname: string;
  node_labels: StringMap;
  scheduler_node_name: string;
  scheduler_topology: SchedulerTopology | null;
}

export interface Source {
  parent: string;
  seed: string;
}

export interface VolumeLocator {
  name: string;
  volume_labels: StringMap;
}

export interface ReplicaSet {
  nodes: string[];
}

export interface VolumeSpec {
  /** Bytes, as a decimal string. */
  size: string;
  /** As a decimal string. */
  ha_level: string;
  replica_set: ReplicaSet | null;
}

export interface Volume {
  id: string;
  source: Source | null;
  /** True for snapshots. */
  readonly: boolean;
  locator: VolumeLocator | null;
  spec: VolumeSpec | null;
  /** Bytes used, as a decimal string. */
  usage: string;
  status: SdkVolumeStatus | number;
  state: SdkVolumeState | number;
  replica_sets: ReplicaSet[];
}

/** A VolumeSpec as a client sends it: sizes may be numbers, everything optional. */
export interface VolumeSpecInput {
  size?: number | string;
  ha_level?: number | string;
  /** Node ids (or IPs) the replicas must go to; the storage system chooses when empty. */
  replica_set?: { nodes?: string[] };
}

// ---- Requests (sent form) and responses (decoded form) ----

export type SdkIdentityVersionRequest = Record<string, never>;
export interface SdkIdentityVersionResponse {
  sdk_version: { major: number; minor: number; patch: number; version: string } | null;
  version: { driver: string; version: string; details: StringMap } | null;
}

export type SdkClusterInspectCurrentRequest = Record<string, never>;
export interface SdkClusterInspectCurrentResponse {
  cluster: StorageCluster | null;
}

export interface SdkNodeInspectRequest {
  node_id?: string;
}
export interface SdkNodeInspectResponse {
  node: StorageNode | null;
}

export type SdkNodeEnumerateRequest = Record<string, never>;
export interface SdkNodeEnumerateResponse {
  node_ids: string[];
}

export type SdkNodeEnumerateWithFiltersRequest = Record<string, never>;
export interface SdkNodeEnumerateWithFiltersResponse {
  nodes: StorageNode[];
}

export interface SdkVolumeCreateRequest {
  name?: string;
  spec?: VolumeSpecInput;
  labels?: StringMap;
}
export interface SdkVolumeCreateResponse {
  volume_id: string;
}

export interface SdkVolumeCloneRequest {
  name?: string;
  parent_id?: string;
}
export interface SdkVolumeCloneResponse {
  volume_id: string;
}

export interface SdkVolumeDeleteRequest {
  volume_id?: string;
}
export type SdkVolumeDeleteResponse = Record<string, never>;

export interface SdkVolumeInspectRequest {
  volume_id?: string;
  options?: { deep?: boolean };
}
export interface SdkVolumeInspectResponse {
  volume: Volume | null;
  name: string;
  labels: StringMap;
}

export interface SdkVolumeInspectWithFiltersRequest {
  name?: string;
  labels?: StringMap;
  options?: { deep?: boolean };
}
export interface SdkVolumeInspectWithFiltersResponse {
  volumes: SdkVolumeInspectResponse[];
}

export type SdkVolumeEnumerateRequest = Record<string, never>;
export interface SdkVolumeEnumerateResponse {
  volume_ids: string[];
}

export interface SdkVolumeEnumerateWithFiltersRequest {
  name?: string;
  labels?: StringMap;
}
export interface SdkVolumeEnumerateWithFiltersResponse {
  volume_ids: string[];
}

export interface SdkVolumeSnapshotCreateRequest {
  volume_id?: string;
  name?: string;
  labels?: StringMap;
}
export interface SdkVolumeSnapshotCreateResponse {
  snapshot_id: string;
}

export interface SdkVolumeSnapshotRestoreRequest {
  volume_id?: string;
  snapshot_id?: string;
}
export type SdkVolumeSnapshotRestoreResponse = Record<string, never>;

export interface SdkVolumeSnapshotEnumerateRequest {
  volume_id?: string;
}
export interface SdkVolumeSnapshotEnumerateResponse {
  volume_snapshot_ids: string[];
}

export interface SdkVolumeSnapshotEnumerateWithFiltersRequest {
  volume_id?: string;
  labels?: StringMap;
}
export interface SdkVolumeSnapshotEnumerateWithFiltersResponse {
  volume_snapshot_ids: string[];
}

/**
 * Every SDK method this project uses, as `Service/Method`, with its request and response. The client
 * and the simulator are typed by this table, so a method added here is checked on both sides.
 */
export interface SdkMethods {
  'OpenStorageIdentity/Version': { req: SdkIdentityVersionRequest; res: SdkIdentityVersionResponse };
  'OpenStorageCluster/InspectCurrent': {
    req: SdkClusterInspectCurrentRequest;
    res: SdkClusterInspectCurrentResponse;
  };
  'OpenStorageNode/Inspect': { req: SdkNodeInspectRequest; res: SdkNodeInspectResponse };
  'OpenStorageNode/Enumerate': { req: SdkNodeEnumerateRequest; res: SdkNodeEnumerateResponse };
  'OpenStorageNode/EnumerateWithFilters': {
    req: SdkNodeEnumerateWithFiltersRequest;
    res: SdkNodeEnumerateWithFiltersResponse;
  };
  'OpenStorageVolume/Create': { req: SdkVolumeCreateRequest; res: SdkVolumeCreateResponse };
  'OpenStorageVolume/Clone': { req: SdkVolumeCloneRequest; res: SdkVolumeCloneResponse };
  'OpenStorageVolume/Delete': { req: SdkVolumeDeleteRequest; res: SdkVolumeDeleteResponse };
  'OpenStorageVolume/Inspect': { req: SdkVolumeInspectRequest; res: SdkVolumeInspectResponse };
  'OpenStorageVolume/InspectWithFilters': {
    req: SdkVolumeInspectWithFiltersRequest;
    res: SdkVolumeInspectWithFiltersResponse;
  };
  'OpenStorageVolume/Enumerate': { req: SdkVolumeEnumerateRequest; res: SdkVolumeEnumerateResponse };
  'OpenStorageVolume/EnumerateWithFilters': {
    req: SdkVolumeEnumerateWithFiltersRequest;
    res: SdkVolumeEnumerateWithFiltersResponse;
  };
  'OpenStorageVolume/SnapshotCreate': {
    req: SdkVolumeSnapshotCreateRequest;
    res: SdkVolumeSnapshotCreateResponse;
  };
  'OpenStorageVolume/SnapshotRestore': {
    req: SdkVolumeSnapshotRestoreRequest;
    res: SdkVolumeSnapshotRestoreResponse;
  };
  'OpenStorageVolume/SnapshotEnumerate': {
    req: SdkVolumeSnapshotEnumerateRequest;
    res: SdkVolumeSnapshotEnumerateResponse;
  };
  'OpenStorageVolume/SnapshotEnumerateWithFilters': {
    req: SdkVolumeSnapshotEnumerateWithFiltersRequest;
    res: SdkVolumeSnapshotEnumerateWithFiltersResponse;
  };
}
export type SdkMethod = keyof SdkMethods;
