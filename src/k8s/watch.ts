import type { Readable } from 'node:stream';
import type { WatchEvent, WatchEventType } from './client.js';
import { WatchError } from './errors.js';
import { errorText } from '../lib/errors.js';

export type { WatchEvent, WatchEventType } from './client.js';

/** Bounds one line of a watch stream: an object larger than this is not a Kubernetes object. */
export const maxEventBytes = 16 * 1024 * 1024;

const newline = 0x0a;

/**
 * Reads one watch response and calls `onEvent` for each event, in order. Resolves when the stream ends or
 * its connection closes; rejects on a connection error, an ERROR event ({@link WatchError}), a line that does not
 * parse (a dropped event would leave a cache wrong, so it is an error, not something to skip) or a line
 * longer than `maxBytes`, refused before more than that is buffered.
 *
 * Lines are cut from the response's chunks directly (no readline, no promise per line): a pod watch in a
 * busy cluster delivers thousands of events a second, and the reading was a tenth of stork's CPU.
 */
export function readWatchStream<T>(
  response: Readable,
  onEvent: (event: WatchEvent<T>) => void,
  maxBytes = maxEventBytes,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let partial: Buffer[] = [];
    let partialBytes = 0;
    let done = false;
    const finish = (error?: unknown): void => {
      if (done) return;
      done = true;
      response.destroy();
      if (error === undefined) resolve();
      else reject(error instanceof Error ? error : new Error(errorText(error)));
    };
    const handle = (bytes: Buffer): void => {
      const line = bytes.toString('utf8');
      if (line.trim() === '') return;
      const event = JSON.parse(line) as { type: WatchEventType | 'ERROR'; object: unknown };
      if (event.type === 'ERROR') {
        const status = event.object as { code?: number; reason?: string; message?: string };
        throw new WatchError(status.code ?? 0, status.reason ?? '', status.message ?? 'watch error');
      }
      onEvent(event as WatchEvent<T>);
    };
    const tooLong = (bytes: number): Error => new Error(`watch event of ${bytes} bytes refused`);
    response.on('data', (chunk: Buffer) => {
      if (done) return;
      try {
        let start = 0;
        for (let end = chunk.indexOf(newline); end !== -1; end = chunk.indexOf(newline, start)) {
          const piece = chunk.subarray(start, end);
          start = end + 1;
          const length = partialBytes + piece.length;
          if (length > maxBytes) throw tooLong(length);
          const line = partialBytes > 0 ? Buffer.concat([...partial, piece]) : piece;
          partial = [];
          partialBytes = 0;
          handle(line);
        }
        if (start < chunk.length) {
          partialBytes += chunk.length - start;
          if (partialBytes > maxBytes) throw tooLong(partialBytes);
          partial.push(chunk.subarray(start));
        }
      } catch (error) {
        finish(error);
      }
    });
    response.on('end', () => {
      if (done) return;
      try {
        if (partialBytes > 0) handle(Buffer.concat(partial));
        finish();
      } catch (error) {
        finish(error);
      }
    });
    response.on('error', (error: Error) => finish(error));
    // A connection closed without an end: the watch is over. Nothing is lost (events are applied as they
    // come, so the caller watches again from the last one it saw); a half line is dropped, never applied.
    response.on('close', () => finish());
  });
}
