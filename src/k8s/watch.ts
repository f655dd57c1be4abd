import { createInterface } from 'node:readline';
import type { KubeApi } from './api.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T> {
  readonly type: WatchEventType;
  readonly object: T;
}

/** A watch that ended with an ERROR event, e.g. 410 Gone when the resourceVersion is too old. */
export class WatchExpiredError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'WatchExpiredError';
  }
}

/**
 * Streams one watch request and calls `onEvent` for each event, in order. Resolves when the server ends
 * the watch (its timeout) or `signal` aborts; rejects on a connection error or an ERROR event. Lines that
 * do not parse are an error, not something to skip silently: a dropped event would leave a cache wrong.
 */
export async function watchOnce<T>(
  api: KubeApi,
  path: string,
  options: { resourceVersion: string; timeoutSeconds: number; signal: AbortSignal; labelSelector?: string },
  onEvent: (event: WatchEvent<T>) => void,
): Promise<void> {
  let response;
  try {
    response = await api.stream(path, {
      query: {
        watch: true,
        resourceVersion: options.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: options.timeoutSeconds,
        labelSelector: options.labelSelector,
      },
      signal: options.signal,
    });
  } catch (error) {
    if (options.signal.aborted) return;
    throw error;
  }
  const lines = createInterface({ input: response, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      const event = JSON.parse(line) as WatchEvent<T>;
      if (event.type === 'ERROR') {
        const status = event.object as { code?: number; message?: string };
        throw new WatchExpiredError(status.code ?? 0, status.message ?? 'watch error');
      }
      onEvent(event);
    }
  } catch (error) {
    if (options.signal.aborted) return;
    throw error;
  } finally {
    lines.close();
    response.destroy();
  }
}
