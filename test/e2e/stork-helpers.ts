import { afterAll, beforeAll } from 'vitest';
import { freePorts } from '../../src/box/ports.js';
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import {
  ensureStorageClass,
  startBoxStorage,
  storageNodeId,
  type BoxStorage,
} from '../../src/box/storage.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { defaultConfig, type StorkConfig } from '../../src/daemon/config.js';
import { startStork, type RunningStork } from '../../src/daemon/stork.js';
import { createLogger } from '../../src/lib/log.js';
import type { BoxOptions, Box } from '../../src/box/box.js';
import { useBox } from './helpers.js';

/**
 * A box with storage (the simulator and the CSI provisioner role) and stork running in this process, its
 * extender registered with the box's stork scheduler. `ctx.restartStork()` stops and starts it again.
 */
export function useStorkBox(options: {
  box: Omit<BoxOptions, 'storkScheduler'>;
  stork?: Partial<StorkConfig>;
}) {
  let port = 0;
  let storage: BoxStorage | undefined;
  let stork: RunningStork | undefined;
  beforeAll(async () => {
    [port = 0] = await freePorts(1);
  });
  const boxCtx = useBox(() => ({
    ...options.box,
    // The scheduler configuration users install (specs/stork-scheduler.yaml), pointed at this extender.
    storkScheduler: { urlPrefix: `http://127.0.0.1:${port}`, shipped: true },
  }));
  const logger = createLogger({
    name: 'stork-test',
    verbose: process.env.STORK_TEST_VERBOSE === '1',
    silent: process.env.STORK_TEST_VERBOSE !== '1',
  });
  const start = async (box: Box, s: BoxStorage): Promise<RunningStork> =>
    startStork(
      {
        ...defaultConfig,
        driver: 'pxd',
        driverEndpoint: s.simulator.grpcEndpoint,
        kubeconfig: box.kubeconfigPath,
        extenderPort: port,
        extenderHost: '127.0.0.1',
        driverRefreshIntervalMs: 500,
        // Off unless a test asks for it: its in-cluster defaults do not fit a stork on the host.
        webhook: false,
        ...options.stork,
      },
      logger,
    );
  beforeAll(async () => {
    storage = await startBoxStorage(boxCtx.box);
    stork = await start(boxCtx.box, storage);
  });
  afterAll(async () => {
    await stork?.stop();
    await storage?.stop();
  });
  return {
    get box(): Box {
      return boxCtx.box;
    },
    get storage(): BoxStorage {
      if (!storage) throw new Error('storage has not started');
      return storage;
    },
    get stork(): RunningStork {
      if (!stork) throw new Error('stork has not started');
      return stork;
    },
    async stopStork(): Promise<void> {
      await stork?.stop();
      stork = undefined;
    },
    async startStork(): Promise<void> {
      stork = await start(boxCtx.box, this.storage);
    },
  };
}

/**
 * A driver volume whose replicas are on the given (Kubernetes) nodes, with a PV and a claim bound to it,
 * as Portworx would have provisioned it. The StorageClass `px-static` is created on first use.
 */
export async function createDriverVolume(
  ctx: { box: Box; storage: BoxStorage },
  namespace: string,
  claim: string,
  nodes: readonly string[],
): Promise<void> {
  const { api } = ctx.box;
  await ensureStorageClass(ctx.box, { metadata: { name: 'px-static' }, provisioner: 'pxd.portworx.com' });
  const id = `${namespace}-${claim}`;
  ctx.storage.simulator.state.createVolume({
    id,
    name: id,
    sizeBytes: 2 ** 30,
    haLevel: nodes.length,
    replicaNodes: nodes.map(storageNodeId),
  });
  await api.create(resources.persistentVolumes, {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: id },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'px-static',
      csi: { driver: 'pxd.portworx.com', volumeHandle: id },
      claimRef: { namespace, name: claim },
    },
  });
  await api.create(
    resources.persistentVolumeClaims,
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: claim },
      spec: {
        storageClassName: 'px-static',
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
        volumeName: id,
      },
    },
    namespace,
  );
  await waitFor(
    `claim ${claim} bound`,
    async () =>
      (await api.get<PersistentVolumeClaim>(resources.persistentVolumeClaims, { namespace, name: claim }))
        .status?.phase === 'Bound',
    { timeoutMs: 30_000 },
  );
}
