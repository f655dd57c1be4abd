import type { KubeApi } from '../../k8s/api.js';
import { getOrUndefined } from '../../k8s/errors.js';
import { resources } from '../../k8s/paths.js';
import { CsiVolumeSnapshots } from './csi-snapshots.js';
import { CsiGroupSnapshots } from './csi-group-snapshots.js';
import type { Node, PersistentVolume } from '../../wire/k8s-types.js';
import type { CsiDriverOptions } from './csi-driver.js';
import { csiDriverName } from './csi-driver.js';
import { CsiInformers } from './csi-informers.js';
import type { CsiView } from './csi-view.js';

/** What stork holds for the csi driver: its informers, the view over them, the driver's options. */
export interface CsiSupport {
  readonly informers: CsiInformers;
  readonly view: CsiView;
  readonly driverOptions: CsiDriverOptions;
  /** Native group snapshots (VolumeGroupSnapshots) of the CSI drivers that have a class for them. */
  readonly groupSnapshots: CsiGroupSnapshots;
}

export interface CsiSupportOptions {
  readonly api: KubeApi;
  /** The `--driver` value; nothing is created unless it names `csi`. */
  readonly drivers: string;
  readonly csiDriverNames: readonly string[];
  /** stork's Node and PersistentVolume informers (shared, not duplicated). */
  readonly nodes: { list(): Node[] };
  readonly volumes: { list(): PersistentVolume[] };
  readonly onError?: (error: unknown, context: string) => void;
}

/**
 * The csi driver's Kubernetes side, when `--driver` names it: CSINode, CSIDriver and CSIStorageCapacity
 * informers (start them with the others) and the options `createDrivers` takes.
 */
export function csiSupportFor(options: CsiSupportOptions): CsiSupport | undefined {
  if (!options.drivers.split(',').includes(csiDriverName)) return undefined;
  const informers = new CsiInformers({
    api: options.api,
    driverNames: options.csiDriverNames,
    ...(options.onError ? { onError: options.onError } : {}),
  });
  const view = informers.view();
  const { api } = options;
  const snapshots = (servesDriver: (name: string) => boolean) =>
    new CsiVolumeSnapshots({
      api,
      volumeByHandle: (handle) =>
        options.volumes
          .list()
          .find((pv) => pv.spec?.csi?.volumeHandle === handle && servesDriver(pv.spec.csi.driver)),
      seedAnnotations: async (namespace, name, signal) => {
        const seed = await getOrUndefined(() =>
          api.get<{ metadata?: { annotations?: Record<string, string> } }>(
            resources.volumeSnapshots,
            { namespace, name },
            { signal },
          ),
        );
        return seed ? (seed.metadata?.annotations ?? {}) : undefined;
      },
    });
  // Its member snapshots are described as the driver's own are (only their status is read).
  const describer = snapshots(() => true);
  return {
    informers,
    view,
    groupSnapshots: new CsiGroupSnapshots({ api, describe: (s, signal) => describer.describe(s, signal) }),
    driverOptions: {
      view,
      servedDrivers: () => informers.servedDrivers(),
      listNodes: () => options.nodes.list(),
      listVolumes: () => options.volumes.list(),
      snapshots,
    },
  };
}
