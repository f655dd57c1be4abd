import type { CSINode, PersistentVolume, PersistentVolumeClaim } from '../../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import { CsiDriver } from '../../drivers/csi/csi-driver.js';
import { staticCsiView } from '../../drivers/csi/csi-view.js';
import {
  csiDriver,
  csiNode,
  localDriver,
  networkDriver,
  node,
  nodeKey,
  volume,
} from '../../drivers/csi/testing-fixtures.js';
import { driverState, type DriverState } from '../../drivers/driver-state.js';
import { resources } from '../../k8s/paths.js';
import { FakeKubeClient, tooManyRequests } from '../../k8s/testing/fake-client.js';
import { FakeClock } from '../../lib/fake-clock.js';
import { silentLogger } from '../../lib/log.js';
import { defaultHealthMonitorConfig, type HealthMonitorConfig } from './config.js';
import { healthLanes } from './create.js';
import { HealthMonitor } from './monitor.js';
import { recordingMetrics, TestCluster, type RecordedEvent } from './testing.js';

const grace = 60_000;
const names = ['n1', 'n2', 'n3', 'n4'];

/**
 * `--driver=pxd,csi` with two CSI drivers (a node-local one and a network one): the pxd storage nodes
 * come from the test cluster, the CSI node plugins from CSINodes the test edits, read by the real csi
 * driver through a driver cache the test refreshes.
 */
function mixed(config: Partial<HealthMonitorConfig> = {}, csiOnly = false) {
  const clock = new FakeClock();
  const api = new FakeKubeClient({ clock });
  const cluster = new TestCluster(clock, api, () => tooManyRequests());
  for (const n of names) cluster.addNode(n);
  let csiNodes: CSINode[] = names.map((n) => csiNode(n, [localDriver, networkDriver]));
  const csi = new CsiDriver({
    view: {
      ...staticCsiView({ drivers: [csiDriver(localDriver, true), csiDriver(networkDriver, false)] }),
      csiNode: (name) => csiNodes.find((c) => c.metadata?.name === name),
    },
    servedDrivers: () => [localDriver, networkDriver],
    listNodes: () => names.map((n) => node(n)),
    listVolumes: () => api.objects<PersistentVolume>(resources.persistentVolumes),
  });
  let snapshot: DriverState = driverState([], [], undefined, 0);
  let version = 0;
  const csiCache = {
    snapshot: () => snapshot,
    refresh: async () => {
      snapshot = driverState(await csi.listNodes(), await csi.listVolumes(), clock.wallNow(), ++version);
    },
  };
  const events: RecordedEvent[] = [];
  const { counts, metrics } = recordingMetrics();
  const pxd = cluster.driver();
  const caches = cluster.caches();
  const monitor = new HealthMonitor({
    client: api,
    clock,
    driver: csiOnly ? csi : pxd,
    caches,
    events: {
      record: (o, type, reason, message) =>
        events.push({ kind: o.kind ?? '', name: o.name ?? '', type, reason, message }),
    },
    logger: silentLogger,
    metrics,
    config: { ...defaultHealthMonitorConfig, graceMs: grace, ...config },
    staleAfterMs: 30_000,
    self: { kind: 'ConfigMap', name: 'stork-health-monitor', namespace: 'kube-system' },
    sources: {
      storage: { subscribe: () => () => undefined },
      nodes: { addHandlers: () => () => undefined },
      pods: { addHandlers: () => () => undefined },
    },
    namespace: 'kube-system',
    replica: 'stork-0',
    lanes: healthLanes({
      driver: csiOnly ? csi : pxd,
      cache: csiOnly ? csiCache : caches.storage,
      csi: { driver: csi, cache: csiCache },
    }),
  });
  const queue = { add: () => undefined };
  const signal = new AbortController().signal;
  /** A CSI claim bound to a PV of `driver`, pinned to one node by the driver's topology key if `on`. */
  const csiClaim = (claim: string, driver: string, on?: string): void => {
    const pv = volume(`pv-${claim}`, driver, on ? { [nodeKey]: [on] } : undefined);
    api.seed(resources.persistentVolumes, pv);
    api.seed(resources.persistentVolumeClaims, {
      metadata: { name: claim, namespace: 'ns' },
      spec: { volumeName: `pv-${claim}` },
    } satisfies PersistentVolumeClaim);
  };
  /** The node plugins registered on a node now. */
  const plugins = async (name: string, drivers: readonly string[]): Promise<void> => {
    csiNodes = [...csiNodes.filter((c) => c.metadata?.name !== name), csiNode(name, drivers)];
    await csiCache.refresh();
  };
  /** One pass: look at every cache, then reconcile every node, as the work queue would. */
  const pass = async (): Promise<void> => {
    await csiCache.refresh();
    cluster.touch();
    monitor.look(queue, signal);
    for (const n of names) await monitor.reconcile(n, signal);
  };
  const advance = async (ms: number): Promise<void> => {
    await clock.advance(ms);
    await pass();
  };
  return { clock, api, cluster, csiClaim, plugins, pass, advance, monitor, events, counts };
}

describe('HealthMonitor with several drivers (pxd,csi): each judged on its own', () => {
  it('moves pods with the dead CSI driver’s network volumes once past the grace period, and only those', async () => {
    const t = mixed();
    t.csiClaim('net', networkDriver);
    t.csiClaim('local-data', localDriver, 'n1');
    t.cluster.addPod('net-app', { node: 'n1', claims: ['net'] });
    t.cluster.addPod('px-app', { node: 'n1', claims: ['px'] });
    t.cluster.addPod('other-node', { node: 'n2', claims: ['net'] });
    await t.pass();
    // The network driver's node plugin on n1 dies; the local one lives on.
    await t.plugins('n1', [localDriver]);
    await t.pass();
    await t.advance(grace - 1);
    expect(t.cluster.evictions()).toEqual([]);
    await t.advance(1);
    expect(t.cluster.evictions()).toEqual(['net-app']);
    const moved = t.events.find((e) => e.name === 'net-app' && e.reason === 'StorageDriverOffline');
    expect(moved?.message).toContain(`the ${networkDriver} storage driver on node n1 is Offline`);
  });

  it('never evicts a pod whose CSI volume is local to the node (by the driver’s topology key), and says so', async () => {
    const t = mixed();
    t.csiClaim('net', networkDriver);
    t.csiClaim('local-data', localDriver, 'n1');
    t.cluster.addPod('db', { node: 'n1', claims: ['net', 'local-data'] });
    await t.pass();
    await t.plugins('n1', [localDriver]);
    await t.pass();
    await t.advance(grace);
    await t.advance(1000);
    expect(t.cluster.evictions()).toEqual([]);
    const told = t.events.filter((e) => e.reason === 'VolumeLocalToNode');
    expect(told).toEqual([expect.objectContaining({ kind: 'Pod', name: 'db', type: 'Warning' })]);
    expect(told[0]?.message).toMatch(/pv-local-data are bound to that node/);
  });

  it('the same for the local driver’s own node plugin dying: its pods stay, with the event', async () => {
    const t = mixed();
    t.csiClaim('local-data', localDriver, 'n1');
    t.csiClaim('net', networkDriver);
    t.cluster.addPod('db', { node: 'n1', claims: ['local-data'] });
    // A pod with only the healthy network driver's volume is not the dead driver's to move.
    t.cluster.addPod('net-app', { node: 'n1', claims: ['net'] });
    await t.pass();
    await t.plugins('n1', [networkDriver]);
    await t.pass();
    await t.advance(grace);
    expect(t.cluster.evictions()).toEqual([]);
    expect(t.events.map((e) => e.reason)).toContain('VolumeLocalToNode');
  });

  it('pxd failing moves pxd pods and leaves pods with only healthy CSI volumes', async () => {
    const t = mixed();
    t.csiClaim('net', networkDriver);
    t.cluster.addPod('px-app', { node: 'n2', claims: ['px'] });
    t.cluster.addPod('net-app', { node: 'n2', claims: ['net'] });
    await t.pass();
    t.cluster.setStatus('n2', 'Offline');
    await t.pass();
    await t.advance(grace);
    expect(t.cluster.evictions()).toEqual(['px-app']);
  });

  it('each driver has its own circuit breaker: a CSI driver lost on most nodes moves nothing of it', async () => {
    const t = mixed();
    t.csiClaim('net', networkDriver);
    for (const n of names) t.cluster.addPod(`net-${n}`, { node: n, claims: ['net'] });
    t.cluster.addPod('px-app', { node: 'n4', claims: ['px'] });
    await t.pass();
    for (const n of ['n1', 'n2', 'n3']) await t.plugins(n, [localDriver]);
    t.cluster.setStatus('n4', 'Offline');
    await t.pass();
    await t.advance(grace);
    // The network driver's breaker is open (3 of 4 nodes); pxd's, one of 4, is not.
    expect(t.cluster.evictions()).toEqual(['px-app']);
    const lanes = t.monitor.reconcilers();
    expect(lanes.get(networkDriver)?.breakerState.state).toBe('Open');
    expect(lanes.get('pxd')?.breakerState.state).toBe('Closed');
    expect(t.events).toContainEqual(
      expect.objectContaining({ kind: 'Node', name: 'n1', reason: 'CircuitBreakerOpen' }),
    );
    const status = t.monitor.status();
    expect(status.drivers?.map((d) => [d.driver, d.breaker.state, d.unhealthyNodes])).toEqual([
      ['pxd', 'Closed', 1],
      [localDriver, 'Closed', 0],
      [networkDriver, 'Open', 3],
    ]);
  });

  it('shares one eviction rate limit between drivers', async () => {
    const t = mixed({ batchSize: 1, batchIntervalMs: 30_000 });
    t.csiClaim('net', networkDriver);
    t.cluster.addPod('net-app', { node: 'n1', claims: ['net'] });
    t.cluster.addPod('px-app', { node: 'n2', claims: ['px'] });
    await t.pass();
    await t.plugins('n1', [localDriver]);
    t.cluster.setStatus('n2', 'Offline');
    await t.pass();
    await t.advance(grace);
    expect(t.cluster.evictions()).toHaveLength(1);
    await t.advance(30_000);
    expect(t.cluster.evictions().sort()).toEqual(['net-app', 'px-app']);
  });

  it('a PodDisruptionBudget refusal holds a CSI pod, with the event', async () => {
    const t = mixed();
    t.csiClaim('net', networkDriver);
    t.cluster.addPod('net-app', { node: 'n1', claims: ['net'] });
    t.cluster.guarded.add('net-app');
    await t.pass();
    await t.plugins('n1', [localDriver]);
    await t.pass();
    await t.advance(grace);
    expect(t.events.map((e) => e.reason)).toContain('EvictionBlocked');
    expect(t.counts.blocked).toBe(1);
    expect(t.counts.rescheduled).toBe(0);
  });

  it('with --driver=csi alone, every CSI driver name is judged on its own too', async () => {
    const t = mixed({}, true);
    t.csiClaim('net', networkDriver);
    t.cluster.addPod('net-app', { node: 'n3', claims: ['net'] });
    await t.pass();
    await t.plugins('n3', [localDriver]);
    await t.pass();
    await t.advance(grace);
    expect(t.cluster.evictions()).toEqual(['net-app']);
    expect([...t.monitor.reconcilers().keys()]).toEqual([localDriver, networkDriver]);
  });
});
