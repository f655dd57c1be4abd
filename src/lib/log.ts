import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs (one object per line) on stderr. `verbose` turns on debug lines, like Stork's
 * `--verbose`. Tests pass `silent`.
 */
export function createLogger(options: { name: string; verbose?: boolean; silent?: boolean }): Logger {
  return pino(
    {
      name: options.name,
      level: options.silent ? 'silent' : options.verbose ? 'debug' : 'info',
      base: { component: options.name },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ fd: 2, sync: false }),
  );
}

/** A logger that drops everything. */
export const silentLogger: Logger = pino({ level: 'silent' });
