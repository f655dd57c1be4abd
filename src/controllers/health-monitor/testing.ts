// Test support for the health monitor's unit tests: a small in-memory cluster (the caches the
// reconciler reads) and a KubeClient that records every call and answers from that cluster.
import type {
  Node,
  ObjectReference,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
} from 'kubernetes-types/core/v1.js';
import type { VolumeAttachment } from 'kubernetes-types/storage/v1.js';
import type { DriverNode, DriverNodeStatus, VolumeDriver } from '../../drivers/driver.js';
import { driverSnapshot, type DriverSnapshot } from '../../drivers/snapshot.js';
import type { CallOptions, DeleteOptions, KubeClient, Named, ObjectList } from '../../k8s/client.js';
import { KubeApiError } from '../../k8s/errors.js';
import type { ResourceType } from '../../k8s/paths.js';
import { FakeClock } from '../../lib/fake-clock.js';
import { silentLogger } from '../../lib/log.js';
import { defaultHealthMonitorConfig, type HealthMonitorConfig } from './config.js';
import { HealthReconciler, type HealthMonitorMetrics } from './reconciler.js';

export interface Call {
  readonly verb: 'get' | 'list' | 'create' | 'replace' | 'patch' | 'delete';
  readonly resource: string;
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
  readonly subresource?: string | undefined;
  readonly options?: unknown;
}

const apiError = (code: number, reason: string, message: string): KubeApiError =>
  new KubeApiError(code, reason, message, { reason });

/** A fake API server over the test cluster: records calls; evictions and deletes may be scripted. */
export class RecordingClient implements KubeClient {
  readonly calls: Call[] = [];
  /** Per pod name: what an eviction answers (default: accepted). */
  readonly evictionAnswers = new Map<string, 'blocked' | 'gone' | Error>();
  /** Node objects as the API server has them (may differ from the cache: a stale cache). */
  readonly serverNodes = new Map<string, Node>();

  constructor(private readonly cluster: TestCluster) {}

  get<T>(type: ResourceType, ref: Named, options?: CallOptions): Promise<T> {
    this.calls.push({
      verb: 'get',
      resource: type.resource,
      namespace: ref.namespace,
      name: ref.name,
      options,
    });
    if (type.resource === 'nodes') {
      const node = this.serverNodes.get(ref.name) ?? this.cluster.nodes.get(ref.name);
      if (node) return Promise.resolve(node as T);
    }
    return Promise.reject(apiError(404, 'NotFound', `${type.resource} "${ref.name}" not found`));
  }

  list<T>(type: ResourceType): Promise<ObjectList<T>> {
    this.calls.push({ verb: 'list', resource: type.resource });
    return Promise.resolve({ metadata: {}, items: [] });
  }

  create<T>(
    type: ResourceType,
    body: T,
    namespace?: string,
    options?: { subresourceOf?: Named },
  ): Promise<T> {
    const sub = options?.subresourceOf;
    this.calls.push({
      verb: 'create',
      resource: type.resource,
      namespace: sub?.namespace ?? namespace,
      name: sub?.name,
      subresource: sub?.subresource,
      options: body,
    });
    if (sub?.subresource === 'eviction') {
      const answer = this.evictionAnswers.get(sub.name);
      if (answer === 'blocked')
        return Promise.reject(
          apiError(
            429,
            'TooManyRequests',
            "Cannot evict pod as it would violate the pod's disruption budget.",
          ),
        );
      if (answer === 'gone') return Promise.reject(apiError(404, 'NotFound', 'pod not found'));
      if (answer instanceof Error) return Promise.reject(answer);
      this.cluster.markDeleting(sub.name);
    }
    return Promise.resolve(body);
  }

  replace<T>(type: ResourceType, ref: Named, body: T): Promise<T> {
    this.calls.push({ verb: 'replace', resource: type.resource, namespace: ref.namespace, name: ref.name });
    return Promise.resolve(body);
  }

  patch<T>(type: ResourceType, ref: Named): Promise<T> {
    this.calls.push({ verb: 'patch', resource: type.resource, namespace: ref.namespace, name: ref.name });
    return Promise.resolve({} as T);
  }

  delete(type: ResourceType, ref: Named, options?: DeleteOptions): Promise<unknown> {
    this.calls.push({
      verb: 'delete',
      resource: type.resource,
      namespace: ref.namespace,
      name: ref.name,
      options,
    });
    return Promise.resolve({});
  }

  /** Names of the pods evicted (accepted or not), in order. */
  evictions(): string[] {
    return this.calls.filter((c) => c.subresource === 'eviction').map((c) => c.name ?? '');
  }

  deletes(resource: string): string[] {
    return this.calls.filter((c) => c.verb === 'delete' && c.resource === resource).map((c) => c.name ?? '');
  }
}

export interface PodSpecInput {
  readonly node?: string;
  readonly claims?: readonly string[];
  readonly phase?: string;
  readonly ownerKind?: string;
  readonly mirror?: boolean;
  /** Deletion began this many ms before the clock's wall time. */
  readonly deletingForMs?: number;
}

/** The objects a test cluster holds: Nodes, pods, claims and volumes, attachments, the storage nodes. */
export class TestCluster {
  readonly nodes = new Map<string, Node>();
  readonly pods = new Map<string, Pod>();
  readonly claims = new Map<string, PersistentVolumeClaim>();
  readonly volumes = new Map<string, PersistentVolume>();
  readonly attachments = new Map<string, VolumeAttachment>();
  private storage = new Map<string, DriverNode>();
  private snapshotVersion = 1;
  nodesVersion = 1;
  private current: DriverSnapshot;
  /** Overrides for the storage snapshot: a failed refresh, a stale view. */
  refreshedAgoMs = 0;
  lastError: string | undefined;
  servedBy: string | undefined;
  /** What `inspectNode` answers now when it differs from the cached view (the cache lags behind). */
  readonly liveStatus = new Map<string, DriverNodeStatus>();

  constructor(readonly clock: FakeClock) {
    this.current = this.build();
  }

  /** A Kubernetes node with a storage node of the same name (id `px-<name>`). */
  addNode(name: string, status: DriverNodeStatus = 'Online', ready = true): void {
    this.nodes.set(name, {
      metadata: { name },
      status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
    });
    this.storage.set(name, { id: `px-${name}`, hostname: name, schedulerNodeName: name, ips: [], status });
    this.nodesVersion++;
    this.touch();
  }

  setStatus(name: string, status: DriverNodeStatus): void {
    const node = this.storage.get(name);
    if (!node) throw new Error(`no storage node ${name}`);
    this.storage.set(name, { ...node, status });
    this.touch();
  }

  setReady(name: string, ready: boolean): void {
    this.nodes.set(name, {
      metadata: { name },
      status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
    });
    this.nodesVersion++;
  }

  /** A claim bound to a PV of the driver; `localTo` pins the PV to one node. */
  addClaim(name: string, options: { localTo?: string; foreign?: boolean } = {}): void {
    const pv = `pv-${name}`;
    this.claims.set(`ns/${name}`, {
      metadata: { name, namespace: 'ns' },
      spec: { volumeName: pv, storageClassName: options.foreign ? 'other' : 'px' },
    });
    this.volumes.set(pv, {
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
    });
  }

  addPod(name: string, input: PodSpecInput = {}): Pod {
    const pod: Pod = {
      metadata: {
        name,
        namespace: 'ns',
        uid: `uid-${name}`,
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
        volumes: (input.claims ?? ['data']).map((c) => ({
          name: c,
          persistentVolumeClaim: { claimName: c },
        })),
      },
      status: { phase: input.phase ?? 'Running' },
    };
    for (const claim of input.claims ?? ['data']) if (!this.claims.has(`ns/${claim}`)) this.addClaim(claim);
    this.pods.set(name, pod);
    return pod;
  }

  /** What the API server does to an evicted pod: it starts terminating (30 s grace). */
  markDeleting(name: string): void {
    const pod = this.pods.get(name);
    if (!pod?.metadata) return;
    this.pods.set(name, {
      ...pod,
      metadata: {
        ...pod.metadata,
        deletionTimestamp: new Date(this.clock.wallNow() + 30_000).toISOString(),
        deletionGracePeriodSeconds: 30,
      },
    });
  }

  addAttachment(name: string, node: string, pv: string, attacher = 'pxd.portworx.com'): void {
    this.attachments.set(name, {
      metadata: { name },
      spec: { attacher, nodeName: node, source: { persistentVolumeName: pv } },
    });
  }

  /** A new storage snapshot, as after a driver cache refresh. */
  touch(): void {
    this.snapshotVersion++;
    this.current = this.build();
  }

  private build(): DriverSnapshot {
    const base = driverSnapshot(
      [...this.storage.values()],
      [],
      this.clock.wallNow() - this.refreshedAgoMs,
      this.snapshotVersion,
      this.lastError,
    );
    return this.servedBy ? { ...base, servedBy: this.servedBy } : base;
  }

  caches() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const cluster = this;
    return {
      storage: { snapshot: () => this.current },
      nodes: {
        get: (name: string) => this.nodes.get(name),
        list: () => [...this.nodes.values()],
        get version() {
          return cluster.nodesVersion;
        },
      },
      podsOnNode: (node: string) => [...this.pods.values()].filter((p) => p.spec?.nodeName === node),
      attachmentsOnNode: (node: string) =>
        [...this.attachments.values()].filter((a) => a.spec.nodeName === node),
      claims: {
        getClaim: (namespace: string, name: string) => this.claims.get(`${namespace}/${name}`),
        getVolume: (name: string) => this.volumes.get(name),
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
  options: {
    nodes?: number;
    config?: Partial<HealthMonitorConfig>;
    inspectFails?: boolean;
    staleAfterMs?: number;
  } = {},
) {
  const clock = new FakeClock();
  const cluster = new TestCluster(clock);
  for (let i = 1; i <= (options.nodes ?? 4); i++) cluster.addNode(`n${i}`);
  const client = new RecordingClient(cluster);
  const events: RecordedEvent[] = [];
  const { counts, metrics } = recordingMetrics();
  const config: HealthMonitorConfig = {
    ...defaultHealthMonitorConfig,
    graceMs: 60_000,
    ...options.config,
  };
  const reconciler = new HealthReconciler({
    client,
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
  return { clock, cluster, client, events, counts, config, reconciler, advance };
}
