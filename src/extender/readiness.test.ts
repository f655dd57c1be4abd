import { describe, expect, it } from 'vitest';
import { emptyDriverState } from '../drivers/driver-state.js';
import type { InformerStatus } from '../k8s/informer.js';
import { notReadyReason } from './readiness.js';

const informer = (resource: string, synced: boolean, lastError?: string): InformerStatus => ({
  resource,
  synced,
  lastSyncAt: synced ? 1 : undefined,
  lastError,
  errors: lastError ? 1 : 0,
  relists: 1,
});
const fresh = { ...emptyDriverState, refreshedAt: 1_000 };

describe('notReadyReason', () => {
  it.each([
    {
      what: 'all synced and fresh',
      informers: [informer('nodes', true)],
      snapshot: fresh,
      now: 2_000,
      want: undefined,
    },
    {
      what: 'a cache not synced',
      informers: [informer('nodes', true), informer('storageclasses', false, 'forbidden')],
      snapshot: fresh,
      now: 2_000,
      want: 'caches not synced: storageclasses (forbidden)',
    },
    {
      what: 'no storage state',
      informers: [],
      snapshot: emptyDriverState,
      now: 2_000,
      want: /storage state not loaded/,
    },
    {
      what: 'stale storage state',
      informers: [],
      snapshot: fresh,
      now: 100_000,
      want: /storage state 99s old/,
    },
  ])('$what', ({ informers, snapshot, now, want }) => {
    const reason = notReadyReason({ informers, snapshot, now, staleAfterMs: 30_000 });
    if (want === undefined) expect(reason).toBeUndefined();
    else expect(reason).toMatch(want);
  });
});
