import { readFile } from 'node:fs/promises';
import type { Pod } from '../../src/wire/k8s-types.js';
import { applyManifests } from '../../src/box/manifests.js';
import { afterAll, beforeAll } from 'vitest';
import { Box, createNamespace, type BoxOptions } from '../../src/box/box.js';
import type { KubeApi } from '../../src/k8s/api.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';

/** Creates a namespace with a unique name for one test file. */
export async function createTestNamespace(api: KubeApi, prefix: string): Promise<string> {
  const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
  await createNamespace(api, name);
  return name;
}

export function isRunning(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp;
}

/** Waits until a pod satisfies `predicate` and returns it. */
export function waitForPod(
  api: KubeApi,
  namespace: string,
  name: string,
  predicate: (pod: Pod) => boolean,
  timeoutMs = 60_000,
): Promise<Pod> {
  return waitFor(
    `pod ${namespace}/${name}`,
    async () => {
      const pod = await api.get<Pod>(resources.pods, { namespace, name });
      return predicate(pod) ? pod : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

/** A minimal pod for KWOK nodes (the image is never pulled), optionally using claims or pinned to a node. */
export function testPod(
  name: string,
  extra: {
    schedulerName?: string;
    labels?: Record<string, string>;
    claims?: readonly string[];
    nodeName?: string;
  } = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: name, ...extra.labels } },
    spec: {
      ...(extra.schedulerName ? { schedulerName: extra.schedulerName } : {}),
      ...(extra.nodeName ? { nodeName: extra.nodeName } : {}),
      containers: [{ name: 'main', image: 'registry.invalid/none:1' }],
      ...(extra.claims
        ? {
            volumes: extra.claims.map((claimName, i) => ({
              name: `v${i}`,
              persistentVolumeClaim: { claimName },
            })),
          }
        : {}),
    },
  };
}

/**
 * Starts a box for the current test file (beforeAll) and stops it afterwards, pass or fail. Tests read
 * `ctx.box`; the options are a function so they can use values prepared in an earlier beforeAll.
 */
export function useBox(options: () => BoxOptions | Promise<BoxOptions>): { readonly box: Box } {
  let started: Box | undefined;
  beforeAll(async () => {
    started = await Box.start(await options());
  });
  afterAll(async () => {
    const keepDir = process.env.BOX_KEEP_DIR === '1';
    if (keepDir && started) process.stderr.write(`the box's directory is kept: ${started.dir}\n`);
    await started?.stop({ keepDir });
  });
  return {
    get box(): Box {
      if (!started) throw new Error('the box has not started (see the beforeAll error)');
      return started;
    },
  };
}

/** Applies Stork's MySQL example (examples/mysql.yaml, unchanged) and returns its pod once Running. */
export async function deploySeedMysql(api: KubeApi, namespace: string): Promise<Pod> {
  await applyManifests(
    api,
    await readFile(new URL('../../examples/mysql.yaml', import.meta.url), 'utf8'),
    namespace,
  );
  return waitFor(
    'the mysql pod to run',
    async () =>
      (await api.list<Pod>(resources.pods, namespace, { labelSelector: 'app=mysql' })).items.find(isRunning),
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

export { applyManifests };

/** The pod (by label) that replaced the one with `previousUid`, once it runs. */
export function waitForReplacement(
  api: KubeApi,
  namespace: string,
  labelSelector: string,
  previousUid: string | undefined,
  what = 'a replacement running on another node',
): Promise<Pod> {
  return waitFor(
    what,
    async () =>
      (await api.list<Pod>(resources.pods, namespace, { labelSelector })).items.find(
        (p) => isRunning(p) && p.metadata?.uid !== previousUid,
      ),
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}
