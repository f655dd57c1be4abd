import type { Logger } from './log.js';
import { errorText } from './errors.js';

/**
 * Where background work reports what went wrong (a watch that failed, a refresh, an event that could not be
 * written): one function, given to every component that runs on its own, as OpenTelemetry JS has one
 * global error handler. Components retry by themselves; the sink only makes the failure visible.
 */
export type ErrorSink = (error: unknown, context: string) => void;

/**
 * An ErrorSink writing a warning with the whole error: its message and its stack (and cause), not just
 * the text, so a failure deep in a background task can be traced to where it was thrown.
 */
export function loggingErrorSink(logger: Logger): ErrorSink {
  return (error, context) => {
    const err = error instanceof Error ? error : new Error(errorText(error));
    logger.warn({ err, context }, context);
  };
}
