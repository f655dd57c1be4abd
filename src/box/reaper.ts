/**
 * Makes sure no box process outlives the process that started it, whichever way that one ends: normal
 * exit, an uncaught error, or Ctrl-C / SIGTERM. Children are killed synchronously, because nothing
 * asynchronous runs during 'exit'.
 */
const live = new Set<number>();
let installed = false;

function killAll(): void {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  live.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      // A program with its own handler (e.g. `npm run box`) stops its box gracefully; the 'exit' hook
      // still covers whatever that leaves running.
      if (process.listenerCount(signal) > 1) return;
      killAll();
      // Re-raise the default behaviour: exit with the conventional 128 + signal number.
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** Registers a child pid to be killed when this process exits; returns the function that forgets it. */
export function reapOnExit(pid: number): () => void {
  install();
  live.add(pid);
  return () => live.delete(pid);
}
