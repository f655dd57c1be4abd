import type { CSIDriver, CSINode, CSIStorageCapacity } from '../../wire/k8s-types.js';

export type { CSIDriver, CSINode, CSIStorageCapacity };

/**
 * What the `csi` driver knows, all of it from the Kubernetes API (CSINode, CSIDriver and
 * CSIStorageCapacity informers): which CSI drivers stork serves, where each one's node plugin is
 * registered, and how much capacity each storage class has where. Read synchronously on the extender's
 * request path; nothing here waits on a storage system.
 */
export interface CsiView {
  /** Whether stork serves this CSI driver: one of `--csi-driver-names`, else any CSIDriver object. */
  servesDriver(name: string): boolean;
  csiDriver(name: string): CSIDriver | undefined;
  /** The CSINode of a Kubernetes node (its kubelet's registered node plugins). */
  csiNode(nodeName: string): CSINode | undefined;
  /** The CSIStorageCapacity objects reported for a storage class. */
  capacities(storageClassName: string): readonly CSIStorageCapacity[];
  /** Whether the informers have listed at least once; before that nothing is decided on a guess. */
  readonly synced: boolean;
}

/**
 * The drivers a CSINode lists. The API server sends `drivers: null` for a CSINode whose last driver went
 * away, although the type says it is a list.
 */
export function registeredDrivers(csiNode: CSINode | undefined): CSINode['spec']['drivers'] {
  return (csiNode?.spec.drivers as CSINode['spec']['drivers'] | null | undefined) ?? [];
}

/** The entry of a CSI driver in a CSINode: present exactly while its node plugin is registered. */
export function registration(csiNode: CSINode | undefined, driver: string) {
  return registeredDrivers(csiNode).find((d) => d.name === driver);
}

/** Whether the driver publishes CSIStorageCapacity objects that the scheduler must respect. */
export function tracksCapacity(view: CsiView, driver: string): boolean {
  return view.csiDriver(driver)?.spec.storageCapacity === true;
}

/** A view over fixed lists, for unit tests and benchmarks. */
export function staticCsiView(objects: {
  readonly drivers?: readonly CSIDriver[];
  readonly nodes?: readonly CSINode[];
  readonly capacities?: readonly CSIStorageCapacity[];
  /** The configured driver names; absent means every CSIDriver given. */
  readonly served?: readonly string[];
}): CsiView {
  const drivers = new Map((objects.drivers ?? []).map((d) => [d.metadata?.name ?? '', d]));
  const nodes = new Map((objects.nodes ?? []).map((n) => [n.metadata?.name ?? '', n]));
  const byClass = groupByClass(objects.capacities ?? []);
  const served = objects.served ? new Set(objects.served) : undefined;
  return {
    servesDriver: (name) => (served ? served.has(name) : drivers.has(name)),
    csiDriver: (name) => drivers.get(name),
    csiNode: (name) => nodes.get(name),
    capacities: (name) => byClass.get(name) ?? [],
    synced: true,
  };
}

export function groupByClass(capacities: readonly CSIStorageCapacity[]): Map<string, CSIStorageCapacity[]> {
  const byClass = new Map<string, CSIStorageCapacity[]>();
  for (const c of capacities) {
    const list = byClass.get(c.storageClassName);
    if (list) list.push(c);
    else byClass.set(c.storageClassName, [c]);
  }
  return byClass;
}
