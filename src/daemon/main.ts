// The `stork` process: flags → configuration → running parts, until SIGTERM or SIGINT.
import { readFile } from 'node:fs/promises';
import { createLogger } from '../lib/log.js';
import type { StorkConfig } from './config.js';
import { configFromFlags, storkCommand, type ParsedFlags } from './flags.js';
import { startStork, type RunningStork } from './stork.js';
import { errorText } from '../lib/errors.js';

const command = storkCommand();
command.parse();
const flags = command.opts<ParsedFlags>();
async function configuration(): Promise<StorkConfig> {
  try {
    const token = flags.driverTokenFile ? (await readFile(flags.driverTokenFile, 'utf8')).trim() : undefined;
    return configFromFlags(flags, token);
  } catch (error) {
    // A bad value is a clear error at start-up, with the usage hint, and exit code 1.
    return command.error(`error: ${errorText(error)}`);
  }
}
const config = await configuration();
const logger = createLogger({ name: 'stork', verbose: config.verbose });
// Set once started: a fatal error during start-up has nothing to stop yet.
const started: { stork?: RunningStork } = {};
const stork = await startStork(config, logger, {
  // E.g. leader-only work that outlived its term: two leaders could act at once, so do not go on.
  onFatal: () => {
    process.exitCode = 1;
    shutdown('fatal');
  },
}).catch((error: unknown) => {
  logger.fatal({ err: error }, 'stork failed to start');
  process.exit(1);
});
started.stork = stork;
logger.info({ driver: config.driver, extenderPort: stork.extenderPort }, 'stork is running');

let stopping = false;
function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  logger.info(
    { signal, budgetMs: config.shutdownTimeoutMs },
    'stopping: leader-only work, then the Lease, then servers',
  );
  // Whatever still runs after the budget (plus a little for logs) does not hold the process.
  setTimeout(() => {
    logger.error('shutdown budget exceeded; exiting now');
    process.exit(1);
  }, config.shutdownTimeoutMs + 2_000).unref();
  void (started.stork ? started.stork.stop() : Promise.resolve()).then(
    () => process.exit(process.exitCode ?? 0),
    (error: unknown) => {
      logger.error({ err: error }, 'error while stopping');
      process.exit(1);
    },
  );
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
