// The `pxd` volume driver: Portworx (or any OpenStorage SDK server) over gRPC.
import { DriverError, type DriverNode, type DriverVolume, type VolumeDriver } from '../driver.js';
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../../wire/k8s-types.js';
import { ownsClaim, ownsProvisioner, portworxCsiDriver, volumeIdOf } from './kubernetes.js';
import { toDriverNode, toDriverVolume } from './mapping.js';
import { decodeNodeList, decodeVolumeList } from './list-decoding.js';
import { SdkClient } from './sdk-client.js';
import { PortworxSnapshots } from './snapshots.js';
import { PortworxGroupSnapshots } from './group-snapshots.js';
import { OsdRestClient } from './osd-rest-client.js';
import { errorText } from '../../lib/errors.js';

export const portworxDriverName = 'pxd';

export interface PortworxDriverOptions {
  /** `host:port` of the SDK server (Portworx: the portworx-api service, port 9020). */
  readonly endpoint: string;
  /** Bearer token for a secured cluster. */
  readonly token?: string;
  /** Deadline of each SDK call in ms; default 5000. */
  readonly callTimeoutMs?: number;
  /**
   * `host:port` of the REST volume API (Portworx: the portworx-service, port 9001), for group snapshots
   * cut by the storage system; without it a group's volumes are snapshotted one by one.
   */
  readonly restEndpoint?: string;
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

  constructor(options: PortworxDriverOptions) {
    this.sdk = new SdkClient({
      endpoint: options.endpoint,
      driver: portworxDriverName,
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.callTimeoutMs !== undefined ? { callTimeoutMs: options.callTimeoutMs } : {}),
    });
    this.snapshots = new PortworxSnapshots(this.sdk, portworxDriverName);
    if (options.restEndpoint !== undefined) {
      const rest = new OsdRestClient({
        endpoint: options.restEndpoint,
        driver: portworxDriverName,
        ...(options.token !== undefined ? { token: options.token } : {}),
      });
      this.snapshots.group = new PortworxGroupSnapshots(rest, this.sdk, this.snapshots, portworxDriverName);
    }
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
    // Polled every refresh: read from the wire, only what the mapping needs (list-decoding.ts).
    const nodes = await this.sdk.callDecoding(
      'OpenStorageNode/EnumerateWithFilters',
      {},
      decodeNodeList,
      signal ? { signal } : {},
    );
    return nodes.map((node) => this.mapped(() => toDriverNode(node)));
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
    const listed = await this.sdk.callDecoding(
      'OpenStorageVolume/InspectWithFilters',
      {},
      decodeVolumeList,
      signal ? { signal } : {},
    );
    return listed.flatMap((entry) => {
      const volume = entry.volume;
      return volume ? [this.mapped(() => toDriverVolume(volume, entry))] : [];
    });
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
