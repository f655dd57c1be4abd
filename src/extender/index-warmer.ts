import type { ClusterState } from './cluster-state.js';
import { schedulingIndexes, type SchedulingIndexes } from './indexes.js';

export interface IndexWarmerOptions {
  /** The extender's view, as its requests see it. */
  readonly state: () => ClusterState;
  /** Calls the listener after each change of the storage state (the driver cache's refreshes). */
  readonly subscribe: (listener: () => void) => () => void;
  /** Nodes between two yields to the event loop (requests are served in between). */
  readonly chunk?: number;
  readonly yieldToRequests?: () => Promise<void>;
}

export interface IndexWarmer {
  /** Resolves when no pass is running or due (for tests and for an orderly stop). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

const defaultChunk = 250;
const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Fills the scheduling indexes' per-node facts (the node ↔ storage-node match, locality, score key) for
 * every node as soon as the storage state changes, off the request path: otherwise the first filter or
 * prioritize after a change of the storage node list pays for all of them (at 5,000 nodes, tens of
 * milliseconds on one request). Passes coalesce: a change during a pass starts one more pass after it,
 * never two at once. A pass yields to the event loop every `chunk` nodes, so requests are never held.
 */
export function startIndexWarmer(options: IndexWarmerOptions): IndexWarmer {
  const chunk = options.chunk ?? defaultChunk;
  const yieldToRequests = options.yieldToRequests ?? nextTick;
  let stopped = false;
  const due = { again: false };
  let running: Promise<void> | undefined;
  let warmed: { indexes: SchedulingIndexes; nodesVersion: number } | undefined;

  const pass = async (): Promise<void> => {
    const state = options.state();
    const indexes = schedulingIndexes(state);
    if (warmed?.indexes === indexes && warmed.nodesVersion === state.nodesVersion) return;
    const nodes = state.listNodes();
    for (let i = 0; i < nodes.length; i++) {
      if (stopped) return;
      indexes.nodeFacts(nodes[i] as (typeof nodes)[number]);
      if ((i + 1) % chunk === 0) await yieldToRequests();
    }
    for (const driverNode of state.snapshot.nodes) {
      if (stopped) return;
      indexes.replicaLocality(driverNode, state);
    }
    indexes.entries(state);
    warmed = { indexes, nodesVersion: state.nodesVersion };
  };

  // A function, so the flags are read after the pass's awaits (where a listener may have set them).
  const runAgain = (): boolean => due.again && !stopped;

  const run = (): void => {
    if (stopped) return;
    if (running) {
      due.again = true;
      return;
    }
    running = (async () => {
      do {
        due.again = false;
        await pass();
      } while (runAgain());
    })().finally(() => {
      running = undefined;
    });
  };

  const unsubscribe = options.subscribe(run);
  run();
  return {
    idle: async () => {
      while (running) await running;
    },
    stop: async () => {
      stopped = true;
      unsubscribe();
      await running;
    },
  };
}
