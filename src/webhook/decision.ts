import type { VolumeDriver } from '../drivers/driver.js';
import type { Pod } from '../wire/k8s-types.js';
import { usesDriverVolumes, type ClaimLookups } from '../drivers/pod-claims.js';
import type { AdmissionRequest, PatchOperation } from './admission-review.js';
import { schedulerNamePatch } from './json-patch.js';

/** Stork's opt-out annotation; `--webhook-skip-resources-annotation` names another key. */
export const defaultSkipAnnotation = 'stork.libopenstorage.org/disable-admission-controller';
export const defaultSchedulerName = 'default-scheduler';

export interface MutateOptions {
  /** The scheduler pods with driver volumes are given (Stork: `stork`). */
  readonly schedulerName: string;
  /** A pod with this annotation set to "true" is left alone. */
  readonly skipAnnotation: string;
}

/** Why a pod was admitted unchanged (metric label values). */
export type SkipReason =
  'not-a-pod' | 'not-create' | 'opted-out' | 'other-scheduler' | 'already-set' | 'no-driver-volumes';

export type MutateDecision =
  | { readonly action: 'patch'; readonly patch: readonly PatchOperation[] }
  | { readonly action: 'skip'; readonly reason: SkipReason }
  /** Claims the caches do not hold yet (created a moment ago): ask again once they arrive or time runs out. */
  | { readonly action: 'wait'; readonly missingClaims: readonly string[] };

/**
 * Decides what to do with an admission request: a new pod that uses at least one of the driver's volumes and
 * leaves the scheduler to the default gets `schedulerName` set. Everything else is admitted unchanged.
 * Pure: reads only the request and the cache lookups. `final` turns a wait into a decision on what is known
 * (claims still unknown count as not the driver's).
 */
export function decideMutation(
  request: AdmissionRequest,
  driver: Pick<VolumeDriver, 'name' | 'ownsClaim'>,
  lookups: ClaimLookups,
  options: MutateOptions,
  final = false,
): MutateDecision {
  const { kind } = request;
  if (kind.group !== '' || kind.kind !== 'Pod' || request.subResource !== '')
    return { action: 'skip', reason: 'not-a-pod' };
  if (request.operation !== 'CREATE') return { action: 'skip', reason: 'not-create' };
  const pod = request.object as Pod;
  const optOut = pod.metadata?.annotations?.[options.skipAnnotation];
  if (optOut !== undefined && optOut.trim().toLowerCase() === 'true')
    return { action: 'skip', reason: 'opted-out' };
  const current = pod.spec?.schedulerName ?? '';
  if (current === options.schedulerName) return { action: 'skip', reason: 'already-set' };
  if (current !== '' && current !== defaultSchedulerName)
    return { action: 'skip', reason: 'other-scheduler' };
  // A pod created with generateName may carry no namespace of its own; the request always names it.
  const namespaced: Pod = {
    ...pod,
    metadata: { ...pod.metadata, namespace: pod.metadata?.namespace ?? request.namespace },
  };
  if (usesDriverVolumes(namespaced, driver, lookups))
    return { action: 'patch', patch: schedulerNamePatch(options.schedulerName) };
  if (!final) {
    const namespace = namespaced.metadata?.namespace ?? '';
    const missingClaims = (pod.spec?.volumes ?? [])
      .map((v) => v.persistentVolumeClaim?.claimName)
      .filter(
        (name): name is string => name !== undefined && lookups.getClaim(name, namespace) === undefined,
      );
    if (missingClaims.length > 0) return { action: 'wait', missingClaims };
  }
  return { action: 'skip', reason: 'no-driver-volumes' };
}
