import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { waitFor } from '../../lib/wait.js';
import { HealthMonitor } from './monitor.js';
import { FakeKubeClient, tooManyRequests } from '../../k8s/testing/fake-client.js';
import { recordingMetrics, TestCluster } from './testing.js';
import { FakeClock } from '../../lib/fake-clock.js';
import { defaultHealthMonitorConfig } from './config.js';

function monitor() {
  const clock = new FakeClock();
  const client = new FakeKubeClient({ clock });
  const cluster = new TestCluster(clock, client, () => tooManyRequests());
  for (const n of ['n1', 'n2', 'n3', 'n4']) cluster.addNode(n);
  const none = () => () => undefined;
  const m = new HealthMonitor({
    client,
    clock,
    driver: cluster.driver(),
    caches: cluster.caches(),
    events: { record: () => undefined },
    logger: silentLogger,
    metrics: recordingMetrics().metrics,
    config: { ...defaultHealthMonitorConfig, graceMs: 60_000 },
    staleAfterMs: 30_000,
    self: { kind: 'ConfigMap', name: 'stork-health-monitor', namespace: 'kube-system' },
    sources: { storage: { subscribe: none }, nodes: { addHandlers: none }, pods: { addHandlers: none } },
    namespace: 'kube-system',
    replica: 'stork-0',
  });
  const adds: [string, number | undefined][] = [];
  const queue = { add: (key: string, delayMs?: number) => void adds.push([key, delayMs]) };
  return { clock, cluster, client, monitor: m, adds, queue, signal: new AbortController().signal };
}

describe('HealthMonitor: reacting on the event', () => {
  it('queues a node whose storage status changed at once, and again exactly at grace expiry', async () => {
    const t = monitor();
    t.monitor.look(t.queue, t.signal);
    t.adds.length = 0;
    await t.clock.advance(5_000);
    t.cluster.setStatus('n2', 'Offline');
    t.monitor.look(t.queue, t.signal);
    expect(t.adds).toEqual([
      ['n2', undefined],
      ['n2', 60_000],
    ]);
    // No change, no work.
    t.adds.length = 0;
    t.cluster.touch();
    t.monitor.look(t.queue, t.signal);
    expect(t.adds).toEqual([]);
  });

  it('queues a node that never moves pods once (to record it), with no grace deadline', () => {
    const t = monitor();
    t.monitor.look(t.queue, t.signal);
    t.adds.length = 0;
    t.cluster.setStatus('n3', 'Maintenance');
    t.monitor.look(t.queue, t.signal);
    expect(t.adds).toEqual([['n3', undefined]]);
  });

  it('publishes its state in the stork-health-monitor ConfigMap, and only when it changed', async () => {
    const t = monitor();
    t.monitor.look(t.queue, t.signal);
    t.cluster.setStatus('n1', 'Offline');
    t.monitor.look(t.queue, t.signal);
    await waitFor(
      'published',
      () => t.client.callsTo({ verb: 'create', resource: 'configmaps' }).length > 0,
      {
        timeoutMs: 2000,
      },
    );
    const status = t.monitor.status();
    expect(status.breaker.state).toBe('Closed');
    expect(status.nodes).toEqual([
      expect.objectContaining({ name: 'n1', status: 'Offline', action: 'waiting' }),
    ]);
    expect(status).toMatchObject({ storageNodes: 4, unhealthyNodes: 1, replica: 'stork-0' });
    const writes = () => t.client.writes({ resource: 'configmaps' }).length;
    const before = writes();
    t.cluster.touch();
    t.monitor.look(t.queue, t.signal);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(writes()).toBe(before);
  });
});
