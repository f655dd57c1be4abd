// The storage simulator's gRPC side (a test and demo tool): the OpenStorage SDK subset of
// proto/openstorage/api.proto served from a SimulatorState, answering the way an SDK server does
// (status codes and messages follow upstream's server where it matters to clients).
import {
  Server,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { openStorageService } from '../drivers/portworx/proto.js';
import type {
  SdkMethod,
  SdkMethods,
  SdkVolumeInspectResponse,
  SdkVolumeStatus,
  StorageNode,
  Volume,
} from '../drivers/portworx/sdk-types.js';
import { SimulatorError, type SimulatorErrorKind } from './errors.js';
import type { SimNode, SimulatorState, SimVolume } from './simulator-state.js';

export interface SdkServerOptions {
  /** When set, every call must carry `authorization: bearer <token>`, else UNAUTHENTICATED. */
  readonly token?: string;
  /** StorageCluster id and name. */
  readonly clusterId?: string;
}

/** The SDK version of the upstream proto our subset follows (SdkVersion.Version in v9.4.47). */
const sdkVersion = { major: 0, minor: 101, patch: 33, version: '0.101.33' };

const codeFor: Readonly<Record<SimulatorErrorKind, status>> = {
  NotFound: status.NOT_FOUND,
  InvalidArgument: status.INVALID_ARGUMENT,
  AlreadyExists: status.ALREADY_EXISTS,
  FailedPrecondition: status.FAILED_PRECONDITION,
  ResourceExhausted: status.RESOURCE_EXHAUSTED,
};

type Handlers = { [M in SdkMethod]: (request: SdkMethods[M]['req']) => SdkMethods[M]['res'] };

/** A gRPC server with every service of the subset, not yet bound. */
export function createSdkServer(state: SimulatorState, options: SdkServerOptions = {}): Server {
  const server = new Server();
  const byService = new Map<string, UntypedServiceImplementation>();
  const handlers = sdkHandlers(state, options.clusterId ?? 'stork-ts-simulator');
  for (const method of Object.keys(handlers) as SdkMethod[]) {
    const [service = '', name = ''] = method.split('/');
    const implementation = byService.get(service) ?? {};
    implementation[name] = unary(method, handlers, options.token, state);
    byService.set(service, implementation);
  }
  for (const [service, implementation] of byService) {
    server.addService(openStorageService(service), implementation);
  }
  return server;
}

/** One unary handler: auth check, then the handler; SimulatorErrors become their status codes. */
function unary<M extends SdkMethod>(
  method: M,
  handlers: Handlers,
  token: string | undefined,
  state: SimulatorState,
) {
  const handler = handlers[method] as (request: SdkMethods[M]['req']) => SdkMethods[M]['res'];
  return (call: ServerUnaryCall<SdkMethods[M]['req'], unknown>, callback: sendUnaryData<unknown>): void => {
    if (state.cluster.unreachable) {
      callback({ code: status.UNAVAILABLE, details: 'storage API unreachable (simulated)' });
      return;
    }
    const denied = token === undefined ? undefined : authError(call.metadata.get('authorization'), token);
    if (denied) {
      callback({ code: status.UNAUTHENTICATED, details: denied });
      return;
    }
    try {
      callback(null, handler(call.request));
    } catch (error) {
      if (error instanceof SimulatorError) callback({ code: codeFor[error.kind], details: error.message });
      else callback({ code: status.INTERNAL, details: `${method}: ${String(error)}` });
    }
  };
}

/** Why a call's authorization does not carry the token, or undefined if it does. */
function authError(values: readonly unknown[], token: string): string | undefined {
  const header = values[0];
  if (typeof header !== 'string' || header === '') return 'Access denied: missing authorization bearer token';
  const match = /^bearer\s+(\S+)$/i.exec(header);
  if (!match) return 'Access denied: authorization must be "bearer <token>"';
  return match[1] === token ? undefined : 'Access denied: invalid token';
}

function sdkHandlers(state: SimulatorState, clusterId: string): Handlers {
  const required = (value: string | undefined, message: string): string => {
    if (!value) throw new SimulatorError('InvalidArgument', message);
    return value;
  };
  const inspect = (volume: SimVolume): SdkVolumeInspectResponse => ({
    volume: toSdkVolume(volume, state),
    name: volume.name,
    labels: { ...volume.labels },
  });
  const matches = (volume: SimVolume, name = '', labels: Readonly<Record<string, string>> = {}): boolean =>
    (!name || volume.name === name) && Object.entries(labels).every(([k, v]) => volume.labels[k] === v);
  const snapshotsOf = (volumeId = '', labels: Readonly<Record<string, string>> = {}): string[] =>
    state
      .volumes()
      .filter((v) => v.snapshot && (!volumeId || v.parentId === volumeId) && matches(v, '', labels))
      .map((v) => v.id);

  return {
    'OpenStorageIdentity/Version': () => ({
      sdk_version: sdkVersion,
      version: { driver: 'pxd-simulator', version: '0.1.0', details: {} },
    }),
    'OpenStorageCluster/InspectCurrent': () => ({
      cluster: {
        status: state.cluster.quorumLost ? 'STATUS_NOT_IN_QUORUM' : 'STATUS_OK',
        id: clusterId,
        name: clusterId,
      },
    }),
    'OpenStorageNode/Inspect': (req) => ({
      node: toStorageNode(state.node(required(req.node_id, 'Node id must be provided')), state),
    }),
    'OpenStorageNode/Enumerate': () => ({ node_ids: state.nodes().map((n) => n.id) }),
    'OpenStorageNode/EnumerateWithFilters': () => ({
      nodes: state.nodes().map((n) => toStorageNode(n, state)),
    }),
    'OpenStorageVolume/Create': (req) => {
      if (!req.spec) throw new SimulatorError('InvalidArgument', 'Must supply spec object');
      const volume = state.createVolume({
        name: required(req.name, 'Must supply a unique name'),
        sizeBytes: Number(req.spec.size ?? 0),
        haLevel: Number(req.spec.ha_level ?? 0),
        replicaNodes: req.spec.replica_set?.nodes ?? [],
        labels: req.labels ?? {},
      });
      return { volume_id: volume.id };
    },
    'OpenStorageVolume/Clone': (req) => ({
      volume_id: state.cloneVolume(
        required(req.name, 'Must supply a unique name'),
        required(req.parent_id, 'Must supply the parent volume id'),
      ).id,
    }),
    'OpenStorageVolume/Delete': (req) => {
      // Idempotent, as upstream: deleting what is not there succeeds.
      state.deleteVolume(required(req.volume_id, 'Must supply volume id'));
      return {};
    },
    'OpenStorageVolume/Inspect': (req) =>
      inspect(state.requireVolume(required(req.volume_id, 'Must supply volume id'))),
    'OpenStorageVolume/InspectWithFilters': (req) => ({
      volumes: state
        .volumes()
        .filter((v) => matches(v, req.name, req.labels))
        .map(inspect),
    }),
    'OpenStorageVolume/Enumerate': () => ({ volume_ids: state.volumes().map((v) => v.id) }),
    'OpenStorageVolume/EnumerateWithFilters': (req) => ({
      volume_ids: state
        .volumes()
        .filter((v) => matches(v, req.name, req.labels))
        .map((v) => v.id),
    }),
    'OpenStorageVolume/SnapshotCreate': (req) => ({
      snapshot_id: state.snapshotVolume(
        required(req.volume_id, 'Must supply volume id'),
        required(req.name, 'Must supply a name'),
        req.labels ?? {},
      ).id,
    }),
    'OpenStorageVolume/SnapshotRestore': (req) => {
      const volumeId = required(req.volume_id, 'Must supply volume id');
      const snapshotId = required(req.snapshot_id, 'Must supply snapshot id');
      state.requireVolume(volumeId);
      const snapshot = state.requireVolume(snapshotId);
      if (!snapshot.snapshot || snapshot.parentId !== volumeId) {
        throw new SimulatorError('InvalidArgument', `${snapshotId} is not a snapshot of volume ${volumeId}`);
      }
      return {}; // no data to roll back in a simulator
    },
    'OpenStorageVolume/SnapshotEnumerate': (req) => ({ volume_snapshot_ids: snapshotsOf(req.volume_id) }),
    'OpenStorageVolume/SnapshotEnumerateWithFilters': (req) => ({
      volume_snapshot_ids: snapshotsOf(req.volume_id, req.labels),
    }),
  };
}

export function toStorageNode(node: SimNode, state?: SimulatorState): StorageNode {
  return {
    id: node.id,
    status: state ? state.reportedStatus(node) : node.status,
    mgmt_ip: node.mgmtIp,
    data_ip: node.dataIp,
    hostname: node.hostname,
    node_labels: { ...node.labels },
    scheduler_node_name: node.schedulerNodeName,
    scheduler_topology: { labels: { ...node.topology } },
  };
}

/** UP when every replica's node serves storage, DOWN when none does, DEGRADED in between. */
function volumeStatus(volume: SimVolume, state: SimulatorState): SdkVolumeStatus {
  const serving = volume.replicaNodeIds.filter((id) => {
    const node = state.nodes().find((n) => n.id === id);
    return node?.status === 'STATUS_OK';
  }).length;
  if (serving === volume.replicaNodeIds.length) return 'VOLUME_STATUS_UP';
  return serving === 0 ? 'VOLUME_STATUS_DOWN' : 'VOLUME_STATUS_DEGRADED';
}

export function toSdkVolume(volume: SimVolume, state: SimulatorState): Volume {
  return {
    id: volume.id,
    source: { parent: volume.parentId ?? '', seed: '' },
    readonly: volume.snapshot,
    locator: { name: volume.name, volume_labels: { ...volume.labels } },
    spec: {
      size: String(volume.sizeBytes),
      ha_level: String(volume.haLevel),
      replica_set: { nodes: [...volume.replicaNodeIds] },
    },
    usage: '0',
    status: volumeStatus(volume, state),
    state: 'VOLUME_STATE_AVAILABLE',
    // Portworx reports one replica set per aggregation part; without aggregation that is one set.
    replica_sets: [{ nodes: [...volume.replicaNodeIds] }],
  };
}
