import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CSIDriver, CSINode, Node, StorageClass } from '../../wire/k8s-types.js';
import { getOrUndefined, isAlreadyExists } from '../../k8s/errors.js';
import { retryOnConflict } from '../../k8s/retry.js';
import { resources } from '../../k8s/paths.js';
import { csiSnapshotResources } from '../../drivers/csi/csi-snapshots.js';
import {
  csiGroupSnapshotResources,
  defaultGroupSnapshotClassAnnotation,
} from '../../drivers/csi/csi-group-snapshots.js';
import { csiResources } from '../../drivers/csi/csi-informers.js';
import { registeredDrivers } from '../../drivers/csi/csi-view.js';
import type { Box } from '../box.js';
import { ManagedProcess } from '../process.js';
import { recordBoxProcess } from '../stale.js';
import {
  ensureCsiProvisioner,
  ensureCsiSnapshotter,
  type CsiProvisionerBinaries,
  type CsiSnapshotterBinaries,
} from './build.js';
import { CsiPlugin } from './plugin.js';

/** The box's node-local CSI driver: one plugin and one distributed provisioner per storage node. */
export const localCsiDriver = 'local.csi.box.test';
/** The box's network CSI driver: one controller for all nodes; its volumes are reachable everywhere. */
export const networkCsiDriver = 'network.csi.box.test';
/** The node label (and CSINode topology key) naming the node for the local driver's volumes. */
export const localTopologyKey = 'topology.local.csi.box.test/node';
export const localStorageClass = 'csi-local';
export const networkStorageClass = 'csi-network';
/** Where the box's CSI sidecars keep their CSIStorageCapacity objects. */
export const csiNamespace = 'kube-system';
/** With `snapshots`: the local driver's VolumeSnapshotClass (default for the driver, deletion policy Delete). */
export const localSnapshotClass = 'csi-local-snapshots';
/** With `groupSnapshots`: the network driver's VolumeSnapshotClass (default for it, deletion policy Delete). */
export const networkSnapshotClass = 'csi-network-snapshots';
/** With `groupSnapshots`: the network driver's VolumeGroupSnapshotClass (default for it, policy Delete). */
export const networkGroupSnapshotClass = 'csi-network-group-snapshots';
/** external-snapshotter's feature gate of VolumeGroupSnapshots (on by default from v8.7, named to be sure). */
const groupSnapshotGate = '--feature-gates=CSIVolumeGroupSnapshot=true';

export interface BoxCsiOptions {
  /** The storage nodes (box node names) and the bytes each one's local storage holds. */
  readonly nodes: readonly { readonly name: string; readonly capacityBytes: number }[];
  /** How often the provisioners re-read capacity (default 2 s; upstream's default is a minute). */
  readonly capacityPollSeconds?: number;
  /** Also run snapshot-controller and the csi-snapshotter sidecars (default false). */
  readonly snapshots?: boolean;
  /**
   * Also native group snapshots, on the network driver (implies `snapshots`): its plugin serves the CSI
   * GroupController, a csi-snapshotter of its own (not a node deployment: upstream's node-deployed sidecar
   * serves only contents labelled with its node, which group snapshot contents never are) and the two
   * classes above (default false).
   */
  readonly groupSnapshots?: boolean;
  readonly log?: (line: string) => void;
}

/**
 * Real CSI storage for a box: the upstream external-provisioner (and, with `snapshots`, the
 * csi-snapshotter and snapshot-controller) against the box's CSI plugins, with the CSIDriver, CSINode
 * and StorageClass objects a cluster would have. There is no kubelet, so the box writes each node's
 * CSINode itself; {@link BoxCsi.unregister} removes a driver's entry, as a kubelet does when the node
 * plugin's registration socket goes away.
 */
export class BoxCsi {
  private readonly processes: ManagedProcess[] = [];
  readonly plugins = new Map<string, CsiPlugin>();

  private constructor(
    private readonly box: Box,
    readonly binaries: CsiProvisionerBinaries,
    private readonly snapshotter: CsiSnapshotterBinaries | undefined,
    private readonly dir: string,
  ) {}

  static async start(box: Box, options: BoxCsiOptions): Promise<BoxCsi> {
    const log = options.log ? { log: options.log } : {};
    // Built lazily, each half only when asked for: most tests never pay for CSI at all.
    const binaries = await ensureCsiProvisioner(log);
    const snapshotter =
      options.snapshots || options.groupSnapshots ? await ensureCsiSnapshotter(log) : undefined;
    const dir = join(box.dir, 'csi');
    await mkdir(dir, { recursive: true });
    const csi = new BoxCsi(box, binaries, snapshotter, dir);
    try {
      await csi.setUp(options);
    } catch (error) {
      await csi.stop();
      throw error;
    }
    return csi;
  }

  private async setUp(options: BoxCsiOptions): Promise<void> {
    const { api } = this.box;
    const snapshotter = this.snapshotter;
    if (snapshotter) {
      await this.box.kubectl(['apply', '--server-side', '-f', snapshotter.crdDir]);
      await this.box.kubectl([
        'wait',
        '--for=condition=Established',
        '--timeout=60s',
        '-f',
        snapshotter.crdDir,
      ]);
      await createIfAbsent(api, csiSnapshotResources.volumeSnapshotClasses, {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshotClass',
        metadata: {
          name: localSnapshotClass,
          annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' },
        },
        driver: localCsiDriver,
        deletionPolicy: 'Delete',
      });
      if (options.groupSnapshots) await this.createGroupSnapshotClasses();
    }
    await createIfAbsent(api, csiResources.csiDrivers, csiDriverObject(localCsiDriver, true));
    await createIfAbsent(api, csiResources.csiDrivers, csiDriverObject(networkCsiDriver, false));
    await createIfAbsent(
      api,
      resources.storageClasses,
      storageClass(localStorageClass, localCsiDriver, 'WaitForFirstConsumer'),
    );
    await createIfAbsent(
      api,
      resources.storageClasses,
      storageClass(networkStorageClass, networkCsiDriver, 'Immediate'),
    );
    const poll = `${options.capacityPollSeconds ?? 2}s`;
    for (const node of options.nodes) {
      const plugin = new CsiPlugin(
        {
          driverName: localCsiDriver,
          nodeName: node.name,
          topologyKey: localTopologyKey,
          mode: 'local',
          stateDir: join(this.dir, node.name, 'local'),
          socketPath: join(this.dir, `${node.name}-local.sock`),
          capacityBytes: node.capacityBytes,
        },
        this.binaries.csiProto,
      );
      await plugin.start();
      this.plugins.set(node.name, plugin);
      await api.patch(
        resources.nodes,
        { name: node.name },
        { metadata: { labels: { [localTopologyKey]: node.name } } },
      );
      await this.register(node.name, localCsiDriver, [localTopologyKey]);
      await this.register(node.name, networkCsiDriver, []);
      // Distributed provisioning: this node's provisioner serves only claims the scheduler put here, and
      // publishes this node's capacity (a fixed topology segment from NodeGetInfo).
      await this.run(
        `csi-provisioner-${node.name}`,
        this.binaries.csiProvisioner,
        [
          `--csi-address=${plugin.options.socketPath}`,
          `--kubeconfig=${this.box.kubeconfigPath}`,
          '--leader-election=false',
          '--node-deployment',
          '--node-deployment-immediate-binding=false',
          '--enable-capacity',
          '--capacity-ownerref-level=-1',
          `--capacity-poll-interval=${poll}`,
          '--extra-create-metadata',
          '--v=3',
        ],
        { NODE_NAME: node.name, NAMESPACE: csiNamespace },
      );
      if (snapshotter) {
        await this.run(
          `csi-snapshotter-${node.name}`,
          snapshotter.csiSnapshotter,
          [
            `--csi-address=${plugin.options.socketPath}`,
            `--kubeconfig=${this.box.kubeconfigPath}`,
            '--leader-election=false',
            '--node-deployment',
          ],
          { NODE_NAME: node.name },
        );
      }
    }
    const network = new CsiPlugin(
      {
        driverName: networkCsiDriver,
        nodeName: 'network',
        topologyKey: '',
        mode: 'network',
        stateDir: join(this.dir, 'network'),
        socketPath: join(this.dir, 'network.sock'),
        capacityBytes: 1024 * 2 ** 30,
        ...(options.groupSnapshots ? { groupSnapshots: true } : {}),
      },
      this.binaries.csiProto,
    );
    await network.start();
    this.plugins.set('network', network);
    await this.run('csi-provisioner-network', this.binaries.csiProvisioner, [
      `--csi-address=${network.options.socketPath}`,
      `--kubeconfig=${this.box.kubeconfigPath}`,
      '--leader-election=false',
      '--v=3',
    ]);
    if (snapshotter && options.groupSnapshots) {
      await this.run('csi-snapshotter-network', snapshotter.csiSnapshotter, [
        `--csi-address=${network.options.socketPath}`,
        `--kubeconfig=${this.box.kubeconfigPath}`,
        '--leader-election=false',
        groupSnapshotGate,
      ]);
    }
    if (snapshotter) {
      await this.run('snapshot-controller', snapshotter.snapshotController, [
        `--kubeconfig=${this.box.kubeconfigPath}`,
        '--leader-election=false',
        '--enable-distributed-snapshotting',
        ...(options.groupSnapshots ? [groupSnapshotGate] : []),
      ]);
    }
  }

  private async createGroupSnapshotClasses(): Promise<void> {
    const { api } = this.box;
    await createIfAbsent(api, csiSnapshotResources.volumeSnapshotClasses, {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotClass',
      metadata: {
        name: networkSnapshotClass,
        annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' },
      },
      driver: networkCsiDriver,
      deletionPolicy: 'Delete',
    });
    await createIfAbsent(api, csiGroupSnapshotResources.volumeGroupSnapshotClasses, {
      apiVersion: `${csiGroupSnapshotResources.volumeGroupSnapshotClasses.group}/${csiGroupSnapshotResources.volumeGroupSnapshotClasses.version}`,
      kind: 'VolumeGroupSnapshotClass',
      metadata: {
        name: networkGroupSnapshotClass,
        annotations: { [defaultGroupSnapshotClassAnnotation]: 'true' },
      },
      driver: networkCsiDriver,
      deletionPolicy: 'Delete',
    });
  }

  private async run(
    name: string,
    command: string,
    args: string[],
    env: Record<string, string> = {},
  ): Promise<void> {
    const process = new ManagedProcess({
      name,
      command,
      args,
      logFile: join(this.box.dir, 'logs', `${name}.log`),
      cwd: this.dir,
      env: { ...globalThis.process.env, ...env },
    });
    this.processes.push(process);
    if (process.pid !== undefined) await recordBoxProcess(this.box.dir, process.pid);
  }

  /**
   * Stops one of the box's CSI components by name (e.g. `csi-snapshotter-node-1`, `csi-provisioner-node-1`,
   * `snapshot-controller`), so that a test can hold the step it does for as long as it likes;
   * {@link resume} starts it again.
   */
  async pause(name: string): Promise<void> {
    await this.component(name).stop();
  }

  /** Starts a component {@link pause} stopped again, as it was (its log goes on in the same file). */
  async resume(name: string): Promise<void> {
    const index = this.processes.findIndex((p) => p.spec.name === name);
    const paused = this.component(name);
    if (paused.running) throw new Error(`CSI component ${name} is not paused`);
    const process = new ManagedProcess(paused.spec);
    this.processes[index] = process;
    if (process.pid !== undefined) await recordBoxProcess(this.box.dir, process.pid);
  }

  private component(name: string): ManagedProcess {
    const found = this.processes.find((p) => p.spec.name === name);
    if (!found) {
      const names = this.processes.map((p) => p.spec.name).join(', ');
      throw new Error(`no CSI component ${name} in this box (there are: ${names})`);
    }
    return found;
  }

  /** Adds (or keeps) a driver's entry in the node's CSINode, as the kubelet does on plugin registration. */
  async register(nodeName: string, driver: string, topologyKeys: readonly string[]): Promise<void> {
    await updateCsiNode(this.box, nodeName, (drivers) => [
      ...drivers.filter((d) => d.name !== driver),
      {
        name: driver,
        nodeID: nodeName,
        ...(topologyKeys.length > 0 ? { topologyKeys: [...topologyKeys] } : {}),
      },
    ]);
  }

  /** Removes a driver's entry from the node's CSINode: "the node plugin died". */
  async unregister(nodeName: string, driver: string): Promise<void> {
    await updateCsiNode(this.box, nodeName, (drivers) => drivers.filter((d) => d.name !== driver));
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
    await Promise.all([...this.plugins.values()].map((p) => p.stop()));
  }
}

async function createIfAbsent(
  api: Box['api'],
  type: Parameters<Box['api']['create']>[0],
  body: object,
): Promise<void> {
  try {
    await api.create(type, body);
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
}

function csiDriverObject(name: string, storageCapacity: boolean): CSIDriver {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'CSIDriver',
    metadata: { name },
    spec: {
      attachRequired: false,
      podInfoOnMount: false,
      storageCapacity,
      volumeLifecycleModes: ['Persistent'],
    },
  };
}

function storageClass(name: string, provisioner: string, volumeBindingMode: string): StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name },
    provisioner,
    volumeBindingMode,
    reclaimPolicy: 'Delete',
  };
}

type CsiNodeDriver = CSINode['spec']['drivers'][number];

/** Read-modify-write of a node's CSINode (created on first use, owned by its Node as the kubelet does). */
async function updateCsiNode(
  box: Box,
  nodeName: string,
  change: (drivers: CsiNodeDriver[]) => CsiNodeDriver[],
): Promise<void> {
  const { api } = box;
  // A conflict (or a create race): read again and retry.
  await retryOnConflict(async () => {
    const current = await getOrUndefined(() => api.get<CSINode>(csiResources.csiNodes, { name: nodeName }));
    if (!current) {
      const node = await api.get<Node>(resources.nodes, { name: nodeName });
      await api.create<CSINode>(csiResources.csiNodes, {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'CSINode',
        metadata: {
          name: nodeName,
          ownerReferences: [
            { apiVersion: 'v1', kind: 'Node', name: nodeName, uid: node.metadata?.uid ?? '' },
          ],
        },
        spec: { drivers: change([]) },
      });
    } else {
      await api.replace<CSINode>(
        csiResources.csiNodes,
        { name: nodeName },
        { ...current, spec: { drivers: change(registeredDrivers(current)) } },
      );
    }
  });
}
