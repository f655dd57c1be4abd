// The `pxd` volume driver: Portworx (or any OpenStorage SDK server) over gRPC.
import {
  DriverError,
  DriverNotFoundError,
  type DriverNode,
  type DriverVolume,
  type VolumeDriver,
} from '../driver.js';
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../k8s-types.js';
import { ownsClaim, ownsProvisioner, portworxCsiDriver, volumeIdOf } from './kubernetes.js';
import { toDriverNode, toDriverVolume } from './mapping.js';
import { SdkClient } from './sdk-client.js';
import { PortworxSnapshots } from './snapshots.js';
import { errorText } from '../../lib/errors.js';

export const portworxDriverName = 'pxd';

export interface PortworxDriverOptions {
  /** `host:port` of the SDK server (Portworx: the portworx-api service, port 9020). */
  readonly endpoint: string;
  /** Bearer token for a secured cluster. */
  readonly token?: string;
  /** Deadline of each SDK call in ms; default 5000. */
  readonly callTimeoutMs?: number;
  /** How many volume inspections run at once in inspectVolumes; default 8. */
  readonly inspectConcurrency?: number;
}

/** What the SDK server says it is, for a connectivity check at start-up. */
export interface PortworxVersion {
  /** The SDK version the server implements, `major.minor.patch`. */
  readonly sdkVersion: string;
  /** The storage system's own name and version, e.g. `pxd` `3.1.0`. */
  readonly driver: string;
  readonly version: string;
  readonly clusterId: string;
}

export class PortworxDriver implements VolumeDriver {
  readonly name = portworxDriverName;
  readonly csiDriverName = portworxCsiDriver;
  /** The SDK client, for callers that need calls beyond VolumeDriver (snapshots, clones). */
  readonly sdk: SdkClient;
  readonly snapshots: PortworxSnapshots;
  private readonly inspectConcurrency: number;

  constructor(options: PortworxDriverOptions) {
    const concurrency = options.inspectConcurrency ?? 8;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new Error(`invalid inspectConcurrency ${concurrency}: expected a positive integer`);
    }
    this.inspectConcurrency = concurrency;
    this.sdk = new SdkClient({
      endpoint: options.endpoint,
      driver: portworxDriverName,
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.callTimeoutMs !== undefined ? { callTimeoutMs: options.callTimeoutMs } : {}),
    });
    this.snapshots = new PortworxSnapshots(this.sdk, portworxDriverName);
  }

  /** Asks the server who it is: proves the endpoint, the protocol and the token work. */
  async version(signal?: AbortSignal): Promise<PortworxVersion> {
    const opts = signal ? { signal } : {};
    const [identity, cluster] = await Promise.all([
      this.sdk.call('OpenStorageIdentity/Version', {}, opts),
      this.sdk.call('OpenStorageCluster/InspectCurrent', {}, opts),
    ]);
    return {
      sdkVersion: identity.sdk_version?.version ?? '',
      driver: identity.version?.driver ?? '',
      version: identity.version?.version ?? '',
      clusterId: cluster.cluster?.id ?? '',
    };
  }

  async listNodes(signal?: AbortSignal): Promise<DriverNode[]> {
    const response = await this.sdk.call(
      'OpenStorageNode/EnumerateWithFilters',
      {},
      signal ? { signal } : {},
    );
    return response.nodes.map((node) => this.mapped(() => toDriverNode(node)));
  }

  async inspectNode(id: string, signal?: AbortSignal): Promise<DriverNode> {
    const what = `node "${id}"`;
    const response = await this.sdk.call(
      'OpenStorageNode/Inspect',
      { node_id: id },
      { what, ...(signal ? { signal } : {}) },
    );
    const node = response.node;
    if (!node) throw new DriverError(this.name, `Inspect of ${what} answered without a node`);
    return this.mapped(() => toDriverNode(node));
  }

  /** Every volume, snapshots included (the SDK models them as volumes with a parent), in one call. */
  async listVolumes(signal?: AbortSignal): Promise<DriverVolume[]> {
    const response = await this.sdk.call(
      'OpenStorageVolume/InspectWithFilters',
      {},
      signal ? { signal } : {},
    );
    return response.volumes.flatMap((entry) => {
      const volume = entry.volume;
      return volume ? [this.mapped(() => toDriverVolume(volume, entry))] : [];
    });
  }

  /** The SDK inspects one volume per call; they run a few at a time, in the order of `ids`. */
  async inspectVolumes(ids: readonly string[], signal?: AbortSignal): Promise<DriverVolume[]> {
    const unique = [...new Set(ids)];
    const results: (DriverVolume | undefined)[] = new Array<DriverVolume | undefined>(unique.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < unique.length) {
        const index = next++;
        results[index] = await this.inspectVolume(unique[index] ?? '', signal);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.inspectConcurrency, unique.length) }, worker));
    return results.filter((v): v is DriverVolume => v !== undefined);
  }

  /** One volume, or undefined when the storage system does not know it. */
  private async inspectVolume(id: string, signal?: AbortSignal): Promise<DriverVolume | undefined> {
    const what = `volume "${id}"`;
    try {
      const response = await this.sdk.call(
        'OpenStorageVolume/Inspect',
        { volume_id: id },
        { what, ...(signal ? { signal } : {}) },
      );
      const volume = response.volume;
      if (!volume) throw new DriverError(this.name, `Inspect of ${what} answered without a volume`);
      return this.mapped(() => toDriverVolume(volume, response));
    } catch (error) {
      if (error instanceof DriverNotFoundError) return undefined;
      throw error;
    }
  }

  ownsProvisioner(provisioner: string): boolean {
    return ownsProvisioner(provisioner);
  }

  volumeIdOf(pv: PersistentVolume): string | undefined {
    return volumeIdOf(pv);
  }

  ownsClaim(
    pvc: PersistentVolumeClaim,
    pv: PersistentVolume | undefined,
    storageClass: StorageClass | undefined,
  ): boolean {
    return ownsClaim(pvc, pv, storageClass);
  }

  close(): Promise<void> {
    this.sdk.close();
    return Promise.resolve();
  }

  /** A malformed answer (no id, bad size) is the storage system's fault: report it as a DriverError. */
  private mapped<T>(map: () => T): T {
    try {
      return map();
    } catch (error) {
      const message = errorText(error);
      throw new DriverError(this.name, `unexpected answer from ${this.sdk.endpoint}: ${message}`, {
        cause: error,
      });
    }
  }
}
