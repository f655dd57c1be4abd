// Test support for the health monitor's unit tests: a small cluster whose API server is the shared
// in-memory fake (passed in by the tests, which alone may import src/k8s/testing) and whose caches are
// views over it, except the Node cache, which a test may make disagree with the API server (stale).
import type {
  Node,
  ObjectReference,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  VolumeAttachment,
} from '../../wire/k8s-types.js';
import type { DriverNode, DriverNodeStatus, VolumeDriver } from '../../drivers/driver.js';
import { driverState, emptyDriverState, type DriverState } from '../../drivers/driver-state.js';
import type { KubeClient } from '../../k8s/client.js';
import { resources, type ResourceType } from '../../k8s/paths.js';
import type { FakeClock } from '../../lib/fake-clock.js';
import { silentLogger } from '../../lib/log.js';
import { defaultHealthMonitorConfig, type HealthMonitorConfig } from './config.js';
import { HealthReconciler, type HealthMonitorMetrics } from './reconciler.js';

/** What the tests need of the fake API server (src/k8s/testing's FakeKubeClient has all of it). */
export interface FakeApi extends KubeClient {
  seed(type: ResourceType, ...objects: unknown[]): void;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- a typed read, as the fake's
  object<T = unknown>(type: ResourceType, name: string, namespace?: string): T | undefined;
  objects<T = unknown>(type: ResourceType, namespace?: string): T[];
  callsTo(match?: {
    verb?: 'get' | 'create' | 'delete';
    resource?: string;
    subresource?: string;
    name?: string;
  }): { readonly name: string | undefined; readonly outcome: string }[];
  evictionHook: ((pod: unknown, eviction: unknown) => Error | undefined) | undefined;
}

/** Pods keep this finalizer, so an evicted pod stays terminating (as until its kubelet finishes it). */
const keep = 'test.stork/keep';

export interface PodSpecInput {
  readonly node?: string;
  readonly claims?: readonly string[];
  readonly phase?: string;
  readonly ownerKind?: string;
  readonly mirror?: boolean;
  /** Deletion began this many ms before the clock's wall time. */
  readonly deletingForMs?: number;
}

const readyNode = (name: string, ready: boolean | 'Unknown'): Node => ({
  metadata: { name },
  status: {
    conditions: [{ type: 'Ready', status: ready === 'Unknown' ? 'Unknown' : ready ? 'True' : 'False' }],
  },
});

/** The objects of a test cluster: in the fake API server, plus the storage nodes and a Node cache. */
export class TestCluster {
  /** The Node informer's view (may lag behind the API server). */
  readonly cachedNodes = new Map<string, Node>();
  private storage = new Map<string, DriverNode>();
  /** The storage nodes changed since the last snapshot (else it keeps their array, as the cache does). */
  private storageChanged = true;
  private snapshotVersion = 1;
  nodesVersion = 1;
  private current: DriverState = emptyDriverState;
  /** Overrides for the storage snapshot: a failed refresh, a stale view. */
  refreshedAgoMs = 0;
  lastError: string | undefined;
  servedBy: string | undefined;
  /** What `inspectNode` answers now when it differs from the cached view (the cache lags behind). */
  readonly liveStatus = new Map<string, DriverNodeStatus>();
  /** Pods whose eviction a PodDisruptionBudget refuses. */
  readonly guarded = new Set<string>();

  constructor(
    readonly clock: FakeClock,
    readonly api: FakeApi,
    refusal: () => Error,
  ) {
    this.current = this.build();
    api.evictionHook = (pod) => (this.guarded.has((pod as Pod).metadata?.name ?? '') ? refusal() : undefined);
  }

  /** A Kubernetes node with a storage node of the same name (id `px-<name>`). */
  addNode(name: string, status: DriverNodeStatus = 'Online'): void {
    this.api.seed(resources.nodes, readyNode(name, true));
    this.cachedNodes.set(name, readyNode(name, true));
    this.storage.set(name, { id: `px-${name}`, hostname: name, schedulerNodeName: name, ips: [], status });
    this.storageChanged = true;
    this.nodesVersion++;
    this.touch();
  }

  setStatus(name: string, status: DriverNodeStatus): void {
    const node = this.storage.get(name);
    if (!node) throw new Error(`no storage node ${name}`);
    this.storage.set(name, { ...node, status });
    this.storageChanged = true;
    this.touch();
  }

  /** The Node's Ready condition in the cache and on the API server, which may differ. */
  setReady(name: string, cached: boolean, server: boolean | 'Unknown'): void {
    this.cachedNodes.set(name, readyNode(name, cached));
    this.nodesVersion++;
    this.api.seed(resources.nodes, readyNode(name, server));
  }

  /** A claim bound to a PV of the driver (or another driver's); `localTo` pins the PV to one node. */
  addClaim(name: string, options: { localTo?: string; foreign?: boolean } = {}): void {
    const pv = `pv-${name}`;
    this.api.seed(resources.persistentVolumeClaims, {
      metadata: { name, namespace: 'ns' },
      spec: { volumeName: pv, storageClassName: options.foreign ? 'other' : 'px' },
    } satisfies PersistentVolumeClaim);
    this.api.seed(resources.persistentVolumes, {
      metadata: { name: pv },
      spec: {
        csi: { driver: options.foreign ? 'other.csi' : 'pxd.portworx.com', volumeHandle: name },
        ...(options.localTo
          ? {
              nodeAffinity: {
                required: {
                  nodeSelectorTerms: [
                    {
                      matchExpressions: [
                        { key: 'kubernetes.io/hostname', operator: 'In', values: [options.localTo] },
                      ],
                    },
                  ],
                },
              },
            }
          : {}),
      },
    } satisfies PersistentVolume);
  }

  addPod(name: string, input: PodSpecInput = {}): void {
    const claims = input.claims ?? ['data'];
    for (const claim of claims)
      if (!this.api.object(resources.persistentVolumeClaims, claim, 'ns')) this.addClaim(claim);
    const pod: Pod = {
      metadata: {
        name,
        namespace: 'ns',
        uid: `uid-${name}`,
        finalizers: [keep],
        ...(input.ownerKind
          ? {
              ownerReferences: [
                { apiVersion: 'apps/v1', kind: input.ownerKind, name: 'owner', uid: 'o', controller: true },
              ],
            }
          : {}),
        ...(input.mirror ? { annotations: { 'kubernetes.io/config.mirror': 'abc' } } : {}),
        ...(input.deletingForMs !== undefined
          ? {
              deletionTimestamp: new Date(this.clock.wallNow() - input.deletingForMs + 30_000).toISOString(),
              deletionGracePeriodSeconds: 30,
            }
          : {}),
      },
      spec: {
        nodeName: input.node ?? 'n1',
        containers: [],
        volumes: claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })),
      },
      status: { phase: input.phase ?? 'Running' },
    };
    this.api.seed(resources.pods, pod);
  }

  addAttachment(name: string, node: string, pv: string, attacher = 'pxd.portworx.com'): void {
    this.api.seed(resources.volumeAttachments, {
      metadata: { name },
      spec: { attacher, nodeName: node, source: { persistentVolumeName: pv } },
    } satisfies VolumeAttachment);
  }

  /** A new storage snapshot, as after a driver cache refresh. */
  touch(): void {
    this.snapshotVersion++;
    this.current = this.build();
  }

  private build(): DriverState {
    // The driver cache keeps the same node array while the nodes stay the same; so does this.
    const nodes = this.storageChanged ? [...this.storage.values()] : this.current.nodes;
    this.storageChanged = false;
    const base = driverState(
      nodes,
      [],
      this.clock.wallNow() - this.refreshedAgoMs,
      this.snapshotVersion,
      this.lastError,
    );
    return this.servedBy ? { ...base, servedBy: this.servedBy } : base;
  }

  /** Names of the pods an eviction was asked for (accepted or not), in order. */
  evictions(): string[] {
    return this.api
      .callsTo({ verb: 'create', resource: 'pods', subresource: 'eviction' })
      .map((c) => c.name ?? '');
  }

  /** Names of the objects of a resource deleted (successfully). */
  deletes(resource: string): string[] {
    return this.api
      .callsTo({ verb: 'delete', resource })
      .filter((c) => c.outcome === 'ok')
      .map((c) => c.name ?? '');
  }

  caches() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const cluster = this;
    const { api } = this;
    return {
      storage: { snapshot: () => this.current },
      nodes: {
        get: (name: string) => this.cachedNodes.get(name),
        list: () => [...this.cachedNodes.values()],
        get version() {
          return cluster.nodesVersion;
        },
      },
      podsOnNode: (node: string) => api.objects<Pod>(resources.pods).filter((p) => p.spec?.nodeName === node),
      attachmentsOnNode: (node: string) =>
        api.objects<VolumeAttachment>(resources.volumeAttachments).filter((a) => a.spec.nodeName === node),
      claims: {
        getClaim: (name: string, namespace: string) =>
          api.object<PersistentVolumeClaim>(resources.persistentVolumeClaims, name, namespace),
        getVolume: (name: string) => api.object<PersistentVolume>(resources.persistentVolumes, name),
        getStorageClass: () => undefined,
      },
    };
  }

  /** The driver: owns claims whose PV is pxd's; `inspectNode` answers from the storage nodes (or fails). */
  driver(
    options: { inspectFails?: boolean } = {},
  ): Pick<VolumeDriver, 'name' | 'csiDriverName' | 'inspectNode' | 'ownsClaim'> {
    return {
      name: 'pxd',
      csiDriverName: 'pxd.portworx.com',
      inspectNode: (id) => {
        if (options.inspectFails) return Promise.reject(new Error('storage system unreachable'));
        const node = [...this.storage.values()].find((n) => n.id === id);
        if (!node) return Promise.reject(new Error(`no node ${id}`));
        const live = this.liveStatus.get(node.hostname);
        return Promise.resolve(live ? { ...node, status: live } : node);
      },
      ownsClaim: (_claim, pv) => pv?.spec?.csi?.driver === 'pxd.portworx.com',
    };
  }
}

export interface RecordedEvent {
  readonly kind: string;
  readonly name: string;
  readonly type: string;
  readonly reason: string;
  readonly message: string;
}

export function recordingMetrics() {
  const counts = {
    rescheduled: 0,
    blocked: 0,
    forceDeleted: 0,
    unhealthy: 0,
    open: false,
    trips: [] as string[],
  };
  const metrics: HealthMonitorMetrics = {
    podRescheduled: () => {
      counts.rescheduled++;
    },
    evictionBlocked: () => {
      counts.blocked++;
    },
    podForceDeleted: () => {
      counts.forceDeleted++;
    },
    unhealthyNodes: (n) => void (counts.unhealthy = n),
    circuitBreakerOpen: (open) => void (counts.open = open),
    circuitBreakerTripped: (reason) => void counts.trips.push(reason),
  };
  return { counts, metrics };
}

/** A reconciler over a test cluster with `nodes` storage nodes n1..nN, all Online and Ready. */
export function testReconciler(
  fake: { clock: FakeClock; api: FakeApi; refusal: () => Error },
  options: {
    nodes?: number;
    config?: Partial<HealthMonitorConfig>;
    inspectFails?: boolean;
    staleAfterMs?: number;
  } = {},
) {
  const { clock, api } = fake;
  const cluster = new TestCluster(clock, api, fake.refusal);
  for (let i = 1; i <= (options.nodes ?? 4); i++) cluster.addNode(`n${i}`);
  const events: RecordedEvent[] = [];
  const { counts, metrics } = recordingMetrics();
  const config: HealthMonitorConfig = {
    ...defaultHealthMonitorConfig,
    graceMs: 60_000,
    ...options.config,
  };
  const reconciler = new HealthReconciler({
    client: api,
    clock,
    driver: cluster.driver({ inspectFails: options.inspectFails ?? false }),
    caches: cluster.caches(),
    events: {
      record: (object: ObjectReference, type, reason, message) =>
        events.push({ kind: object.kind ?? '', name: object.name ?? '', type, reason, message }),
    },
    logger: silentLogger,
    metrics,
    config,
    staleAfterMs: options.staleAfterMs ?? 30_000,
    self: { apiVersion: 'v1', kind: 'ConfigMap', name: 'stork-health-monitor', namespace: 'kube-system' },
  });
  /** Advances the clock, keeping the storage view fresh (a cache refreshing in the background). */
  const advance = async (ms: number): Promise<void> => {
    await clock.advance(ms);
    cluster.touch();
  };
  return { clock, cluster, api, events, counts, config, reconciler, advance };
}
