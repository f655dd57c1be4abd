import type { Pod } from '../wire/k8s-types.js';

/**
 * Whether stork may write about the pod a scheduling request named (decision annotations, events): only
 * when its own pod cache holds that pod with the same UID. A request body is whatever its sender wrote;
 * without this check anyone who can reach the extender could have stork annotate any pod, or write events
 * into any namespace, by naming it.
 */
export function isCachedPod(
  sent: Pod,
  cached: (namespace: string, name: string) => Pod | undefined,
): boolean {
  const namespace = sent.metadata?.namespace;
  const name = sent.metadata?.name;
  const uid = sent.metadata?.uid;
  if (!namespace || !name || !uid) return false;
  return cached(namespace, name)?.metadata?.uid === uid;
}
