import type { ResourceRef, ResourceType } from './paths.js';

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

/** What every verb accepts: a signal that cancels the call in flight (e.g. a leadership term's). */
export interface CallOptions {
  readonly signal?: AbortSignal | undefined;
}

export interface ListOptions extends CallOptions {
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
  /** Page size; with `continue`, lists in pages as client-go's pager does. */
  readonly limit?: number | undefined;
  readonly continue?: string | undefined;
  readonly resourceVersion?: string | undefined;
}

export interface CreateOptions extends CallOptions {
  /** Create a subresource of an existing object instead (e.g. a pod's `eviction`, a ServiceAccount's `token`). */
  readonly subresourceOf?: ResourceRef | undefined;
}

export interface PatchOptions extends CallOptions {
  readonly query?: Record<string, string | number | boolean | undefined> | undefined;
}

export interface DeleteOptions extends CallOptions {
  readonly gracePeriodSeconds?: number | undefined;
  readonly propagationPolicy?: 'Foreground' | 'Background' | 'Orphan' | undefined;
  /** Delete only if the object still has this UID (a guard against deleting a namesake). */
  readonly uid?: string | undefined;
}

/** A list response: plain JSON, as the API server sent it. */
export interface ObjectList<T> {
  readonly metadata: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items: T[];
}

export type Named = ResourceRef & { name: string };

/**
 * The narrow Kubernetes client the controllers take: plain-JSON verbs on typed resources. `KubeApi` is the
 * real one; `src/k8s/testing/` holds an in-memory fake for unit tests. A non-2xx answer rejects with a
 * `KubeApiError`, so `isNotFound`/`isConflict` work on both.
 */
export interface KubeClient {
  get<T>(type: ResourceType, ref: Named, options?: CallOptions): Promise<T>;
  list<T>(type: ResourceType, namespace?: string, options?: ListOptions): Promise<ObjectList<T>>;
  create<T>(type: ResourceType, body: T, namespace?: string, options?: CreateOptions): Promise<T>;
  replace<T>(type: ResourceType, ref: Named, body: T, options?: CallOptions): Promise<T>;
  patch<T>(
    type: ResourceType,
    ref: Named,
    patch: unknown,
    patchType?: PatchType,
    options?: PatchOptions,
  ): Promise<T>;
  delete(type: ResourceType, ref: Named, options?: DeleteOptions): Promise<unknown>;
  /**
   * Watches a collection from `options.resourceVersion` and calls `onEvent` for each event, in order.
   * Resolves when the server ends the watch (its `timeoutSeconds`); rejects with a {@link WatchError} on
   * an ERROR event (410 Gone when the resourceVersion is older than the server keeps), with a
   * `KubeApiError` when the request is refused, and with an abort error when the signal aborts. A
   * watch has no request deadline: the caller keeps its own idle watchdog.
   */
  watch<T>(
    type: ResourceType,
    namespace: string | undefined,
    options: WatchOptions,
    onEvent: (event: WatchEvent<T>) => void,
  ): Promise<void>;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchEvent<T> {
  readonly type: WatchEventType;
  readonly object: T;
}

export interface WatchOptions extends CallOptions {
  readonly resourceVersion?: string | undefined;
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
  /** The server ends the watch after this long (it may end it sooner). */
  readonly timeoutSeconds?: number | undefined;
  readonly allowWatchBookmarks?: boolean | undefined;
}
