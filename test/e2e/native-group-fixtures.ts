import { mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { BoxCsi, networkCsiDriver, networkStorageClass } from '../../src/box/csi/box-csi.js';
import type { KubeApi } from '../../src/k8s/api.js';
import { resources } from '../../src/k8s/paths.js';
import type { PersistentVolume, PersistentVolumeClaim } from '../../src/wire/k8s-types.js';
import { applyManifests } from './helpers.js';
import { testRuleTimings } from './rule-fixtures.js';
import { useStorkBox } from './stork-helpers.js';

/*
 * The box for native group snapshots: one node, the box's network CSI plugin (it serves the CSI
 * GroupController: one call archives every volume of a group) with csi-snapshotter and snapshot-controller
 * running volume group snapshots, stork on that driver with rules writing markers into a directory of
 * the suite's own, and stork-snapshot-sc applied.
 */

export function useNativeGroupBox(markerPrefix: string) {
  const markerDir = mkdtempSync(join(tmpdir(), `${markerPrefix}-`));
  const ctx = useStorkBox({
    box: { nodes: [{ name: 'node-1' }] },
    stork: {
      driver: 'csi',
      driverEndpoint: '',
      csiDriverNames: [networkCsiDriver],
      rulesConfig: { markerDir, ...testRuleTimings },
    },
  });
  let csi: BoxCsi | undefined;
  const api = (): KubeApi => ctx.box.api;
  const network = () => csi?.plugins.get('network');

  // Registered before the suite's own beforeAll, so it runs first.
  beforeAll(async () => {
    await applyManifests(
      api(),
      await readFile(new URL('../../specs/stork-snapshot-sc.yaml', import.meta.url), 'utf8'),
      'default',
    );
    csi = await BoxCsi.start(ctx.box, {
      nodes: [{ name: 'node-1', capacityBytes: 8 * 2 ** 30 }],
      groupSnapshots: true,
    });
  }, 900_000);

  afterAll(async () => {
    await csi?.stop();
    await rm(markerDir, { recursive: true, force: true });
  });

  /** The directory of a bound claim's volume on the network plugin. */
  const dirOf = async (namespace: string, name: string): Promise<string> => {
    const pvc = await api().get<PersistentVolumeClaim>(resources.persistentVolumeClaims, { namespace, name });
    const pv = await api().get<PersistentVolume>(resources.persistentVolumes, {
      name: pvc.spec?.volumeName ?? '',
    });
    return network()?.dataDir(pv.spec?.csi?.volumeHandle ?? '') ?? '';
  };

  return { ctx, api, network, dirOf };
}

/** A 1 GiB ReadWriteOnce claim labelled `app`, of the network storage class unless another is named. */
export const networkClaim = (
  namespace: string,
  name: string,
  app: string,
  className = networkStorageClass,
): PersistentVolumeClaim => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, namespace, labels: { app } },
  spec: {
    accessModes: ['ReadWriteOnce'],
    storageClassName: className,
    resources: { requests: { storage: '1Gi' } },
  },
});
