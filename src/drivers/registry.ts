// The volume drivers stork-ts knows, by their `--driver` name.
import type { VolumeDriver } from './driver.js';
import { CompositeDriver, noReplicaDriver } from './composite.js';
import { CsiDriver, csiDriverName, type CsiDriverOptions } from './csi/csi-driver.js';
import type { CsiView } from './csi/csi-view.js';
import { PortworxDriver, portworxDriverName } from './portworx/portworx-driver.js';

/** How to reach a storage system; every driver takes the same options. */
export interface DriverOptions {
  /** `host:port` of the storage system's API. */
  readonly endpoint: string;
  /** Bearer token, if the storage system is secured. */
  readonly token?: string;
  /** Deadline of each call to the storage system in ms. */
  readonly callTimeoutMs?: number;
  /** `host:port` of the storage system's REST volume API (pxd: group snapshots), if given. */
  readonly restEndpoint?: string;
}

const factories: Readonly<Record<string, (options: DriverOptions) => VolumeDriver>> = {
  [portworxDriverName]: (options) => new PortworxDriver(options),
};

/** The names `--driver` accepts, sorted. */
export const driverNames: readonly string[] = [...Object.keys(factories), csiDriverName].sort();

/** A storage-system driver by name; an unknown name is an error that lists the known ones. */
export function createDriver(name: string, options: DriverOptions): VolumeDriver {
  const factory = Object.hasOwn(factories, name) ? factories[name] : undefined;
  if (!factory) {
    throw new Error(`unknown volume driver "${name}"; known drivers: ${driverNames.join(', ')}`);
  }
  return factory(options);
}

/**
 * The driver names of a `--driver` value: one or more, comma-separated (`pxd,csi`), each known and
 * named once. Errors name the bad value.
 */
export function parseDriverList(value: string): string[] {
  const names = value.split(',').map((n) => n.trim());
  const seen = new Set<string>();
  for (const name of names) {
    if (!driverNames.includes(name))
      throw new Error(`unknown volume driver "${name}"; known drivers: ${driverNames.join(', ')}`);
    if (seen.has(name)) throw new Error(`volume driver "${name}" is named twice`);
    seen.add(name);
  }
  return names;
}

/** The drivers stork runs, in the shapes its parts need. */
export interface DriverSet {
  /** Every driver as one (a CompositeDriver when there are several): ownership of claims, the webhook. */
  readonly driver: VolumeDriver;
  /**
   * The driver whose storage system reports nodes and replica placement (pxd), or one that owns nothing:
   * the replica-based scoring, the driver cache, the snapshotter and the health monitor read it.
   */
  readonly replicaDriver: VolumeDriver;
  /**
   * The driver the driver cache refreshes and the health monitor and snapshotter use: the replica-aware
   * one if stork runs one, else the csi driver.
   */
  readonly primary: VolumeDriver;
  /** The csi driver, when `--driver` names it. */
  readonly csi?: CsiDriver;
  /** What the csi driver serves, without the CSI driver names another member owns (e.g. pxd.portworx.com). */
  readonly csiView?: CsiView;
  readonly members: readonly VolumeDriver[];
}

/** Creates the drivers of a `--driver` value; `csi` needs the CSI view from Kubernetes informers. */
export function createDrivers(
  value: string,
  options: DriverOptions,
  csi: CsiDriverOptions | undefined,
): DriverSet {
  const names = parseDriverList(value);
  const others = names.filter((n) => n !== csiDriverName).map((n) => createDriver(n, options));
  let csiDriver: CsiDriver | undefined;
  let csiView: CsiView | undefined;
  if (names.includes(csiDriverName)) {
    if (!csi) throw new Error('the csi driver needs the Kubernetes CSI informers');
    // Each claim belongs to one driver: CSI names another driver owns are not the csi driver's.
    csiView = excluding(csi.view, (name) => others.some((m) => m.ownsProvisioner(name)));
    csiDriver = new CsiDriver({
      ...csi,
      view: csiView,
      servedDrivers: () => csi.servedDrivers().filter((n) => csiView?.servesDriver(n)),
    });
  }
  const queue = [...others];
  const members = names.map((n) => (n === csiDriverName && csiDriver ? csiDriver : queue.shift()));
  if (members.some((m) => m === undefined)) throw new Error(`could not create the drivers of "${value}"`);
  const all = members.filter((m): m is VolumeDriver => m !== undefined);
  const replicaDriver = all.find((m) => m !== csiDriver) ?? noReplicaDriver;
  const driver = all.length === 1 && all[0] ? all[0] : new CompositeDriver(all);
  const primary = replicaDriver === noReplicaDriver && csiDriver ? csiDriver : replicaDriver;
  return {
    driver,
    replicaDriver,
    primary,
    members: all,
    ...(csiDriver ? { csi: csiDriver } : {}),
    ...(csiView ? { csiView } : {}),
  };
}

/** A view that serves fewer drivers; `synced` stays live (a spread would copy it once). */
function excluding(view: CsiView, excluded: (name: string) => boolean): CsiView {
  return {
    servesDriver: (name) => !excluded(name) && view.servesDriver(name),
    csiDriver: (name) => view.csiDriver(name),
    csiNode: (name) => view.csiNode(name),
    capacities: (name) => view.capacities(name),
    get synced() {
      return view.synced;
    },
  };
}
