import type { Pod } from '../wire/k8s-types.js';
import type { KubeObject } from './informer.js';

/**
 * What an informer keeps of each object, as client-go's transform functions do: a cache holds every
 * object of its kind for the life of the process, so fields no reader uses are memory paid per object.
 * `managedFields` (server-side apply's bookkeeping) is often the largest part of an object and is never
 * read by stork.
 */
export function withoutManagedFields<T extends KubeObject>(object: T): T {
  const metadata = object.metadata as { managedFields?: unknown } | undefined;
  if (metadata?.managedFields === undefined) return object;
  const { managedFields: _dropped, ...rest } = metadata;
  return { ...object, metadata: rest };
}

/**
 * A pod as stork's readers use it (scheduling decisions, the health monitor, placement reports, the
 * extender's pod check): metadata without `managedFields`, the spec without each container's image,
 * command, environment, probes and resources (only names are read: a rule's target container), and the
 * status without per-container statuses. Everything else is kept as it came.
 */
export function podForStork(pod: Pod): Pod {
  const lean = withoutManagedFields(pod);
  const named = (c: { readonly name: string }) => ({ name: c.name });
  const spec = lean.spec && {
    ...lean.spec,
    containers: lean.spec.containers.map(named),
    ...(lean.spec.initContainers ? { initContainers: lean.spec.initContainers.map(named) } : {}),
    ...(lean.spec.ephemeralContainers
      ? { ephemeralContainers: lean.spec.ephemeralContainers.map(named) }
      : {}),
  };
  const {
    containerStatuses: _c,
    initContainerStatuses: _i,
    ephemeralContainerStatuses: _e,
    ...status
  } = lean.status ?? {};
  return {
    ...lean,
    ...(spec ? { spec } : {}),
    ...(lean.status ? { status } : {}),
  };
}
