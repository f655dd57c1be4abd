import { systemClock, type Clock } from '../lib/clock.js';
import { deadlineSignal } from '../lib/deadline.js';
import { idleWatchdog } from '../lib/idle-watchdog.js';
import type { KubeClient, ObjectList } from './client.js';
import { KubeApiError, isResourceExpired } from './errors.js';
import type { ResourceType } from './paths.js';
import { InformerIndex } from './informer-index.js';
import { errorText } from '../lib/errors.js';

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

export interface InformerOptions<T = unknown> {
  readonly api: KubeClient;
  /** Backoffs, list deadlines and the idle watchdog run on this clock (default: the process's). */
  readonly clock?: Clock;
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
  /** Each page of a list must be answered within this long (default 60 s). */
  readonly listTimeoutMs?: number;
  /** A watch with no event (bookmarks included) for this long is abandoned (default: its timeout + 30 s). */
  readonly watchIdleMs?: number;
  /** Backoff after a failed list or watch: first delay and cap, doubling with ±20 % jitter (1 s, 30 s). */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /**
   * What the cache keeps of each listed or watched object (client-go's transform): e.g. drop fields no
   * reader uses (informer-transforms.ts). Must not depend on anything but the object.
   */
  readonly transform?: (object: T) => T;
  /**
   * Whether an update (after the transform) changes nothing a reader uses, e.g. a Node whose only news is
   * a heartbeat the transform dropped. Then the cache keeps the object it has (its resourceVersion lags
   * behind: only for kinds stork never writes from the cache), no handler runs and `version` stays, so
   * what readers derived from the object survives. Default: every new resourceVersion is a change.
   */
  readonly sameContent?: (previous: T, next: T) => boolean;
}

/** How an informer is doing, for /readyz and metrics. */
export interface InformerStatus {
  readonly resource: string;
  readonly synced: boolean;
  /** Wall-clock ms of the last successful list or watch event, if any. */
  readonly lastSyncAt: number | undefined;
  /** The last failure, until the next success. */
  readonly lastError: string | undefined;
  readonly errors: number;
  readonly relists: number;
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
  private readonly indexes = new Map<string, InformerIndex<T>>();
  private resourceVersion: string | undefined;
  private lastListAt = 0;
  private syncedAt: number | undefined;
  private lastSyncAt: number | undefined;
  private lastError: string | undefined;
  private errorCount = 0;
  private relistCount = 0;
  private changeCount = 0;
  private readonly clock: Clock;
  private readonly syncWaiters: (() => void)[] = [];
  private loop: Promise<void> | undefined;
  /** Why the first list was refused (401/403); start() fails with it. */
  private refused: KubeApiError | undefined;
  private readonly controller = new AbortController();

  constructor(private readonly options: InformerOptions<T>) {
    this.clock = options.clock ?? systemClock;
  }

  status(): InformerStatus {
    return {
      resource: this.options.type.resource,
      synced: this.synced,
      lastSyncAt: this.lastSyncAt,
      lastError: this.lastError,
      errors: this.errorCount,
      relists: this.relistCount,
    };
  }

  /** The shape of every long-running part: runs until `signal` aborts, then resolves once stopped. */
  async run(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => this.stop(), { once: true });
    if (signal.aborted) this.stop();
    this.loop ??= this.loopUntilStopped();
    await this.loop;
    if (this.refused && !signal.aborted) throw this.refusal(this.refused);
  }

  /** Resolves once the first list is in the cache; rejects if the informer stops first. */
  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.syncWaiters.push(resolve);
      const onStop = (): void => {
        void Promise.resolve(this.loop).then(() => {
          if (this.synced) return;
          reject(
            this.refused
              ? this.refusal(this.refused)
              : new Error(`informer for ${this.options.type.resource} stopped before it synced`),
          );
        });
      };
      if (this.controller.signal.aborted) onStop();
      else this.controller.signal.addEventListener('abort', onStop, { once: true });
    });
  }

  private refusal(error: KubeApiError): Error {
    return new Error(
      `cannot list ${this.options.type.resource}: ${error.message} (check the RBAC of stork's ServiceAccount)`,
      { cause: error },
    );
  }

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

  /**
   * Adds a named index (client-go's indexers): `keysOf` gives the index keys of an object (e.g. a pod's
   * `spec.nodeName`), and {@link byIndex} returns the objects under a key without scanning the cache.
   * Objects already cached are indexed at once; the index follows every later change.
   */
  addIndex(name: string, keysOf: (object: T) => readonly string[]): void {
    if (this.indexes.has(name)) throw new Error(`informer index "${name}" already exists`);
    const index = new InformerIndex<T>(keysOf);
    for (const [key, object] of this.store) index.update(key, undefined, object);
    this.indexes.set(name, index);
  }

  /** The cached objects the index `name` files under `key` (none if there are none). */
  byIndex(name: string, key: string): T[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`no informer index "${name}" (addIndex it first)`);
    const out: T[] = [];
    for (const objectKey of index.keys(key)) {
      const object = this.store.get(objectKey);
      if (object) out.push(object);
    }
    return out;
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
    if (signal?.aborted) this.stop();
    this.loop ??= this.loopUntilStopped();
    await this.whenSynced();
  }

  stop(): void {
    this.controller.abort();
  }

  /** Resolves when the informer's loop has ended after {@link stop}. */
  async stopped(): Promise<void> {
    await this.loop;
  }

  private report(error: unknown, context: string): void {
    this.errorCount++;
    this.lastError = errorText(error);
    this.options.onError?.(error, `${this.options.type.resource}: ${context}`);
  }

  private succeeded(): void {
    this.lastSyncAt = this.clock.wallNow();
    this.lastError = undefined;
  }

  private async loopUntilStopped(): Promise<void> {
    const signal = this.controller.signal;
    const { initialMs, maxMs } = this.options.backoff ?? { initialMs: 1000, maxMs: 30_000 };
    let backoffMs = initialMs;
    // A call, not a property read: the flag changes while we await, which narrowing cannot see.
    const stopped = (): boolean => signal.aborted;
    while (!stopped()) {
      try {
        const relistDue = this.clock.now() - this.lastListAt > (this.options.relistIntervalMs ?? 600_000);
        if (this.resourceVersion === undefined || relistDue) await this.relist(signal);
        await this.watch(signal);
        backoffMs = initialMs;
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
          // Our resourceVersion is older than what the server keeps: the one failure answered with a
          // fresh list at once (client-go's reflector does the same).
          this.resourceVersion = undefined;
          continue;
        }
        this.report(error, `list/watch failed; retrying in ${Math.round(backoffMs)} ms`);
        await this.clock.sleep(backoffMs * (0.8 + Math.random() * 0.4), signal).catch(() => undefined);
        backoffMs = Math.min(backoffMs * 2, maxMs);
      }
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const fresh = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    this.relistCount++;
    do {
      // Each page is bounded in time: a list the server never answers is a failure, not a wait forever.
      const listTimeoutMs = this.options.listTimeoutMs ?? 60_000;
      const bound = deadlineSignal(
        this.clock,
        listTimeoutMs,
        [signal],
        `list of ${this.options.type.resource} not answered within ${listTimeoutMs} ms`,
      );
      let page: ObjectList<T>;
      try {
        page = await this.options.api.list<T>(this.options.type, this.options.namespace, {
          limit: 500,
          continue: continueToken,
          labelSelector: this.options.labelSelector,
          signal: bound.signal,
        });
      } catch (error) {
        if (bound.signal.aborted && !signal.aborted) throw bound.signal.reason;
        throw error;
      } finally {
        bound.dispose();
      }
      const transform = this.options.transform;
      for (const item of page.items) fresh.set(objectKey(item), transform ? transform(item) : item);
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (continueToken);
    if (signal.aborted) return;
    // Replace the cache, telling handlers only about real differences.
    for (const [key, previous] of this.store) {
      if (!fresh.has(key)) {
        this.store.delete(key);
        this.reindex(key, previous, undefined);
        this.changed();
        for (const h of this.handlers) h.onDelete?.(previous);
      }
    }
    for (const [key, object] of fresh) this.apply(key, object);
    this.resourceVersion = resourceVersion ?? '';
    this.lastListAt = this.clock.now();
    this.succeeded();
    if (this.syncedAt === undefined) {
      this.syncedAt = this.clock.wallNow();
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  private apply(key: string, object: T): void {
    const previous = this.store.get(key);
    if (previous?.metadata?.resourceVersion === object.metadata?.resourceVersion && previous) return;
    if (previous && this.options.sameContent?.(previous, object)) return;
    this.store.set(key, object);
    this.reindex(key, previous, object);
    this.changed();
    for (const h of this.handlers) {
      if (previous) h.onUpdate?.(previous, object);
      else h.onAdd?.(object);
    }
  }

  private reindex(key: string, previous: T | undefined, next: T | undefined): void {
    for (const index of this.indexes.values()) index.update(key, previous, next);
  }

  private changed(): void {
    this.changeCount++;
  }

  private async watch(signal: AbortSignal): Promise<void> {
    const timeoutSeconds = Math.round(
      (this.options.watchTimeoutSeconds ?? 300) * (0.9 + Math.random() * 0.2),
    );
    // A watch that says nothing (no event, no bookmark) for this long is stuck, e.g. on a half-open
    // connection: abandon it and start another from the same resourceVersion.
    const idleMs = this.options.watchIdleMs ?? (timeoutSeconds + 30) * 1000;
    const watch = new AbortController();
    // Touched per event: a timer or signal per event would cost more than the event (a busy pod watch).
    const idle = idleWatchdog(this.clock, idleMs, () => watch.abort(new Error('idle watch')));
    const onAbort = (): void => watch.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await this.options.api
        .watch<T>(
          this.options.type,
          this.options.namespace,
          {
            resourceVersion: this.resourceVersion ?? '',
            timeoutSeconds,
            signal: watch.signal,
            allowWatchBookmarks: true,
            labelSelector: this.options.labelSelector,
          },
          (event) => {
            idle.touch();
            this.succeeded();
            const rv = event.object.metadata?.resourceVersion;
            if (event.type === 'BOOKMARK') {
              if (rv) this.resourceVersion = rv;
              return;
            }
            const key = objectKey(event.object);
            if (event.type === 'DELETED') {
              const previous = this.store.get(key);
              this.store.delete(key);
              this.reindex(key, previous, undefined);
              this.changed();
              for (const h of this.handlers) h.onDelete?.(previous ?? event.object);
            } else {
              const transform = this.options.transform;
              this.apply(key, transform ? transform(event.object) : event.object);
            }
            if (rv) this.resourceVersion = rv;
          },
        )
        .catch((error: unknown) => {
          if (!watch.signal.aborted) throw error;
        });
      if (watch.signal.aborted && !signal.aborted) {
        this.report(new Error(`watch silent for ${Math.round(idleMs / 1000)} s`), 'restarting a stuck watch');
      }
    } finally {
      idle.dispose();
      signal.removeEventListener('abort', onAbort);
    }
  }
}
