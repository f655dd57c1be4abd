import type { Pod } from '../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../lib/fake-clock.js';
import { statusError } from './errors.js';
import { Informer } from './informer.js';
import { resources } from './paths.js';
import { FakeKubeClient } from './testing/fake-client.js';

const pod = (name: string): Pod => ({ metadata: { name, namespace: 'ns' }, spec: { containers: [] } });
const backoff = { initialMs: 1000, maxMs: 8000 };

function setup(options: { listTimeoutMs?: number; watchIdleMs?: number } = {}) {
  const clock = new FakeClock();
  const api = new FakeKubeClient({ clock });
  const errors: string[] = [];
  const informer = new Informer<Pod>({
    api,
    clock,
    type: resources.pods,
    backoff,
    onError: (error) => errors.push(error instanceof Error ? error.message : String(error)),
    ...options,
  });
  const controller = new AbortController();
  const running = informer.run(controller.signal);
  const lists = (): number[] => api.callsTo({ verb: 'list' }).map((c) => c.at);
  return { clock, api, informer, controller, running, errors, lists };
}

describe('Informer', () => {
  it('lists, then keeps the cache current from the watch, and says so in its status', async () => {
    const { clock, api, informer, controller, running } = setup();
    api.seed(resources.pods, pod('a'));
    await clock.advance(0);
    await informer.whenSynced();
    expect(informer.list().map((p) => p.metadata?.name)).toEqual(['a']);
    await api.create(resources.pods, pod('b'), 'ns');
    await api.delete(resources.pods, { namespace: 'ns', name: 'a' });
    await clock.advance(0);
    expect(informer.list().map((p) => p.metadata?.name)).toEqual(['b']);
    expect(informer.status()).toMatchObject({ resource: 'pods', synced: true, errors: 0, relists: 1 });
    controller.abort();
    await running;
  });

  it.each([
    {
      what: 'an ERROR event with 410 Gone',
      fail: (api: FakeKubeClient) => api.failWatches(resources.pods, 410, 'Expired'),
    },
    {
      what: 'the watch refused with HTTP 410',
      fail: (api: FakeKubeClient) => {
        api.inject({ verb: 'watch', error: statusError(410, 'Gone', 'too old resource version') });
        api.endWatches();
      },
    },
  ])('relists at once after $what', async ({ fail }) => {
    const { clock, api, informer, controller, running, lists } = setup();
    await clock.advance(0);
    await informer.whenSynced();
    expect(lists()).toHaveLength(1);
    fail(api);
    await clock.advance(0);
    expect(lists()).toHaveLength(2);
    expect(lists()[1]).toBe(clock.now());
    controller.abort();
    await running;
  });

  it('backs off after other watch errors instead of relisting at once', async () => {
    const { clock, api, informer, controller, running, lists, errors } = setup();
    await clock.advance(0);
    await informer.whenSynced();
    const watchesBefore = api.callsTo({ verb: 'watch' }).length;
    api.failWatches(resources.pods, 500, 'InternalError', 'etcd leader changed');
    await clock.advance(0);
    expect(api.callsTo({ verb: 'watch' })).toHaveLength(watchesBefore);
    expect(lists()).toHaveLength(1);
    expect(informer.status().lastError).toMatch(/etcd leader changed/);
    await clock.advance(backoff.initialMs * 1.2);
    expect(api.callsTo({ verb: 'watch' }).length).toBeGreaterThan(watchesBefore);
    expect(lists()).toHaveLength(1); // resumed from its resourceVersion, no relist
    expect(errors).toHaveLength(1);
    controller.abort();
    await running;
  });

  it('backs off exponentially, jittered, up to the cap, while the list keeps failing', async () => {
    const { clock, api, controller, running, lists } = setup();
    api.inject({ verb: 'list', error: statusError(500, 'InternalError', 'x'), times: 7 });
    await clock.advance(200_000);
    const at = lists();
    const gaps = at.slice(1, 8).map((t, i) => t - (at[i] ?? 0));
    const expected = [1000, 2000, 4000, 8000, 8000, 8000, 8000];
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual((expected[i] ?? 0) * 0.8);
      expect(gap).toBeLessThanOrEqual((expected[i] ?? 0) * 1.2);
    });
    expect(at).toHaveLength(8);
    controller.abort();
    await running;
  });

  it('bounds a list that is never answered, and retries it', async () => {
    const { clock, api, informer, controller, running, lists } = setup({ listTimeoutMs: 5000 });
    api.inject({ verb: 'list', hang: true });
    await clock.advance(4999);
    expect(informer.synced).toBe(false);
    expect(api.callsTo({ verb: 'list' })[0]?.outcome).toBe('pending');
    await clock.advance(1);
    expect(api.callsTo({ verb: 'list' })[0]?.outcome).toBe('aborted');
    await clock.advance(backoff.initialMs * 1.2);
    expect(lists()).toHaveLength(2);
    expect(informer.synced).toBe(true);
    controller.abort();
    await running;
  });

  it('stops during a list: the call is aborted and run resolves', async () => {
    const { clock, api, informer, controller, running } = setup();
    api.inject({ verb: 'list', hang: true });
    await clock.advance(0);
    const synced = informer.whenSynced().then(
      () => 'synced',
      () => 'stopped',
    );
    controller.abort();
    await running;
    expect(api.callsTo({ verb: 'list' })[0]?.outcome).toBe('aborted');
    expect(await synced).toBe('stopped');
    expect(api.openWatches()).toBe(0);
  });

  it('restarts a watch that went silent, from its resourceVersion', async () => {
    const { clock, api, informer, controller, running, lists } = setup({ watchIdleMs: 60_000 });
    await clock.advance(0);
    await informer.whenSynced();
    api.inject({ verb: 'watch', hang: true });
    api.endWatches(); // the server ends the watch; the next one hangs without a word
    await clock.advance(59_000);
    expect(api.callsTo({ verb: 'watch' }).at(-1)?.outcome).toBe('pending');
    await clock.advance(1_000);
    expect(api.callsTo({ verb: 'watch' }).at(-2)?.outcome).toBe('aborted');
    expect(api.openWatches()).toBe(1);
    expect(lists()).toHaveLength(1);
    await api.create(resources.pods, pod('new'), 'ns');
    await clock.advance(0);
    expect(informer.get('new', 'ns')).toBeDefined();
    controller.abort();
    await running;
  });

  it('keeps a watch that hears events more often than the idle time', async () => {
    const { clock, api, informer, controller, running } = setup({ watchIdleMs: 60_000 });
    await clock.advance(0);
    await informer.whenSynced();
    const watches = api.callsTo({ verb: 'watch' }).length;
    for (let i = 0; i < 5; i++) {
      await clock.advance(40_000);
      await api.create(resources.pods, pod(`p${i}`), 'ns');
      await clock.advance(0);
    }
    // 200 s, an event every 40 s: the same watch throughout, and every event seen.
    expect(api.callsTo({ verb: 'watch' })).toHaveLength(watches);
    expect(informer.get('p4', 'ns')).toBeDefined();
    controller.abort();
    await running;
  });

  it('fails start-up loudly when the list is forbidden', async () => {
    const { clock, api, informer, running } = setup();
    const outcome = running.then(
      () => 'resolved',
      (error: unknown) => (error as Error).message,
    );
    api.inject({ verb: 'list', error: statusError(403, 'Forbidden', 'pods is forbidden') });
    const synced = informer.whenSynced().catch((error: unknown) => (error as Error).message);
    await clock.advance(0);
    expect(await synced).toMatch(/RBAC/);
    expect(await outcome).toMatch(/RBAC/);
  });
});
