import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Box } from '../../src/box/box.js';
import { runCommand } from '../../src/box/command.js';
import { BoxCsi, localCsiDriver, localStorageClass } from '../../src/box/csi/box-csi.js';
import type { RulesConfig } from '../../src/controllers/rules/config.js';
import type { RuleItem } from '../../src/k8s/crds/rule.js';
import {
  csiSnapshotResources,
  type CsiVolumeSnapshot,
  type CsiVolumeSnapshotContent,
} from '../../src/drivers/csi/csi-snapshots.js';
import type { KubeApi } from '../../src/k8s/api.js';
import type { VolumeSnapshot } from '../../src/k8s/crds/volume-snapshot.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import type { PersistentVolume, PersistentVolumeClaim } from '../../src/wire/k8s-types.js';
import { createTestNamespace, isRunning, testPod, waitForPod } from './helpers.js';
import { ruleCreator } from './rule-fixtures.js';
import { useStorkBox } from './stork-helpers.js';

/*
 * Fixtures for stork on the box's local CSI plugin (volumes are directories, snapshots tar archives of
 * them) on one node, node-1. KWOK runs a pod's exec on this host, so tests and rules read and write a
 * volume's bytes straight in its directory.
 */

const gib = 2 ** 30;
/** The file the tests keep in a volume: what it holds tells which rule ran before a snapshot was cut. */
export const tableFile = 'table.txt';

/** A one-node box with stork on the CSI driver of the box's local plugin, running rules with `rulesConfig`. */
export function useCsiStorkBox(rulesConfig: Partial<RulesConfig>) {
  return useStorkBox({
    box: { nodes: [{ name: 'node-1' }] },
    stork: { driver: 'csi', driverEndpoint: '', csiDriverNames: [localCsiDriver], rulesConfig },
  });
}

/** The local CSI plugin on node-1 (8 GiB), with the external-snapshotter. */
export const startNodeCsi = (box: Box): Promise<BoxCsi> =>
  BoxCsi.start(box, { nodes: [{ name: 'node-1', capacityBytes: 8 * gib }], snapshots: true });

/** A 1 GiB ReadWriteOnce claim of the local storage class. */
export const localClaim = (
  namespace: string,
  name: string,
  labels?: Record<string, string>,
): PersistentVolumeClaim => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, namespace, ...(labels ? { labels } : {}) },
  spec: {
    accessModes: ['ReadWriteOnce'],
    storageClassName: localStorageClass,
    resources: { requests: { storage: '1Gi' } },
  },
});

/** The PV a claim is bound to. */
export async function boundVolume(api: KubeApi, namespace: string, name: string): Promise<PersistentVolume> {
  const pvc = await api.get<PersistentVolumeClaim>(resources.persistentVolumeClaims, { namespace, name });
  return api.get<PersistentVolume>(resources.persistentVolumes, { name: pvc.spec?.volumeName ?? '' });
}

/** The directory of a CSI volume on node-1's storage. */
export const volumeDir = (csi: BoxCsi | undefined, pv: PersistentVolume): string =>
  csi?.plugins.get('node-1')?.dataDir(pv.spec?.csi?.volumeHandle ?? '') ?? '';

/** The directory of a bound claim's volume on node-1's storage. */
export const claimDir = async (
  api: KubeApi,
  csi: BoxCsi | undefined,
  namespace: string,
  name: string,
): Promise<string> => volumeDir(csi, await boundVolume(api, namespace, name));

/** Writes `text` as the volume directory's table file (making the directory if the plugin has not yet). */
export async function writeTable(dir: string, text: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, tableFile), text);
}

/** Waits for a claim to be Bound; resolves to it. */
export const claimBound = (
  api: KubeApi,
  namespace: string,
  name: string,
  wait: { timeoutMs: number; intervalMs?: number },
): Promise<PersistentVolumeClaim> =>
  waitFor(
    `claim ${namespace}/${name} Bound`,
    async () => {
      const pvc = await api.get<PersistentVolumeClaim>(resources.persistentVolumeClaims, { namespace, name });
      return pvc.status?.phase === 'Bound' ? pvc : undefined;
    },
    wait,
  );

/** The CSI VolumeSnapshots of a namespace. */
export const listCsiSnapshots = async (api: KubeApi, namespace: string): Promise<CsiVolumeSnapshot[]> =>
  (await api.list<CsiVolumeSnapshot>(csiSnapshotResources.volumeSnapshots, namespace)).items;

/** The VolumeSnapshotContents bound to the CSI VolumeSnapshot `namespace/name` (by their snapshot ref). */
export const contentsOfSnapshot = async (
  api: KubeApi,
  namespace: string,
  name: string,
): Promise<CsiVolumeSnapshotContent[]> =>
  (
    await api.list<
      CsiVolumeSnapshotContent & { spec: { volumeSnapshotRef?: { namespace?: string; name?: string } } }
    >(csiSnapshotResources.volumeSnapshotContents)
  ).items.filter(
    (c) => c.spec.volumeSnapshotRef?.namespace === namespace && c.spec.volumeSnapshotRef.name === name,
  );

/** Where a node's local plugin keeps the archive of the snapshot `handle`. */
export const snapshotArchive = (csi: BoxCsi | undefined, handle: string, node = 'node-1'): string =>
  join(csi?.plugins.get(node)?.options.stateDir ?? '', 'snapshots', `${handle}.tgz`);

/**
 * A CSI snapshot's archive on `node`'s storage (node-1 unless named), by its content's snapshot handle,
 * unpacked under `scratchDir`: the archive's path and the table file it holds.
 */
export async function archivedTable(
  api: KubeApi,
  csi: BoxCsi | undefined,
  scratchDir: string,
  contentName: string,
  node = 'node-1',
): Promise<{ archive: string; table: string }> {
  const content = await api.get<CsiVolumeSnapshotContent>(csiSnapshotResources.volumeSnapshotContents, {
    name: contentName,
  });
  const handle = content.status?.snapshotHandle ?? '';
  const archive = snapshotArchive(csi, handle, node);
  const out = join(scratchDir, `unpacked-${handle}`);
  await mkdir(out, { recursive: true });
  await runCommand('tar', ['-xzf', archive, '-C', out]);
  return { archive, table: await readFile(join(out, tableFile), 'utf8') };
}

/** The `db` pod (label app=db, the rules' target) on stork's scheduler, using `claims`; waits for Running. */
export async function runDbPod(api: KubeApi, namespace: string, claims: string[]): Promise<void> {
  await api.create(
    resources.pods,
    testPod('db', { schedulerName: 'stork', labels: { app: 'db' }, claims }),
    namespace,
  );
  await waitForPod(api, namespace, 'db', isRunning, 90_000);
}

/** Waits for stork's VolumeSnapshot to end Ready or Error; resolves to it. */
export const snapshotSettled = (api: KubeApi, namespace: string, name: string): Promise<VolumeSnapshot> =>
  waitFor(
    `snapshot ${namespace}/${name} Ready or Error`,
    async () => {
      const s = await api.get<VolumeSnapshot>(resources.volumeSnapshots, { namespace, name });
      const type = s.status?.conditions?.at(-1)?.type;
      return type === 'Ready' || type === 'Error' ? s : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 200 },
  );

/** What {@link useCsiSnapshotClaim} gives a suite. */
export interface CsiSnapshotSuite {
  api: () => KubeApi;
  csi: BoxCsi | undefined;
  ns: string;
  /** The claim's volume directory on node-1's storage. */
  volumeDir: string;
  /** Creates a Rule in the namespace; resolves to its name. */
  rule: (items: RuleItem[]) => Promise<string>;
  /** Creates a seed-API VolumeSnapshot of the claim `data`. */
  snapshot: (name: string, annotations: Record<string, string>) => Promise<void>;
  /** Waits for a seed-API VolumeSnapshot to end Ready or Error. */
  settled: (name: string) => Promise<VolumeSnapshot>;
  /** The namespace's CSI VolumeSnapshots. */
  csiSnapshots: () => Promise<CsiVolumeSnapshot[]>;
}

/**
 * What the tests of seed-API snapshots on CSI storage share: stork with `rulesConfig` on the local CSI
 * plugin (with the snapshotter), and a new namespace (`prefix-…`) whose claim `data`, its table file
 * holding "data\n", the Running db pod uses. `csi`, `ns` and `volumeDir` are set once the suite's
 * beforeAll has run.
 */
export function useCsiSnapshotClaim(prefix: string, rulesConfig: Partial<RulesConfig>): CsiSnapshotSuite {
  const ctx = useCsiStorkBox(rulesConfig);
  const api = (): KubeApi => ctx.box.api;
  const suite: CsiSnapshotSuite = {
    api,
    csi: undefined,
    ns: '',
    volumeDir: '',
    rule: ruleCreator(api, () => suite.ns),
    snapshot: async (name, annotations) => {
      await api().create<VolumeSnapshot>(
        resources.volumeSnapshots,
        {
          apiVersion: 'volumesnapshot.external-storage.k8s.io/v1',
          kind: 'VolumeSnapshot',
          metadata: { name, annotations },
          spec: { persistentVolumeClaimName: 'data' },
        },
        suite.ns,
      );
    },
    settled: (name) => snapshotSettled(api(), suite.ns, name),
    csiSnapshots: () => listCsiSnapshots(api(), suite.ns),
  };
  beforeAll(async () => {
    suite.csi = await startNodeCsi(ctx.box);
    suite.ns = await createTestNamespace(api(), prefix);
    await api().create(resources.persistentVolumeClaims, localClaim(suite.ns, 'data'), suite.ns);
    await runDbPod(api(), suite.ns, ['data']);
    suite.volumeDir = await claimDir(api(), suite.csi, suite.ns, 'data');
    await writeTable(suite.volumeDir, 'data\n');
  }, 600_000);
  afterAll(async () => {
    await suite.csi?.stop();
  });
  return suite;
}
