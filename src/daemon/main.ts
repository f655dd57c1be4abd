// The `stork` process: flags → configuration → running parts, until SIGTERM or SIGINT.
import { readFile } from 'node:fs/promises';
import { createLogger } from '../lib/log.js';
import type { StorkConfig } from './config.js';
import { configFromFlags, storkCommand, type ParsedFlags } from './flags.js';
import { startStork } from './stork.js';

const command = storkCommand();
command.parse();
const flags = command.opts<ParsedFlags>();
async function configuration(): Promise<StorkConfig> {
  try {
    const token = flags.driverTokenFile ? (await readFile(flags.driverTokenFile, 'utf8')).trim() : undefined;
    return configFromFlags(flags, token);
  } catch (error) {
    // A bad value is a clear error at start-up, with the usage hint, and exit code 1.
    return command.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  }
}
const config = await configuration();
const logger = createLogger({ name: 'stork', verbose: config.verbose });
const stork = await startStork(config, logger).catch((error: unknown) => {
  logger.fatal({ err: error }, 'stork failed to start');
  process.exit(1);
});
logger.info({ driver: config.driver, extenderPort: stork.extenderPort }, 'stork is running');

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping: finishing in-flight requests');
  void stork.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, 'error while stopping');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
