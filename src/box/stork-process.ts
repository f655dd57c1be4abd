import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../lib/wait.js';
import type { Box } from './box.js';
import { isRefusalLogLine, serviceAccountKubeconfig } from './service-account.js';
import type { BoxStorage } from './storage.js';

const main = fileURLToPath(new URL('../daemon/main.ts', import.meta.url));

/** A `stork` process (the real entry point) against a box and its storage, as in a cluster. */
export interface StorkProcess {
  readonly child: ChildProcess;
  readonly extenderPort: number;
  /**
   * Warnings and errors stork logged about requests the API server refused (403/401): with the shipped
   * ServiceAccount's RBAC, tests expect none.
   */
  readonly refusals: readonly string[];
  /** SIGTERM (stork drains and releases its lease), then waits for the exit. */
  stop(): Promise<void>;
}

/** Starts `stork` in its own process and resolves once its extender answers `/healthz`. */
export async function startStorkProcess(options: {
  box: Box;
  /**
   * What stork drives: the box's storage (its simulated Portworx, `--driver=pxd`), or CSI drivers by
   * name (`--driver=csi`, e.g. the box's own from box-csi.ts).
   */
  storage: BoxStorage | { readonly csiDrivers: readonly string[] };
  extenderPort: number;
  /** More stork flags, e.g. `--health-monitor-grace=10`. */
  args?: readonly string[];
  /**
   * A compiled entry point to run instead of the TypeScript source under tsx, e.g. the daemon of
   * {@link buildImageLayout} (the image's layout).
   */
  compiledMain?: string;
  /** Node.js flags, e.g. `--cpu-prof`. */
  nodeFlags?: readonly string[];
  /**
   * How long stork may take to serve /healthz (default 60 s): with tens of thousands of objects to list,
   * startup takes longer.
   */
  serveTimeoutMs?: number;
  /** Show stork's logs on this process's stderr (default: discard). */
  showLogs?: boolean;
  /** Told every line stork logs (e.g. to record a timeline). */
  onLogLine?: (line: string) => void;
  /**
   * Called right after the process is spawned, before it has done anything (e.g. to put it into a memory
   * cgroup, so that the limit holds from the start, as a container's does).
   */
  onSpawn?: (child: ChildProcess) => void | Promise<void>;
  /** Reach the API server at this URL instead (e.g. through a test's proxy); the box's CA still applies. */
  apiServer?: string;
  /**
   * Run with the box's admin credentials. By default stork runs as the ServiceAccount of
   * specs/stork-deployment.yaml with exactly that file's RBAC, as in a cluster.
   */
  asAdmin?: boolean;
}): Promise<StorkProcess> {
  const kubeconfig = options.asAdmin
    ? options.box.kubeconfigPath
    : (await serviceAccountKubeconfig(options.box, options.apiServer ? { server: options.apiServer } : {}))
        .kubeconfigPath;
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeFlags ?? []),
      ...(options.compiledMain ? [options.compiledMain] : ['--import', 'tsx', main]),
      ...driverFlags(options.storage),
      `--kubeconfig=${kubeconfig}`,
      `--extender-port=${options.extenderPort}`,
      '--extender-address=127.0.0.1',
      // The webhook's in-cluster defaults (port 8443, a Service the API server cannot reach from here) do
      // not fit a process on the host; tests of the webhook turn it on with their own port and URL.
      '--webhook-controller=false',
      // These processes are about leases, signals and the image; the extender's mutual TLS is tested with
      // the in-process stork (test/e2e/extender-security.e2e.test.ts). A test may pass
      // --extender-insecure-http=false in `args`.
      '--extender-insecure-http',
      '--status-port=0',
      '--status-address=127.0.0.1',
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  try {
    await options.onSpawn?.(child);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const refusals: string[] = [];
  const recent: string[] = [];
  let partial = '';
  child.stderr.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    if (options.showLogs) process.stderr.write(text);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      recent.push(line);
      if (recent.length > 20) recent.shift();
      if (isRefusalLogLine(line)) refusals.push(line);
      options.onLogLine?.(line);
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitFor(
      'stork to serve',
      async () => {
        // A process killed by a signal (SIGKILL from the OOM killer, say) has no exit code, only a signal.
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`stork exited with ${child.exitCode ?? child.signalCode}:\n${recent.join('\n')}`);
        return (
          (await fetch(`http://127.0.0.1:${options.extenderPort}/healthz`).catch(() => undefined))?.ok ===
          true
        );
      },
      { timeoutMs: options.serveTimeoutMs ?? 60_000 },
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    child,
    extenderPort: options.extenderPort,
    refusals,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function driverFlags(storage: BoxStorage | { readonly csiDrivers: readonly string[] }): string[] {
  if ('csiDrivers' in storage) return ['--driver=csi', `--csi-driver-names=${storage.csiDrivers.join(',')}`];
  return [
    '--driver=pxd',
    `--driver-endpoint=${storage.simulator.grpcEndpoint}`,
    `--driver-rest-endpoint=${storage.simulator.restEndpoint}`,
  ];
}
