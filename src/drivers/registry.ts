// The volume drivers stork-ts knows, by their `--driver` name.
import type { VolumeDriver } from './driver.js';
import { PortworxDriver, portworxDriverName } from './portworx/portworx-driver.js';

/** How to reach a storage system; every driver takes the same options. */
export interface DriverOptions {
  /** `host:port` of the storage system's API. */
  readonly endpoint: string;
  /** Bearer token, if the storage system is secured. */
  readonly token?: string;
  /** Deadline of each call to the storage system in ms. */
  readonly callTimeoutMs?: number;
}

const factories: Readonly<Record<string, (options: DriverOptions) => VolumeDriver>> = {
  [portworxDriverName]: (options) => new PortworxDriver(options),
};

/** The names `createDriver` accepts, sorted. */
export const driverNames: readonly string[] = Object.keys(factories).sort();

/** A driver by name; an unknown name is an error that lists the known ones. */
export function createDriver(name: string, options: DriverOptions): VolumeDriver {
  const factory = Object.hasOwn(factories, name) ? factories[name] : undefined;
  if (!factory) {
    throw new Error(`unknown volume driver "${name}"; known drivers: ${driverNames.join(', ')}`);
  }
  return factory(options);
}
