import type { Pod } from '../wire/k8s-types.js';
import type { ClusterState } from './cluster-state.js';
import { schedulingIndexes, servesData, type SchedulingIndexes } from './indexes.js';
import { podVolumes, PodVolumeError, type PodVolumes } from './pod-volumes.js';

export interface DecisionOptions {
  /** A driver snapshot older than this is not trusted for decisions (ms). */
  readonly staleAfterMs: number;
  readonly now?: number;
}

/** What filter and prioritize both need about a pod, or the reason it cannot be decided now. */
export type PodContext =
  | { readonly kind: 'no-driver-volumes' }
  | { readonly kind: 'error'; readonly message: string; readonly requestVolumes: readonly string[] }
  | {
      readonly kind: 'ready';
      readonly volumes: PodVolumes;
      readonly indexes: SchedulingIndexes;
    };

/**
 * Resolves a pod's driver volumes and checks that the caches can answer for them. A cache that has not
 * loaded, has gone stale, or lacks one of the pod's volumes yields an error naming why, never a guess:
 * the scheduler retries the pod, by which time the background refresh has caught up.
 */
export function podContext(pod: Pod, state: ClusterState, options: DecisionOptions): PodContext {
  const unsynced = state.unsyncedCaches ?? [];
  const usesVolumes = (pod.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim || v.portworxVolume);
  if (unsynced.length > 0 && usesVolumes) {
    // Without these caches a claim would look missing or not the driver's: say so rather than guess.
    return {
      kind: 'error',
      message: `stork's ${unsynced.join(', ')} cache(s) have not synced yet; retry shortly`,
      requestVolumes: [],
    };
  }
  let volumes: PodVolumes;
  try {
    volumes = podVolumes(pod, state);
  } catch (error) {
    if (error instanceof PodVolumeError) return { kind: 'error', message: error.message, requestVolumes: [] };
    throw error;
  }
  const total =
    volumes.volumes.length + volumes.unknownVolumeIds.length + volumes.waitingForFirstConsumer.length;
  if (total === 0) return { kind: 'no-driver-volumes' };
  const { snapshot } = state;
  const driver = state.driver.name;
  if (snapshot.refreshedAt === undefined) {
    const why = snapshot.lastError ? `: ${snapshot.lastError}` : '';
    return {
      kind: 'error',
      message: `the ${driver} storage state has not been loaded yet${why}`,
      requestVolumes: [],
    };
  }
  const age = (options.now ?? Date.now()) - snapshot.refreshedAt;
  if (age > options.staleAfterMs) {
    const why = snapshot.lastError ? ` (last error: ${snapshot.lastError})` : '';
    return {
      kind: 'error',
      message: `the ${driver} storage state is stale: last refreshed ${Math.round(age / 1000)}s ago${why}`,
      requestVolumes: [],
    };
  }
  if (volumes.unknownVolumeIds.length > 0) {
    const absent = snapshot.absentVolumeIds;
    if (absent && volumes.unknownVolumeIds.every((id) => absent.has(id))) {
      // The cache does not list known-absent ids again at once (a pod naming a deleted volume would
      // otherwise bring every listing forward); one created later appears at the next regular listing.
      return {
        kind: 'error',
        message: `volume(s) ${volumes.unknownVolumeIds.join(', ')} do not exist in ${driver} (a refresh listed every volume)`,
        requestVolumes: volumes.unknownVolumeIds,
      };
    }
    return {
      kind: 'error',
      message: `volume(s) ${volumes.unknownVolumeIds.join(', ')} not yet known to the ${driver} cache; fetching`,
      requestVolumes: volumes.unknownVolumeIds,
    };
  }
  for (const volume of volumes.volumes) {
    if (!volume.replicaNodeIds.some((id) => servesData(snapshot.nodesById.get(id)))) {
      return {
        kind: 'error',
        message: `No online node found with volume replica for volume ${volume.name || volume.id}`,
        requestVolumes: [],
      };
    }
  }
  return { kind: 'ready', volumes, indexes: schedulingIndexes(state) };
}
