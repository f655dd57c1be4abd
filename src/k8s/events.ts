import type { Event, ObjectReference } from '../wire/k8s-types.js';
import type { KubeApi } from './api.js';
import { isNotFound } from './errors.js';
import { resources } from './paths.js';

export interface EventRecorderOptions {
  readonly api: KubeApi;
  /** `source.component` / `reportingComponent`, e.g. `stork`. */
  readonly component: string;
  /** `reportingInstance`, e.g. the pod name of this replica. */
  readonly instance?: string;
  readonly onError?: (error: unknown, context: string) => void;
  /** The same event on the same object within this window is counted, not repeated (default 10 min). */
  readonly dedupeWindowMs?: number;
  /** At most this many events waiting to be sent; more are dropped (default 1000). */
  readonly maxQueued?: number;
}

interface Pending {
  readonly key: string;
  readonly object: ObjectReference;
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

/**
 * Records Kubernetes Events without ever blocking the caller: `record` only queues, and a background task
 * sends. Repeats of the same event on the same object are folded into one Event with a count, as
 * client-go's recorder does, so a pod retried every second does not flood the API server.
 */
export class EventRecorder {
  private readonly queue: Pending[] = [];
  private readonly sent = new Map<string, { name: string; namespace: string; count: number; at: number }>();
  private draining: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: EventRecorderOptions) {}

  record(object: ObjectReference, type: 'Normal' | 'Warning', reason: string, message: string): void {
    if (this.closed) return;
    // Bounded: past the limit an event is dropped (it is advice; the API server may be struggling).
    if (this.queue.length >= (this.options.maxQueued ?? 1000)) return;
    const key = [object.kind, object.namespace, object.name, object.uid, type, reason, message].join(
      '\u0000',
    );
    this.queue.push({ key, object, type, reason, message });
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  /** Resolves when everything queued so far has been sent (or failed). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private async drain(): Promise<void> {
    for (let next = this.queue.shift(); next; next = this.queue.shift()) {
      try {
        await this.send(next);
      } catch (error) {
        this.options.onError?.(
          error,
          `recording event ${next.reason} on ${next.object.kind ?? ''} ${next.object.name ?? ''}`,
        );
      }
    }
  }

  private async send(event: Pending): Promise<void> {
    const now = new Date();
    const namespace = event.object.namespace ?? 'default';
    const previous = this.sent.get(event.key);
    const window = this.options.dedupeWindowMs ?? 600_000;
    if (previous && now.getTime() - previous.at < window) {
      previous.count++;
      try {
        await this.options.api.patch(
          resources.events,
          { namespace: previous.namespace, name: previous.name },
          { count: previous.count, lastTimestamp: now.toISOString() },
        );
        return;
      } catch (error) {
        if (!isNotFound(error)) throw error;
        // The Event expired (the API server keeps them for an hour): create it afresh.
      }
    }
    const name = `${event.object.name ?? 'object'}.${now.getTime().toString(16)}${Math.random().toString(16).slice(2, 6)}`;
    const body: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: event.object,
      type: event.type,
      reason: event.reason,
      message: event.message,
      source: { component: this.options.component },
      reportingComponent: this.options.component,
      reportingInstance: this.options.instance ?? this.options.component,
      firstTimestamp: now.toISOString(),
      lastTimestamp: now.toISOString(),
      count: 1,
    };
    await this.options.api.create(resources.events, body, namespace);
    this.sent.set(event.key, { name, namespace, count: 1, at: now.getTime() });
    if (this.sent.size > 10_000) {
      // Forget the oldest half; a forgotten event is simply created again.
      for (const key of [...this.sent.keys()].slice(0, 5000)) this.sent.delete(key);
    }
  }
}

/** The reference an Event needs to point at a Kubernetes object. */
export function objectReference(object: {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}): ObjectReference {
  return {
    apiVersion: object.apiVersion ?? 'v1',
    kind: object.kind ?? 'Pod',
    name: object.metadata?.name ?? '',
    ...(object.metadata?.namespace ? { namespace: object.metadata.namespace } : {}),
    ...(object.metadata?.uid ? { uid: object.metadata.uid } : {}),
  };
}
