import type { CSIDriver, CSINode, CSIStorageCapacity } from '../../wire/k8s-types.js';
import type { KubeApi } from '../../k8s/api.js';
import { Informer } from '../../k8s/informer.js';
import type { ResourceType } from '../../k8s/paths.js';
import { groupByClass, type CsiView } from './csi-view.js';

const storage = (resource: string, namespaced: boolean): ResourceType => ({
  group: 'storage.k8s.io',
  version: 'v1',
  resource,
  namespaced,
});

export const csiResources = {
  csiNodes: storage('csinodes', false),
  csiDrivers: storage('csidrivers', false),
  csiStorageCapacities: storage('csistoragecapacities', true),
} as const;

export interface CsiInformerOptions {
  readonly api: KubeApi;
  /** The CSI driver names to serve; empty means every CSIDriver object in the cluster. */
  readonly driverNames: readonly string[];
  readonly onError?: (error: unknown, context: string) => void;
}

/**
 * The three informers the csi driver reads, and the {@link CsiView} over them. Capacities are grouped by
 * storage class once per change of the informer, not per request.
 */
export class CsiInformers {
  readonly csiNodes: Informer<CSINode>;
  readonly csiDrivers: Informer<CSIDriver>;
  readonly capacities: Informer<CSIStorageCapacity>;
  private byClass: { version: number; map: Map<string, CSIStorageCapacity[]> } | undefined;
  private readonly configured: ReadonlySet<string> | undefined;

  constructor(options: CsiInformerOptions) {
    const { api, onError } = options;
    this.csiNodes = new Informer<CSINode>({
      api,
      type: csiResources.csiNodes,
      ...(onError ? { onError } : {}),
    });
    this.csiDrivers = new Informer<CSIDriver>({
      api,
      type: csiResources.csiDrivers,
      ...(onError ? { onError } : {}),
    });
    this.capacities = new Informer<CSIStorageCapacity>({
      api,
      type: csiResources.csiStorageCapacities,
      ...(onError ? { onError } : {}),
    });
    this.configured = options.driverNames.length > 0 ? new Set(options.driverNames) : undefined;
  }

  async start(): Promise<void> {
    await Promise.all([this.csiNodes.start(), this.csiDrivers.start(), this.capacities.start()]);
  }

  async stop(): Promise<void> {
    for (const i of [this.csiNodes, this.csiDrivers, this.capacities]) i.stop();
    await Promise.all([this.csiNodes.stopped(), this.csiDrivers.stopped(), this.capacities.stopped()]);
  }

  /** The driver names served right now (the configured ones, else every CSIDriver), sorted. */
  servedDrivers(): string[] {
    if (this.configured) return [...this.configured].sort();
    return this.csiDrivers
      .list()
      .map((d) => d.metadata?.name ?? '')
      .filter((n) => n !== '')
      .sort();
  }

  view(): CsiView {
    const capacities = (storageClass: string): readonly CSIStorageCapacity[] => {
      const version = this.capacities.version;
      if (this.byClass?.version !== version) {
        this.byClass = { version, map: groupByClass(this.capacities.list()) };
      }
      return this.byClass.map.get(storageClass) ?? [];
    };
    const informers = [this.csiNodes, this.csiDrivers, this.capacities];
    return {
      servesDriver: (name) =>
        this.configured ? this.configured.has(name) : this.csiDrivers.get(name) !== undefined,
      csiDriver: (name) => this.csiDrivers.get(name),
      csiNode: (name) => this.csiNodes.get(name),
      capacities,
      get synced() {
        return informers.every((i) => i.synced);
      },
    };
  }
}
