import type { KubeClient } from './client.js';
import { KubeApiError } from './errors.js';
import { resources } from './paths.js';

export type EvictionResult =
  | { readonly outcome: 'evicted' }
  /** A PodDisruptionBudget does not allow it now (HTTP 429); try again later. */
  | { readonly outcome: 'blocked'; readonly reason: string }
  /** The pod no longer exists. */
  | { readonly outcome: 'gone' };

/**
 * Asks the API server to evict a pod through the Eviction API, so PodDisruptionBudgets hold: unlike a
 * delete, an eviction that would break a budget is refused. A pod whose uid no longer matches (409) is
 * gone as far as the caller is concerned. Other failures throw.
 */
export async function evictPod(
  api: KubeClient,
  namespace: string,
  name: string,
  options: { readonly signal?: AbortSignal; readonly uid?: string } = {},
): Promise<EvictionResult> {
  const { signal, uid } = options;
  try {
    await api.create(
      resources.pods,
      {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name, namespace },
        // Evict the pod that was looked at, never a namesake created since.
        ...(uid ? { deleteOptions: { preconditions: { uid } } } : {}),
      },
      undefined,
      { subresourceOf: { namespace, name, subresource: 'eviction' }, signal },
    );
    return { outcome: 'evicted' };
  } catch (error) {
    if (error instanceof KubeApiError && error.statusCode === 429) {
      return { outcome: 'blocked', reason: error.message.replace(/^POST \S+: /, '') };
    }
    if (error instanceof KubeApiError && (error.statusCode === 404 || (uid && error.statusCode === 409)))
      return { outcome: 'gone' };
    throw error;
  }
}
