import type { DriverState } from '../drivers/driver-state.js';
import type { InformerStatus } from '../k8s/informer.js';

export interface ReadinessInputs {
  readonly snapshot: DriverState;
  /** A driver state older than this is not ready (ms). */
  readonly staleAfterMs: number;
  /** The caches decisions read. */
  readonly informers: readonly InformerStatus[];
  /** Wall-clock ms now. */
  readonly now: number;
}

/**
 * Why this replica cannot answer the scheduler well now (for `/readyz`), or undefined when it can: every
 * cache a decision reads has synced, and the storage state is loaded and fresh.
 */
export function notReadyReason(inputs: ReadinessInputs): string | undefined {
  const unsynced = inputs.informers.filter((i) => !i.synced);
  if (unsynced.length > 0) {
    return `caches not synced: ${unsynced
      .map((i) => (i.lastError ? `${i.resource} (${i.lastError})` : i.resource))
      .join(', ')}`;
  }
  const { snapshot } = inputs;
  if (snapshot.refreshedAt === undefined) {
    return `storage state not loaded: ${snapshot.lastError ?? 'no answer yet'}`;
  }
  const age = inputs.now - snapshot.refreshedAt;
  if (age > inputs.staleAfterMs) {
    return `storage state ${Math.round(age / 1000)}s old: ${snapshot.lastError ?? ''}`;
  }
  return undefined;
}
