import type { Lease } from '../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import { LeaderElector } from '../k8s/leader-election.js';
import { resources } from '../k8s/paths.js';
import { FakeKubeClient } from '../k8s/testing/fake-client.js';
import { FakeClock } from '../lib/fake-clock.js';
import { silentLogger } from '../lib/log.js';
import { Lifecycle, untilAborted, type Component } from './lifecycle.js';

function recording(
  name: string,
  scope: Component['scope'],
  timeline: string[],
  opts: { stuck?: boolean } = {},
): Component {
  return {
    name,
    scope,
    run: async (signal) => {
      timeline.push(`${name} started`);
      await untilAborted(signal);
      if (opts.stuck) await new Promise<never>(() => undefined);
      timeline.push(`${name} stopped`);
    },
    whenReady: scope === 'every-replica' ? () => Promise.resolve() : undefined,
  } as Component;
}

function setup() {
  const clock = new FakeClock();
  const api = new FakeKubeClient({ clock });
  const elector = new LeaderElector({
    api,
    clock,
    namespace: 'ns',
    name: 'lock',
    identity: 'me',
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
  });
  return { clock, api, elector };
}

describe('Lifecycle', () => {
  it('on stop: leader-only work stops, the Lease is released, then every-replica parts stop in reverse order', async () => {
    const { clock, api, elector } = setup();
    const timeline: string[] = [];
    const lifecycle = new Lifecycle({ logger: silentLogger, clock, elector })
      .add(recording('informer', 'every-replica', timeline))
      .add(recording('server', 'every-replica', timeline))
      .add(recording('controller', 'leader-only', timeline));
    await lifecycle.start();
    await clock.advance(0);
    expect(lifecycle.isLeader()).toBe(true);
    expect(timeline).toEqual(['informer started', 'server started', 'controller started']);
    // Record the release into the same timeline.
    const replace = api.replace.bind(api);
    api.replace = (type, ref, body, options) => {
      if ((body as Lease).spec?.holderIdentity === '') timeline.push('lease released');
      return replace(type, ref, body, options);
    };
    const stopping = lifecycle.stop(25_000);
    await clock.advance(0);
    await stopping;
    expect(timeline.slice(3)).toEqual([
      'controller stopped',
      'lease released',
      'server stopped',
      'informer stopped',
    ]);
    expect(api.object<Lease>(resources.leases, 'lock', 'ns')?.spec?.holderIdentity).toBe('');
  });

  it('bounds shutdown: a part that does not stop is left behind when the budget is spent', async () => {
    const { clock } = setup();
    const timeline: string[] = [];
    const lifecycle = new Lifecycle({ logger: silentLogger, clock })
      .add(recording('informer', 'every-replica', timeline))
      .add(recording('slow-server', 'every-replica', timeline, { stuck: true }));
    await lifecycle.start();
    let done = false;
    const stopping = lifecycle.stop(10_000).then(() => (done = true));
    await clock.advance(9_999);
    expect(done).toBe(false);
    await clock.advance(1);
    await stopping;
    expect(done).toBe(true);
    expect(timeline).toContain('informer stopped');
  });

  it('runs leader-only parts without an elector from start to stop', async () => {
    const { clock } = setup();
    const timeline: string[] = [];
    const lifecycle = new Lifecycle({ logger: silentLogger, clock }).add(
      recording('controller', 'leader-only', timeline),
    );
    await lifecycle.start();
    await clock.advance(0);
    expect(lifecycle.isLeader()).toBe(true);
    await lifecycle.stop(1000);
    expect(timeline).toEqual(['controller started', 'controller stopped']);
  });

  it('reports a fatal error when an every-replica part fails on its own', async () => {
    const { clock } = setup();
    const fatal: unknown[] = [];
    const lifecycle = new Lifecycle({ logger: silentLogger, clock, onFatal: (e) => fatal.push(e) }).add({
      name: 'broken',
      scope: 'every-replica',
      run: () => Promise.reject(new Error('port taken')),
    });
    await lifecycle.start();
    await clock.advance(0);
    expect(String(fatal[0])).toMatch(/port taken/);
  });
});
