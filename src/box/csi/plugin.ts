import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { runCommand } from '../command.js';
import { errorText } from '../../lib/errors.js';

/**
 * A small CSI plugin the box runs, one process-internal server per storage node, speaking the CSI spec's
 * own `csi.proto` over a unix socket to the upstream sidecars (external-provisioner, csi-snapshotter).
 * Volumes are real directories under the node's state directory and snapshots real tar archives, so data
 * round-trips. `local` plugins give every volume the node's topology (node-local storage, like the
 * upstream hostpath driver); a `network` plugin gives none, so its volumes are reachable from every node.
 *
 * Fault injection, for tests of what fails on the storage side (box only, no real driver knows it): a
 * VolumeSnapshotClass parameter {@link failCreateSnapshotParameter} makes CreateSnapshot of that class
 * answer a gRPC error with the parameter's value as its message: INTERNAL, which csi-snapshotter takes as
 * final, or the code `…-code` names (e.g. UNAVAILABLE, which it retries); with `…-times: "<n>"`, only the
 * first n calls for each snapshot fail. csi-snapshotter passes a class's parameters to CreateSnapshot, bar
 * its own `csi.storage.k8s.io/` ones, so the class alone chooses which snapshots fail. The same parameters
 * on a VolumeGroupSnapshotClass make CreateVolumeGroupSnapshot of that class fail alike (nothing cut).
 */
export interface CsiPluginOptions {
  readonly driverName: string;
  /** The node this plugin serves (its node id and topology value). */
  readonly nodeName: string;
  /** The topology key whose value is the node's name (`local` plugins). */
  readonly topologyKey: string;
  readonly mode: 'local' | 'network';
  readonly stateDir: string;
  readonly socketPath: string;
  /** Bytes this node's storage holds in total. */
  readonly capacityBytes: number;
  /** Also serve the GroupController service: snapshots of several volumes in one call (default false). */
  readonly groupSnapshots?: boolean;
}

/** A VolumeSnapshotClass parameter: CreateSnapshot fails with its value as the error's message. */
export const failCreateSnapshotParameter = 'stork.box/fail-create-snapshot';
/** With it: the gRPC status code by name (default INTERNAL). */
export const failCreateSnapshotCodeParameter = 'stork.box/fail-create-snapshot-code';
/** With it: how many CreateSnapshot calls of each snapshot fail before one succeeds (default: all). */
export const failCreateSnapshotTimesParameter = 'stork.box/fail-create-snapshot-times';

interface VolumeRecord {
  readonly id: string;
  readonly name: string;
  readonly bytes: number;
}

interface SnapshotRecord {
  readonly id: string;
  readonly name: string;
  readonly sourceVolumeId: string;
  readonly bytes: number;
  readonly createdAtSeconds: number;
  /** False while {@link CsiPlugin.holdReadiness} keeps it cut but not ready to use (absent: ready). */
  ready?: boolean;
}

/** A group snapshot: its members are ordinary snapshots, so each restores as a single one does. */
interface GroupSnapshotRecord {
  readonly id: string;
  readonly name: string;
  readonly snapshotIds: readonly string[];
  readonly createdAtSeconds: number;
}

interface PluginState {
  volumes: VolumeRecord[];
  snapshots: SnapshotRecord[];
  /** Absent in the state of a plugin that never took one. */
  groupSnapshots?: GroupSnapshotRecord[];
}

type Call = grpc.ServerUnaryCall<Record<string, unknown>, unknown>;

/** A string field of a decoded request (absent or not a string: empty). */
function text(request: Record<string, unknown>, field: string): string {
  const value = request[field];
  return typeof value === 'string' ? value : '';
}
type Callback = grpc.sendUnaryData<unknown>;

class CsiStatusError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

let definition: protoLoader.PackageDefinition | undefined;

function service(protoPath: string, name: string): grpc.ServiceDefinition {
  definition ??= protoLoader.loadSync(protoPath, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  return definition[`csi.v1.${name}`] as grpc.ServiceDefinition;
}

export class CsiPlugin {
  private readonly server = new grpc.Server();
  private state: PluginState = { volumes: [], snapshots: [] };
  /** CreateSnapshot calls failed on purpose, by snapshot name (fault injection, never saved). */
  private readonly injectedFailures = new Map<string, number>();
  /** Serialises state changes: the sidecars call concurrently. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly options: CsiPluginOptions,
    private readonly protoPath: string,
  ) {}

  get usedBytes(): number {
    return this.state.volumes.reduce((total, v) => total + v.bytes, 0);
  }

  get availableBytes(): number {
    return Math.max(0, this.options.capacityBytes - this.usedBytes);
  }

  async start(): Promise<void> {
    const { stateDir, socketPath } = this.options;
    await mkdir(join(stateDir, 'volumes'), { recursive: true });
    await mkdir(join(stateDir, 'snapshots'), { recursive: true });
    try {
      this.state = JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8')) as PluginState;
    } catch {
      this.state = { volumes: [], snapshots: [] };
    }
    await rm(socketPath, { force: true });
    const unary =
      (handler: (request: Record<string, unknown>) => unknown) =>
      (call: Call, callback: Callback): void => {
        const run = (): Promise<unknown> => Promise.resolve().then(() => handler(call.request));
        const result = this.queue.then(run, run);
        this.queue = result.catch(() => undefined);
        result.then(
          (response) => callback(null, response),
          (error: unknown) =>
            callback({
              code: error instanceof CsiStatusError ? error.code : grpc.status.INTERNAL,
              details: errorText(error),
            }),
        );
      };
    this.server.addService(service(this.protoPath, 'Identity'), {
      GetPluginInfo: unary(() => ({ name: this.options.driverName, vendor_version: '1.0.0' })),
      GetPluginCapabilities: unary(() => ({
        capabilities: [
          { service: { type: 'CONTROLLER_SERVICE' } },
          ...(this.options.mode === 'local'
            ? [{ service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } }]
            : []),
          ...(this.options.groupSnapshots ? [{ service: { type: 'GROUP_CONTROLLER_SERVICE' } }] : []),
        ],
      })),
      Probe: unary(() => ({ ready: { value: true } })),
    });
    this.server.addService(service(this.protoPath, 'Controller'), {
      ControllerGetCapabilities: unary(() => ({
        capabilities: [
          'CREATE_DELETE_VOLUME',
          'GET_CAPACITY',
          'CREATE_DELETE_SNAPSHOT',
          'LIST_SNAPSHOTS',
        ].map((type) => ({ rpc: { type } })),
      })),
      CreateVolume: unary((r) => this.createVolume(r)),
      DeleteVolume: unary((r) => this.deleteVolume(text(r, 'volume_id'))),
      GetCapacity: unary(() => ({
        available_capacity: String(this.availableBytes),
        maximum_volume_size: { value: String(this.availableBytes) },
      })),
      CreateSnapshot: unary((r) => this.createSnapshot(r)),
      DeleteSnapshot: unary((r) => this.deleteSnapshot(text(r, 'snapshot_id'))),
      ListSnapshots: unary((r) => this.listSnapshots(r)),
    });
    if (this.options.groupSnapshots) {
      this.server.addService(service(this.protoPath, 'GroupController'), {
        GroupControllerGetCapabilities: unary(() => ({
          capabilities: [{ rpc: { type: 'CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT' } }],
        })),
        CreateVolumeGroupSnapshot: unary((r) => this.createGroupSnapshot(r)),
        DeleteVolumeGroupSnapshot: unary((r) => this.deleteGroupSnapshot(text(r, 'group_snapshot_id'))),
        GetVolumeGroupSnapshot: unary((r) => this.getGroupSnapshot(text(r, 'group_snapshot_id'))),
      });
    }
    this.server.addService(service(this.protoPath, 'Node'), {
      NodeGetInfo: unary(() => ({
        node_id: this.options.nodeName,
        max_volumes_per_node: '0',
        ...(this.options.mode === 'local'
          ? { accessible_topology: { segments: { [this.options.topologyKey]: this.options.nodeName } } }
          : {}),
      })),
      NodeGetCapabilities: unary(() => ({ capabilities: [] })),
    });
    await new Promise<void>((resolve, reject) => {
      this.server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (error) =>
        error ? reject(error) : resolve(),
      );
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    this.server.forceShutdown();
  }

  private volumeDir(id: string): string {
    return join(this.options.stateDir, 'volumes', id);
  }

  private async save(): Promise<void> {
    await writeFile(join(this.options.stateDir, 'state.json'), JSON.stringify(this.state, null, 2));
  }

  private volumeResponse(volume: VolumeRecord, contentSource?: unknown): unknown {
    return {
      volume: {
        volume_id: volume.id,
        capacity_bytes: String(volume.bytes),
        volume_context: {},
        ...(contentSource ? { content_source: contentSource } : {}),
        ...(this.options.mode === 'local'
          ? { accessible_topology: [{ segments: { [this.options.topologyKey]: this.options.nodeName } }] }
          : {}),
      },
    };
  }

  private async createVolume(request: Record<string, unknown>): Promise<unknown> {
    const name = text(request, 'name');
    if (!name) throw new CsiStatusError(grpc.status.INVALID_ARGUMENT, 'CreateVolume: name is required');
    const range = request.capacity_range as { required_bytes?: string } | undefined;
    const bytes = Number(range?.required_bytes ?? '0') || 1024 * 1024 * 1024;
    const existing = this.state.volumes.find((v) => v.name === name);
    if (existing) return this.volumeResponse(existing);
    if (bytes > this.availableBytes) {
      throw new CsiStatusError(
        grpc.status.RESOURCE_EXHAUSTED,
        `node ${this.options.nodeName} has ${this.availableBytes} bytes left, ${bytes} requested`,
      );
    }
    const id = `${this.options.nodeName}.${name}`;
    await mkdir(this.volumeDir(id), { recursive: true });
    const source = request.volume_content_source as { snapshot?: { snapshot_id?: string } } | undefined;
    const snapshotId = source?.snapshot?.snapshot_id;
    if (snapshotId) {
      const snapshot = this.state.snapshots.find((s) => s.id === snapshotId);
      if (!snapshot) throw new CsiStatusError(grpc.status.NOT_FOUND, `snapshot ${snapshotId} not found`);
      await runCommand('tar', ['-xzf', this.snapshotFile(snapshot.id), '-C', this.volumeDir(id)]);
    }
    const volume = { id, name, bytes };
    this.state.volumes.push(volume);
    await this.save();
    return this.volumeResponse(volume, snapshotId ? { snapshot: { snapshot_id: snapshotId } } : undefined);
  }

  private async deleteVolume(id: string): Promise<unknown> {
    if (!id) throw new CsiStatusError(grpc.status.INVALID_ARGUMENT, 'DeleteVolume: volume_id is required');
    this.state.volumes = this.state.volumes.filter((v) => v.id !== id);
    await rm(this.volumeDir(id), { recursive: true, force: true });
    await this.save();
    return {};
  }

  private snapshotFile(id: string): string {
    return join(this.options.stateDir, 'snapshots', `${id}.tgz`);
  }

  private snapshotResponse(s: SnapshotRecord): unknown {
    return {
      snapshot_id: s.id,
      source_volume_id: s.sourceVolumeId,
      size_bytes: String(s.bytes),
      creation_time: { seconds: String(s.createdAtSeconds), nanos: 0 },
      ready_to_use: s.ready !== false,
    };
  }

  /**
   * Snapshots taken from now on are cut (their archive written, `creation_time` set) but not
   * `ready_to_use` until {@link releaseReadiness}, like storage that uploads a snapshot after cutting it:
   * tests make the window between the cut and readiness with it. csi-snapshotter asks again (CreateSnapshot
   * of the same name, ListSnapshots for pre-provisioned contents) with its back-off until it is ready.
   */
  holdReadiness(): void {
    this.readinessHeld = true;
  }

  /** Every snapshot held back by {@link holdReadiness} is ready from now on, and new ones are at once. */
  async releaseReadiness(): Promise<void> {
    this.readinessHeld = false;
    // In the plugin's queue: no call reads the state half-changed.
    const release = async (): Promise<void> => {
      for (const s of this.state.snapshots) s.ready = true;
      await this.save();
    };
    const done = this.queue.then(release, release);
    this.queue = done.catch(() => undefined);
    await done;
  }

  private readinessHeld = false;

  private async createSnapshot(request: Record<string, unknown>): Promise<unknown> {
    const name = text(request, 'name');
    const sourceVolumeId = text(request, 'source_volume_id');
    this.injectedFailure(name, (request.parameters ?? {}) as Record<string, unknown>);
    const existing = this.state.snapshots.find((s) => s.name === name);
    if (existing) return { snapshot: this.snapshotResponse(existing) };
    const volume = this.state.volumes.find((v) => v.id === sourceVolumeId);
    if (!volume) throw new CsiStatusError(grpc.status.NOT_FOUND, `volume ${sourceVolumeId} not found`);
    const id = `${this.options.nodeName}.${name}`;
    await runCommand('tar', ['-czf', this.snapshotFile(id), '-C', this.volumeDir(volume.id), '.']);
    const { size } = await stat(this.snapshotFile(id));
    const snapshot: SnapshotRecord = {
      id,
      name,
      sourceVolumeId,
      bytes: Math.max(size, volume.bytes),
      createdAtSeconds: Math.floor(Date.now() / 1000),
      ...(this.readinessHeld ? { ready: false } : {}),
    };
    this.state.snapshots.push(snapshot);
    this.snapshotsTaken += 1;
    await this.save();
    return { snapshot: this.snapshotResponse(snapshot) };
  }

  /** Throws the failure a class's parameters ask CreateSnapshot for (see the options' comment), if any. */
  private injectedFailure(name: string, parameters: Record<string, unknown>): void {
    const message = parameters[failCreateSnapshotParameter];
    if (typeof message !== 'string') return;
    const codeName = text(parameters, failCreateSnapshotCodeParameter) || 'INTERNAL';
    const code = grpc.status[codeName as keyof typeof grpc.status] as grpc.status | undefined;
    if (typeof code !== 'number')
      throw new CsiStatusError(
        grpc.status.INVALID_ARGUMENT,
        `${failCreateSnapshotCodeParameter}: ${codeName} is not a gRPC status code name`,
      );
    const times = Number(text(parameters, failCreateSnapshotTimesParameter) || Infinity);
    const failed = this.injectedFailures.get(name) ?? 0;
    if (failed >= times) return;
    this.injectedFailures.set(name, failed + 1);
    throw new CsiStatusError(code, message);
  }

  private async deleteSnapshot(id: string): Promise<unknown> {
    this.state.snapshots = this.state.snapshots.filter((s) => s.id !== id);
    await rm(this.snapshotFile(id), { force: true });
    await this.save();
    return {};
  }

  private listSnapshots(request: Record<string, unknown>): unknown {
    const id = text(request, 'snapshot_id');
    const source = text(request, 'source_volume_id');
    const entries = this.state.snapshots
      .filter((s) => (!id || s.id === id) && (!source || s.sourceVolumeId === source))
      .map((s) => ({ snapshot: this.snapshotResponse(s) }));
    return { entries, next_token: '' };
  }

  private groupSnapshotResponse(group: GroupSnapshotRecord): unknown {
    const records = group.snapshotIds.flatMap((id) => this.state.snapshots.filter((m) => m.id === id));
    const members = records.map((s) => ({
      ...(this.snapshotResponse(s) as object),
      group_snapshot_id: group.id,
    }));
    return {
      group_snapshot: {
        group_snapshot_id: group.id,
        snapshots: members,
        creation_time: { seconds: String(group.createdAtSeconds), nanos: 0 },
        // Ready when every member is (all are, unless readiness is held).
        ready_to_use: records.every((s) => s.ready !== false),
      },
    };
  }

  /**
   * Every source volume's archive in one call (one turn of the plugin's queue, so no other call of the
   * plugin runs between them), each an ordinary snapshot that CreateVolume restores.
   */
  private async createGroupSnapshot(request: Record<string, unknown>): Promise<unknown> {
    const name = text(request, 'name');
    if (!name)
      throw new CsiStatusError(grpc.status.INVALID_ARGUMENT, 'CreateVolumeGroupSnapshot: name is required');
    const sources = Array.isArray(request.source_volume_ids)
      ? request.source_volume_ids.filter((v): v is string => typeof v === 'string')
      : [];
    if (sources.length === 0)
      throw new CsiStatusError(
        grpc.status.INVALID_ARGUMENT,
        'CreateVolumeGroupSnapshot: source_volume_ids is required',
      );
    this.injectedFailure(name, (request.parameters ?? {}) as Record<string, unknown>);
    const groups = (this.state.groupSnapshots ??= []);
    const existing = groups.find((g) => g.name === name);
    if (existing) {
      const had = existing.snapshotIds
        .map((id) => this.state.snapshots.find((s) => s.id === id)?.sourceVolumeId)
        .sort();
      if (JSON.stringify(had) !== JSON.stringify([...sources].sort()))
        throw new CsiStatusError(
          grpc.status.ALREADY_EXISTS,
          `group snapshot ${name} exists with other source volumes`,
        );
      return this.groupSnapshotResponse(existing);
    }
    const missing = sources.find((id) => !this.state.volumes.some((v) => v.id === id));
    if (missing) throw new CsiStatusError(grpc.status.NOT_FOUND, `volume ${missing} not found`);
    const id = `${this.options.nodeName}.${name}`;
    const snapshotIds: string[] = [];
    for (const [index, source] of sources.entries()) {
      const member = await this.createSnapshot({ name: `${name}-${index}`, source_volume_id: source });
      snapshotIds.push((member as { snapshot: { snapshot_id: string } }).snapshot.snapshot_id);
    }
    const group: GroupSnapshotRecord = {
      id,
      name,
      snapshotIds,
      createdAtSeconds: Math.floor(Date.now() / 1000),
    };
    groups.push(group);
    this.groupSnapshotsTaken += 1;
    await this.save();
    return this.groupSnapshotResponse(group);
  }

  private async deleteGroupSnapshot(id: string): Promise<unknown> {
    const group = this.state.groupSnapshots?.find((g) => g.id === id);
    if (!group) return {};
    for (const snapshotId of group.snapshotIds) await this.deleteSnapshot(snapshotId);
    this.state.groupSnapshots = (this.state.groupSnapshots ?? []).filter((g) => g.id !== id);
    await this.save();
    return {};
  }

  private getGroupSnapshot(id: string): unknown {
    const group = this.state.groupSnapshots?.find((g) => g.id === id);
    if (!group) throw new CsiStatusError(grpc.status.NOT_FOUND, `group snapshot ${id} not found`);
    return this.groupSnapshotResponse(group);
  }

  /** How many snapshots (group snapshots' members too) this plugin has cut since it started, for tests. */
  snapshotsTaken = 0;

  /** How many group snapshots this plugin has cut since it started, for tests. */
  groupSnapshotsTaken = 0;

  /** The group snapshots this plugin holds (ids of their member snapshots), for tests. */
  groupSnapshotIds(): ReadonlyMap<string, readonly string[]> {
    return new Map((this.state.groupSnapshots ?? []).map((g) => [g.id, g.snapshotIds]));
  }

  /** The volume's directory, for tests that write and read data. */
  dataDir(volumeId: string): string {
    return this.volumeDir(volumeId);
  }
}
