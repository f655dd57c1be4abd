import type { RunningStork } from '../../daemon/stork.js';
import type { Box } from '../box.js';
import type { BoxStorage } from '../storage.js';
import type { LogTail } from './log-tail.js';
import type { Narrator } from './narrator.js';
import type { ExtenderEndpoint } from './placement.js';

/** What every demo step works with. */
export interface DemoContext {
  readonly box: Box;
  readonly storage: BoxStorage;
  readonly stork: RunningStork;
  /** Stork's last log lines, shown when a step fails. */
  readonly storkLog: LogTail;
  readonly narrator: Narrator;
  /** The extender, as the stork scheduler calls it (mutual TLS). */
  readonly extender: ExtenderEndpoint;
  /** The Kubernetes nodes, in order. */
  readonly nodes: readonly string[];
  /** A temporary directory of this run (the rule commands' record, their wait scripts). */
  readonly workDir: string;
}
