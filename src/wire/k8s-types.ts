// The plain-JSON Kubernetes types drivers read. Re-exported here so that drivers depend on one place.
export type { Node, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
export type { StorageClass } from 'kubernetes-types/storage/v1.js';
