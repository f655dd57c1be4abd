import type { IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import type { WatchEvent, WatchEventType } from './client.js';
import { WatchError } from './errors.js';

export type { WatchEvent, WatchEventType } from './client.js';

/** Bounds one line of a watch stream: an object larger than this is not a Kubernetes object. */
const maxEventBytes = 16 * 1024 * 1024;

/**
 * Reads one watch response and calls `onEvent` for each event, in order. Resolves when the server ends
 * the stream; rejects on a connection error, an ERROR event ({@link WatchError}) or a line that does not
 * parse (a dropped event would leave a cache wrong, so it is an error, not something to skip).
 */
export async function readWatchStream<T>(
  response: IncomingMessage,
  onEvent: (event: WatchEvent<T>) => void,
): Promise<void> {
  const lines = createInterface({ input: response, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      if (line.length > maxEventBytes) throw new Error(`watch event of ${line.length} bytes refused`);
      const event = JSON.parse(line) as { type: WatchEventType | 'ERROR'; object: unknown };
      if (event.type === 'ERROR') {
        const status = event.object as { code?: number; reason?: string; message?: string };
        throw new WatchError(status.code ?? 0, status.reason ?? '', status.message ?? 'watch error');
      }
      onEvent(event as WatchEvent<T>);
    }
  } finally {
    lines.close();
    response.destroy();
  }
}
