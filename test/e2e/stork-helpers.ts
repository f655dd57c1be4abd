import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { freePorts } from '../../src/box/ports.js';
import type { PersistentVolumeClaim } from '../../src/wire/k8s-types.js';
import { createStaticDriverVolume, startBoxStorage, type BoxStorage } from '../../src/box/storage.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { defaultConfig, type StorkConfig } from '../../src/daemon/config.js';
import { startStork, type RunningStork } from '../../src/daemon/stork.js';
import { isRefusalLogLine, serviceAccountKubeconfig } from '../../src/box/service-account.js';
import type { BoxOptions, Box } from '../../src/box/box.js';
import { useBox } from './helpers.js';
import { storkSchedulerTlsFiles } from '../../src/box/stork-scheduler-tls.js';

/** How many of stork's latest log lines a failed test shows, and how much of each. */
const recentLines = 300;
const recentLineChars = 2000;

/**
 * A logger for the in-process stork that remembers every warning or error about a request the API server
 * refused (403 Forbidden, 401 Unauthorized): stork runs as the shipped ServiceAccount, and a missing
 * permission must fail the test rather than vanish into a retry loop. It also keeps stork's latest lines
 * (info and above), which `recent()` returns: a test that fails shows them, so a failure seen once in CI
 * says why. `STORK_TEST_VERBOSE=1` also shows every line, debug included, on stderr.
 */
export function refusalRecordingLogger(name: string): {
  logger: Logger;
  refusals: string[];
  recent: () => string[];
} {
  const verbose = process.env.STORK_TEST_VERBOSE === '1';
  const refusals: string[] = [];
  const ring: string[] = [];
  let next = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const text = chunk.toString();
      if (verbose) process.stderr.write(text);
      for (const line of text.split('\n')) {
        if (line === '') continue;
        if (isRefusalLogLine(line)) refusals.push(line);
        ring[next % recentLines] =
          line.length > recentLineChars ? `${line.slice(0, recentLineChars)}…` : line;
        next += 1;
      }
      done();
    },
  });
  const recent = (): string[] =>
    next <= recentLines
      ? ring.slice(0, next)
      : [...ring.slice(next % recentLines), ...ring.slice(0, next % recentLines)];
  const logger = pino({ name, level: verbose ? 'debug' : 'info', base: { component: name } }, sink);
  return { logger, refusals, recent };
}

/** `msg: error message` of a JSON log line (the line itself if it is not one). */
function summarizeLogLine(line: string): string {
  try {
    const entry = JSON.parse(line) as { msg?: string; err?: string | { message?: string } };
    const err = typeof entry.err === 'string' ? entry.err : entry.err?.message;
    return `${entry.msg ?? ''}: ${err ?? ''}`;
  } catch {
    return line;
  }
}

/**
 * A box with storage (the simulator and the CSI provisioner role) and stork running in this process, its
 * extender registered with the box's stork scheduler. `ctx.restartStork()` stops and starts it again.
 *
 * Stork runs as the ServiceAccount of specs/stork-deployment.yaml, with exactly that file's RBAC (token
 * from the TokenRequest API); any refused request it logs fails the test. `asAdmin: true` runs it with
 * the box's admin credentials instead, for tests that need them.
 */
export function useStorkBox(options: {
  box: Omit<BoxOptions, 'storkScheduler'>;
  stork?: Partial<StorkConfig>;
  asAdmin?: boolean;
}) {
  let port = 0;
  let kubeconfig: string | undefined;
  let storage: BoxStorage | undefined;
  let stork: RunningStork | undefined;
  beforeAll(async () => {
    [port = 0] = await freePorts(1);
  });
  // The stork scheduler starts once stork has issued its client certificate (see beforeAll below).
  const boxCtx = useBox(() => ({ ...options.box }));
  const { logger, refusals, recent } = refusalRecordingLogger('stork-test');
  // A failed test shows what stork was doing: the reason of a failure seen once in CI is in its log.
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      const lines = recent();
      process.stderr.write(
        `--- stork's last ${lines.length} log lines (info and above) ---\n${lines.join('\n')}\n--- end of stork's log ---\n`,
      );
    });
  });
  const expectNoRefusals = (): void => {
    // The first few, as `msg: error message` (whole log lines with stacks would bury the reason).
    const seen = refusals.splice(0).map(summarizeLogLine);
    expect(
      seen.slice(0, 5),
      `stork was refused ${seen.length} request(s): the RBAC in specs/stork-deployment.yaml is short`,
    ).toEqual([]);
  };
  afterEach(expectNoRefusals);
  const config = (s: BoxStorage): StorkConfig => ({
    ...defaultConfig,
    driver: 'pxd',
    driverEndpoint: s.simulator.grpcEndpoint,
    // Portworx serves both; group snapshots on pxd are cut in one call of the REST API.
    driverRestEndpoint: s.simulator.restEndpoint,
    kubeconfig: kubeconfig ?? boxCtx.box.kubeconfigPath,
    extenderPort: port,
    extenderHost: '127.0.0.1',
    // The scheduler calls the extender on loopback; the status port is any free one.
    extenderServing: {
      ...defaultConfig.extenderServing,
      certificates: { ...defaultConfig.extenderServing.certificates, extraSans: ['127.0.0.1'] },
      statusPort: 0,
      statusHost: '127.0.0.1',
    },
    driverRefreshIntervalMs: 500,
    // Off unless a test asks for it: its in-cluster defaults do not fit a stork on the host.
    webhook: false,
    ...options.stork,
  });
  const start = async (_box: Box, s: BoxStorage): Promise<RunningStork> => startStork(config(s), logger);
  beforeAll(async () => {
    if (!options.asAdmin) kubeconfig = (await serviceAccountKubeconfig(boxCtx.box)).kubeconfigPath;
    storage = await startBoxStorage(boxCtx.box);
    stork = await start(boxCtx.box, storage);
    // The scheduler configuration users install (specs/stork-scheduler.yaml), pointed at this extender:
    // mutual TLS with the client certificate stork issued, unless stork serves Stork's plain HTTP.
    const serving = config(storage).extenderServing;
    await boxCtx.box.startStorkScheduler(
      serving.insecureHttp
        ? { urlPrefix: `http://127.0.0.1:${port}`, shipped: true }
        : {
            urlPrefix: `https://127.0.0.1:${port}`,
            shipped: true,
            tls: await storkSchedulerTlsFiles(boxCtx.box, serving.certificates.namespace),
          },
    );
  });
  afterAll(async () => {
    await stork?.stop();
    await storage?.stop();
    expectNoRefusals();
  });
  return {
    get box(): Box {
      return boxCtx.box;
    },
    get storage(): BoxStorage {
      if (!storage) throw new Error('storage has not started');
      return storage;
    },
    /**
     * Takes the refusals logged so far out of the check, for a test that provoked them on purpose (e.g.
     * an API server restart, after which its authorizer refuses requests until its caches are filled).
     */
    forgiveRefusals(): string[] {
      return refusals.splice(0);
    },
    /** The kubeconfig stork runs with (the ServiceAccount's unless `asAdmin`). */
    get storkKubeconfig(): string {
      return kubeconfig ?? boxCtx.box.kubeconfigPath;
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
  await createStaticDriverVolume(ctx.box, ctx.storage, namespace, claim, nodes);
  await waitFor(
    `claim ${claim} bound`,
    async () =>
      (await api.get<PersistentVolumeClaim>(resources.persistentVolumeClaims, { namespace, name: claim }))
        .status?.phase === 'Bound',
    { timeoutMs: 30_000 },
  );
}
