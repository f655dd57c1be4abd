import type { KubeApi } from './api.js';
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
 * delete, an eviction that would break a budget is refused. Other failures throw.
 */
export async function evictPod(api: KubeApi, namespace: string, name: string): Promise<EvictionResult> {
  try {
    await api.create(
      resources.pods,
      { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } },
      undefined,
      { subresourceOf: { namespace, name, subresource: 'eviction' } },
    );
    return { outcome: 'evicted' };
  } catch (error) {
    if (error instanceof KubeApiError && error.statusCode === 429) {
      return { outcome: 'blocked', reason: error.message.replace(/^POST \S+: /, '') };
    }
    if (error instanceof KubeApiError && error.statusCode === 404) return { outcome: 'gone' };
    throw error;
  }
}
