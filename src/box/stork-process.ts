import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../lib/wait.js';
import type { Box } from './box.js';
import type { BoxStorage } from './storage.js';

const main = fileURLToPath(new URL('../daemon/main.ts', import.meta.url));

/** A `stork` process (the real entry point) against a box and its storage, as in a cluster. */
export interface StorkProcess {
  readonly child: ChildProcess;
  readonly extenderPort: number;
  /** SIGTERM (stork drains and releases its lease), then waits for the exit. */
  stop(): Promise<void>;
}

/** Starts `stork` in its own process and resolves once its extender answers `/healthz`. */
export async function startStorkProcess(options: {
  box: Box;
  storage: BoxStorage;
  extenderPort: number;
  /** More stork flags, e.g. `--health-monitor-grace=10`. */
  args?: readonly string[];
  /** Node.js flags, e.g. `--cpu-prof`. */
  nodeFlags?: readonly string[];
  /** Show stork's logs on this process's stderr (default: discard). */
  showLogs?: boolean;
}): Promise<StorkProcess> {
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeFlags ?? []),
      '--import',
      'tsx',
      main,
      '--driver=pxd',
      `--driver-endpoint=${options.storage.simulator.grpcEndpoint}`,
      `--kubeconfig=${options.box.kubeconfigPath}`,
      `--extender-port=${options.extenderPort}`,
      '--extender-address=127.0.0.1',
      // The webhook's in-cluster defaults (port 8443, a Service the API server cannot reach from here) do
      // not fit a process on the host; tests of the webhook turn it on with their own port and URL.
      '--webhook-controller=false',
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'ignore', options.showLogs ? 'inherit' : 'ignore'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitFor(
      'stork to serve',
      async () => {
        if (child.exitCode !== null) throw new Error(`stork exited with ${child.exitCode}`);
        return (
          (await fetch(`http://127.0.0.1:${options.extenderPort}/healthz`).catch(() => undefined))?.ok ===
          true
        );
      },
      { timeoutMs: 60_000 },
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    child,
    extenderPort: options.extenderPort,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
