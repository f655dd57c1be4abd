import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeApi, ObjectList } from './api.js';
import { KubeApiError, isResourceExpired } from './errors.js';
import { resourcePath, type ResourceType } from './paths.js';

/** The fields of any Kubernetes object an informer needs. */
export interface KubeObject {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly resourceVersion?: string;
  };
}

export interface InformerHandlers<T> {
  onAdd?(object: T): void;
  onUpdate?(previous: T, object: T): void;
  onDelete?(object: T): void;
}

export interface InformerOptions {
  readonly api: KubeApi;
  readonly type: ResourceType;
  /** Only this namespace (default: all). */
  readonly namespace?: string;
  readonly labelSelector?: string;
  /** Where failures go (the informer keeps going): a lost watch, a failed list. */
  readonly onError?: (error: unknown, context: string) => void;
  /** How long each watch request lasts before the server ends it (default 300 s, with jitter). */
  readonly watchTimeoutSeconds?: number;
  /** A full relist at least this often, as a safety net for missed events (default 10 min). */
  readonly relistIntervalMs?: number;
}

export function objectKey(object: KubeObject): string {
  const name = object.metadata?.name ?? '';
  const namespace = object.metadata?.namespace;
  return namespace ? `${namespace}/${name}` : name;
}

/**
 * A cache of one kind of object kept current by list + watch, in the manner of client-go's reflector:
 * resumes a watch from the last resourceVersion, relists after 410 Gone or a stuck watch, backs off
 * after errors (1 s doubling to 30 s) and never stops on its own. Readers get the latest state
 * synchronously; `version` changes whenever anything does, so derived indexes can be memoised.
 */
export class Informer<T extends KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private resourceVersion: string | undefined;
  private lastListAt = 0;
  private syncedAt: number | undefined;
  private changeCount = 0;
  private loop: Promise<void> | undefined;
  /** Why the first list was refused (401/403); start() fails with it. */
  private refused: KubeApiError | undefined;
  private readonly controller = new AbortController();

  constructor(private readonly options: InformerOptions) {}

  /** Increases on every change to the cache. */
  get version(): number {
    return this.changeCount;
  }

  /** True once the first list has been applied. */
  get synced(): boolean {
    return this.syncedAt !== undefined;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.store.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  get size(): number {
    return this.store.size;
  }

  /** Adds handlers; returns a function that removes them again (for controllers that stop and restart). */
  addHandlers(handlers: InformerHandlers<T>): () => void {
    this.handlers.push(handlers);
    return () => {
      const index = this.handlers.indexOf(handlers);
      if (index >= 0) this.handlers.splice(index, 1);
    };
  }

  /** Starts list + watch; resolves once the cache holds the first full list. */
  async start(signal?: AbortSignal): Promise<void> {
    signal?.addEventListener('abort', () => this.stop(), { once: true });
    if (!this.loop) {
      this.loop = this.run();
    }
    while (!this.synced) {
      if (this.refused) {
        throw new Error(
          `cannot list ${this.options.type.resource}: ${this.refused.message} (check the RBAC of stork's ServiceAccount)`,
          { cause: this.refused },
        );
      }
      if (this.controller.signal.aborted)
        throw new Error(`informer for ${this.options.type.resource} stopped before it synced`);
      await sleep(20);
    }
  }

  stop(): void {
    this.controller.abort();
  }

  /** Resolves when the informer's loop has ended after {@link stop}. */
  async stopped(): Promise<void> {
    await this.loop;
  }

  private report(error: unknown, context: string): void {
    this.options.onError?.(error, `${this.options.type.resource}: ${context}`);
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    let backoffMs = 1000;
    // A call, not a property read: the flag changes while we await, which narrowing cannot see.
    const stopped = (): boolean => signal.aborted;
    while (!stopped()) {
      try {
        const relistDue = Date.now() - this.lastListAt > (this.options.relistIntervalMs ?? 600_000);
        if (this.resourceVersion === undefined || relistDue) await this.relist(signal);
        await this.watch(signal);
        backoffMs = 1000;
      } catch (error) {
        if (stopped()) break;
        if (
          !this.synced &&
          error instanceof KubeApiError &&
          (error.statusCode === 401 || error.statusCode === 403)
        ) {
          // Missing permissions do not fix themselves: fail start-up loudly instead of retrying
          // silently forever. (After the first sync, a refusal is retried like any other failure.)
          this.refused = error;
          this.controller.abort();
          break;
        }
        if (isResourceExpired(error)) {
          // Our resourceVersion is older than what the server keeps: start over from a fresh list.
          this.resourceVersion = undefined;
          continue;
        }
        this.report(error, 'list/watch failed; retrying');
        await sleep(backoffMs * (0.8 + Math.random() * 0.4), undefined, { signal }).catch(() => undefined);
        backoffMs = Math.min(backoffMs * 2, 30_000);
      }
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const path = resourcePath(this.options.type, { namespace: this.options.namespace });
    const fresh = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page: ObjectList<T> = await this.options.api.request(path, {
        query: { limit: 500, continue: continueToken, labelSelector: this.options.labelSelector },
        signal,
      });
      for (const item of page.items) fresh.set(objectKey(item), item);
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (continueToken);
    // Replace the cache, telling handlers only about real differences.
    for (const [key, previous] of this.store) {
      if (!fresh.has(key)) {
        this.store.delete(key);
        this.changed();
        for (const h of this.handlers) h.onDelete?.(previous);
      }
    }
    for (const [key, object] of fresh) this.apply(key, object);
    this.resourceVersion = resourceVersion ?? '';
    this.lastListAt = Date.now();
    this.syncedAt ??= Date.now();
  }

  private apply(key: string, object: T): void {
    const previous = this.store.get(key);
    if (previous?.metadata?.resourceVersion === object.metadata?.resourceVersion && previous) return;
    this.store.set(key, object);
    this.changed();
    for (const h of this.handlers) {
      if (previous) h.onUpdate?.(previous, object);
      else h.onAdd?.(object);
    }
  }

  private changed(): void {
    this.changeCount++;
  }

  private async watch(signal: AbortSignal): Promise<void> {
    const timeoutSeconds = Math.round(
      (this.options.watchTimeoutSeconds ?? 300) * (0.9 + Math.random() * 0.2),
    );
    // A watch that outlives its own timeout by this much is stuck (a silent connection): abandon it.
    const watchdog = new AbortController();
    const timer = setTimeout(() => watchdog.abort(), (timeoutSeconds + 30) * 1000);
    const onAbort = (): void => watchdog.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await this.options.api
        .watch<T>(
          this.options.type,
          this.options.namespace,
          {
            resourceVersion: this.resourceVersion ?? '',
            timeoutSeconds,
            signal: watchdog.signal,
            allowWatchBookmarks: true,
            labelSelector: this.options.labelSelector,
          },
          (event) => {
            const rv = event.object.metadata?.resourceVersion;
            if (event.type === 'BOOKMARK') {
              if (rv) this.resourceVersion = rv;
              return;
            }
            const key = objectKey(event.object);
            if (event.type === 'DELETED') {
              const previous = this.store.get(key);
              this.store.delete(key);
              this.changed();
              for (const h of this.handlers) h.onDelete?.(previous ?? event.object);
            } else {
              this.apply(key, event.object);
            }
            if (rv) this.resourceVersion = rv;
          },
        )
        .catch((error: unknown) => {
          if (!watchdog.signal.aborted) throw error;
        });
      if (watchdog.signal.aborted && !signal.aborted) {
        this.report(new Error(`watch silent for ${timeoutSeconds + 30}s`), 'restarting a stuck watch');
      }
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }
}
