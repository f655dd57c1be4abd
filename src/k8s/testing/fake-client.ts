import { randomBytes, randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../../lib/clock.js';
import type {
  CallOptions,
  CreateOptions,
  DeleteOptions,
  KubeClient,
  ListOptions,
  Named,
  ObjectList,
  PatchOptions,
  PatchType,
  WatchEvent,
  WatchOptions,
} from '../client.js';
import { statusError, WatchError } from '../errors.js';
import { resourcePath, resources, type ResourceRef, type ResourceType } from '../paths.js';
import { applyJsonPatch, applyMergePatch } from './patch.js';
import { fieldMatcher, labelMatcher, type Matcher } from './selectors.js';

export type Verb = 'get' | 'list' | 'create' | 'replace' | 'patch' | 'delete' | 'watch';

const writeVerbs: readonly Verb[] = ['create', 'replace', 'patch', 'delete'];

/** One call made to the fake, as a test asserts on it ("no write happened", "the renew was aborted"). */
export interface CallRecord {
  readonly verb: Verb;
  readonly group: string;
  /** The plural resource, e.g. `pods`, `leases`. */
  readonly resource: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
  /** On the fake's clock (`now()`), when the call was made. */
  readonly at: number;
  /** `pending` while in flight; `aborted` when its signal ended it. */
  outcome: 'pending' | 'ok' | 'error' | 'aborted';
  error?: unknown;
}

/** Which calls a fault applies to; every field given must match. */
export interface CallMatch {
  readonly verb?: Verb | readonly Verb[];
  /** The plural resource, e.g. `leases`. */
  readonly resource?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

/**
 * What happens to the next `times` matching calls (default 1; `Infinity` for all): fail with `error`,
 * `hang` until their signal aborts (forever without one), or answer after `delayMs` on the fake's clock.
 * With `afterApply`, a write hanging or delayed is applied by the "server" first: only the answer is late
 * (a request that reached etcd but whose response never came back).
 */
export type Fault = CallMatch & {
  readonly times?: number;
  readonly afterApply?: boolean;
} & (
    | { readonly error: Error; readonly hang?: undefined; readonly delayMs?: undefined }
    | { readonly hang: true; readonly error?: undefined; readonly delayMs?: undefined }
    | { readonly delayMs: number; readonly error?: undefined; readonly hang?: undefined }
  );

export interface FaultHandle {
  /** How many calls this fault has hit so far. */
  readonly hits: number;
  remove(): void;
}

/** Decides a pod eviction: return an error (e.g. {@link tooManyRequests}) to refuse it, as a PDB would. */
export type EvictionHook = (pod: unknown, eviction: unknown) => Error | undefined;

export interface FakeKubeClientOptions {
  /** The clock for `delayMs` faults, watch timeouts and recorded call times (default: the system's). */
  readonly clock?: Clock;
  /** How many change events are kept for watches from a resourceVersion (default 1000); older is 410. */
  readonly retainedEvents?: number;
  /** Resources that have a `status` subresource, in addition to the built-in ones that do. */
  readonly statusSubresources?: readonly ResourceType[];
}

interface Stored {
  readonly type: ResourceType;
  object: KubeObjectJson;
}

interface KubeObjectJson {
  metadata: {
    name?: string | undefined;
    generateName?: string | undefined;
    namespace?: string | undefined;
    uid?: string | undefined;
    resourceVersion?: string | undefined;
    generation?: number | undefined;
    creationTimestamp?: string | undefined;
    deletionTimestamp?: string | undefined;
    deletionGracePeriodSeconds?: number | undefined;
    finalizers?: string[] | undefined;
    labels?: Record<string, string> | undefined;
  };
  status?: unknown;
  [key: string]: unknown;
}

interface Change {
  readonly rv: number;
  readonly typeKey: string;
  readonly kind: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: KubeObjectJson;
  readonly previous: KubeObjectJson | undefined;
}

interface Watcher {
  readonly typeKey: string;
  readonly namespace: string | undefined;
  readonly matches: Matcher;
  readonly queue: WatchEvent<unknown>[];
  wake(): void;
  end(error?: Error): void;
}

/** Built-in resources whose status is written through `/status` only. */
const builtInStatus: readonly ResourceType[] = [
  resources.pods,
  resources.nodes,
  resources.namespaces,
  resources.services,
  resources.persistentVolumeClaims,
  resources.persistentVolumes,
  resources.deployments,
  resources.replicaSets,
  resources.statefulSets,
  resources.podDisruptionBudgets,
  resources.volumeAttachments,
  resources.customResourceDefinitions,
];

/** Groups served by the API server itself (strategic merge patch exists only for these). */
const builtInGroups = new Set([
  '',
  'apps',
  'policy',
  'storage.k8s.io',
  'coordination.k8s.io',
  'apiextensions.k8s.io',
  'admissionregistration.k8s.io',
  'batch',
  'rbac.authorization.k8s.io',
]);

const typeKeyOf = (type: ResourceType): string => `${type.group}/${type.resource}`;
const qualified = (type: ResourceType): string =>
  type.group ? `${type.resource}.${type.group}` : type.resource;
const copy = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

/** The error a `429 TooManyRequests` eviction refusal carries (what a PodDisruptionBudget answers). */
export function tooManyRequests(
  message = "Cannot evict pod as it would violate the pod's disruption budget.",
) {
  return statusError(429, 'TooManyRequests', message);
}

/** What an aborted call rejects with: an `AbortError` whose cause is the signal's reason. */
export function abortError(signal: AbortSignal | undefined): Error {
  const error = new Error('The operation was aborted', { cause: signal?.reason });
  error.name = 'AbortError';
  return error;
}

/**
 * An in-memory API server behind the {@link KubeClient} interface, for unit tests, in the manner of
 * client-go's fake clientset and object tracker, but stricter where it matters to controllers: objects are
 * plain JSON, deep-copied in and out; one global resourceVersion counter; uid and creationTimestamp on
 * create; optimistic concurrency (a stale `metadata.resourceVersion` on replace or patch is 409
 * Conflict); finalizers and deletionTimestamp; `status` subresources; pod eviction; label and field
 * selectors; list paging; watches from a resourceVersion with 410 Gone beyond a retained window. Faults
 * can be injected per call (fail, hang until aborted, delay on a FakeClock) and every call is recorded.
 *
 * Deliberate simplifications: list pages are cut from the current state, not a snapshot at the first
 * page's resourceVersion; strategic merge patch replaces lists instead of merging them by key; no garbage
 * collection (owner references, propagation policies) and no admission or schema validation.
 */
export class FakeKubeClient implements KubeClient {
  /** Every call made, in order. */
  readonly calls: CallRecord[] = [];
  private readonly clock: Clock;
  private readonly store = new Map<string, Stored>();
  private readonly history: Change[] = [];
  private readonly retainedEvents: number;
  /** Changes at or before this resourceVersion are no longer kept. */
  private compactedThrough = 0;
  private rv = 0;
  private readonly faults: { fault: Fault; left: number; hits: number }[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly statusTypes = new Set<string>();
  private readonly subresourceHandlers = new Map<string, (parent: unknown, body: unknown) => unknown>();
  /** Decides pod evictions; without one, an eviction deletes the pod (finalizers honoured). */
  evictionHook: EvictionHook | undefined;

  constructor(options: FakeKubeClientOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.retainedEvents = options.retainedEvents ?? 1000;
    for (const type of [...builtInStatus, ...(options.statusSubresources ?? [])]) {
      this.statusTypes.add(typeKeyOf(type));
    }
  }

  // --- Test controls -------------------------------------------------------------------------------

  /** Stores objects as they are (a fixture, with status), without API rules or a call record. */
  seed(type: ResourceType, ...objects: unknown[]): void {
    for (const input of objects) {
      const object = copy(input) as KubeObjectJson;
      object.metadata.uid ??= randomUUID();
      object.metadata.creationTimestamp ??= this.timestamp();
      if (!type.namespaced) delete object.metadata.namespace;
      const key = this.key(type, object.metadata.namespace, object.metadata.name ?? '');
      const previous = this.store.get(key)?.object;
      this.commit(type, key, object, previous ? 'MODIFIED' : 'ADDED', previous);
    }
  }

  /** The stored object (a copy), or undefined. */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- a typed read, as get<T>
  object<T = unknown>(type: ResourceType, name: string, namespace?: string): T | undefined {
    return copy(this.store.get(this.key(type, namespace, name))?.object) as T | undefined;
  }

  /** Every stored object of a type (copies), optionally in one namespace, in name order. */
  objects<T = unknown>(type: ResourceType, namespace?: string): T[] {
    return this.itemsOf(type, namespace).map((s) => copy(s.object) as T);
  }

  /** The current (global) resourceVersion. */
  get resourceVersion(): string {
    return String(this.rv);
  }

  /** Makes the next matching calls fail, hang or be delayed; see {@link Fault}. */
  inject(fault: Fault): FaultHandle {
    const entry = { fault, left: fault.times ?? 1, hits: 0 };
    this.faults.push(entry);
    return {
      get hits() {
        return entry.hits;
      },
      remove: () => {
        const index = this.faults.indexOf(entry);
        if (index >= 0) this.faults.splice(index, 1);
      },
    };
  }

  /** Removes every injected fault. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  /** The recorded calls that match. */
  callsTo(match: CallMatch = {}): CallRecord[] {
    return this.calls.filter((c) => matches(match, c));
  }

  /** The recorded writes (create, replace, patch, delete, including subresources such as eviction). */
  writes(match: Omit<CallMatch, 'verb'> = {}): CallRecord[] {
    return this.callsTo({ ...match, verb: writeVerbs });
  }

  /** Forgets the recorded calls (e.g. after a test's setup). */
  clearCalls(): void {
    this.calls.length = 0;
  }

  /** Forgets every kept change: a watch from any earlier resourceVersion now gets 410 Gone. */
  compact(): void {
    this.history.length = 0;
    this.compactedThrough = this.rv;
  }

  /** Ends the open watches of a type (or all) as the server does at its timeout: they resolve. */
  endWatches(type?: ResourceType): void {
    for (const w of this.watchers) if (!type || w.typeKey === typeKeyOf(type)) w.end();
  }

  /** Sends an ERROR event to the open watches of a type: they reject with a {@link WatchError}. */
  failWatches(
    type: ResourceType,
    code = 410,
    reason = 'Expired',
    message = 'too old resource version',
  ): void {
    for (const w of this.watchers) {
      if (w.typeKey === typeKeyOf(type)) w.end(new WatchError(code, reason, message));
    }
  }

  /** Sends a BOOKMARK with the current resourceVersion to the open watches of a type. */
  bookmark(type: ResourceType): void {
    for (const w of this.watchers) {
      if (w.typeKey !== typeKeyOf(type)) continue;
      w.queue.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: this.resourceVersion } } });
      w.wake();
    }
  }

  /** How many watches are open (of a type, or in all). */
  openWatches(type?: ResourceType): number {
    return [...this.watchers].filter((w) => !type || w.typeKey === typeKeyOf(type)).length;
  }

  /** Answers `create` on a subresource other than pod eviction (e.g. a ServiceAccount's `token`). */
  handleSubresource(
    type: ResourceType,
    subresource: string,
    handler: (parent: unknown, body: unknown) => unknown,
  ): void {
    this.subresourceHandlers.set(`${typeKeyOf(type)}/${subresource}`, handler);
  }

  // --- KubeClient ----------------------------------------------------------------------------------

  get<T>(type: ResourceType, ref: Named, options: CallOptions = {}): Promise<T> {
    return this.call('get', type, ref, options.signal, () => {
      resourcePath(type, ref);
      return this.existing(type, ref).object as T;
    });
  }

  list<T>(type: ResourceType, namespace?: string, options: ListOptions = {}): Promise<ObjectList<T>> {
    return this.call('list', type, { namespace }, options.signal, () => {
      resourcePath(type, { namespace });
      const selected = this.selector(type, options);
      let items = this.itemsOf(type, namespace).filter((s) => selected(s.object));
      let listRv = this.rv;
      if (options.continue) {
        const token = decodeContinue(options.continue);
        if (token.rv < this.compactedThrough) {
          throw statusError(
            410,
            'Expired',
            'The provided continue parameter is too old to display a consistent list result.',
          );
        }
        listRv = token.rv;
        items = items.filter((s) => this.sortKey(s.object) > token.after);
      }
      const limit = options.limit && options.limit > 0 ? options.limit : Infinity;
      const page = items.slice(0, limit);
      const last = page[page.length - 1];
      const more = items.length > page.length && last !== undefined;
      return {
        metadata: {
          resourceVersion: String(listRv),
          ...(more ? { continue: encodeContinue({ rv: listRv, after: this.sortKey(last.object) }) } : {}),
        },
        items: page.map((s) => s.object as T),
      };
    });
  }

  create<T>(type: ResourceType, body: T, namespace?: string, options: CreateOptions = {}): Promise<T> {
    const sub = options.subresourceOf;
    if (sub) {
      return this.call(
        'create',
        type,
        sub,
        options.signal,
        () => this.createSubresource(type, sub, body) as T,
      );
    }
    const input = copy(body) as KubeObjectJson | undefined;
    const name = (input as { metadata?: { name?: string } } | undefined)?.metadata?.name;
    return this.call('create', type, { namespace, name }, options.signal, () => {
      resourcePath(type, { namespace });
      if (type.namespaced && !namespace) {
        throw statusError(
          405,
          'MethodNotAllowed',
          `the server does not allow this method on ${qualified(type)} without a namespace`,
        );
      }
      if (!input?.metadata) throw statusError(422, 'Invalid', `${qualified(type)}: metadata is required`);
      const meta = input.metadata;
      if (meta.namespace && type.namespaced && meta.namespace !== namespace) {
        throw statusError(
          400,
          'BadRequest',
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      if (meta.resourceVersion) {
        throw statusError(400, 'BadRequest', 'resourceVersion should not be set on objects to be created');
      }
      if (!meta.name) {
        if (!meta.generateName)
          throw statusError(422, 'Invalid', `${qualified(type)}: name or generateName is required`);
        meta.name = meta.generateName + randomBytes(4).toString('hex').slice(0, 5);
      }
      if (type.namespaced) meta.namespace = namespace;
      const key = this.key(type, namespace, meta.name);
      if (this.store.has(key)) {
        throw statusError(409, 'AlreadyExists', `${qualified(type)} "${meta.name}" already exists`);
      }
      meta.uid = randomUUID();
      meta.creationTimestamp = this.timestamp();
      meta.generation = 1;
      delete meta.deletionTimestamp;
      if (this.statusTypes.has(typeKeyOf(type))) delete input.status;
      return this.commit(type, key, input, 'ADDED', undefined) as T;
    });
  }

  replace<T>(type: ResourceType, ref: Named, body: T, options: CallOptions = {}): Promise<T> {
    const input = copy(body) as KubeObjectJson | undefined;
    return this.call('replace', type, ref, options.signal, () => {
      resourcePath(type, ref);
      if (ref.subresource && ref.subresource !== 'status') throw notFoundPath(type, ref);
      const current = this.existing(type, ref);
      if (!input?.metadata) throw statusError(422, 'Invalid', `${qualified(type)}: metadata is required`);
      if (input.metadata.name !== undefined && input.metadata.name !== ref.name) {
        throw statusError(
          400,
          'BadRequest',
          `the name of the object (${input.metadata.name}) does not match the name on the URL (${ref.name})`,
        );
      }
      this.checkPreconditions(type, ref, current.object, input.metadata.resourceVersion, input.metadata.uid);
      return this.update(type, ref, current.object, input) as T;
    });
  }

  patch<T>(
    type: ResourceType,
    ref: Named,
    patch: unknown,
    patchType: PatchType = 'merge',
    options: PatchOptions = {},
  ): Promise<T> {
    const body = copy(patch);
    return this.call('patch', type, ref, options.signal, () => {
      resourcePath(type, ref);
      if (ref.subresource && ref.subresource !== 'status') throw notFoundPath(type, ref);
      const current = this.existing(type, ref);
      let patched: KubeObjectJson;
      switch (patchType) {
        case 'merge':
          patched = applyMergePatch(current.object, body) as KubeObjectJson;
          break;
        case 'json':
          patched = applyJsonPatch(current.object, body) as KubeObjectJson;
          break;
        case 'strategic':
          if (!builtInGroups.has(type.group)) {
            throw statusError(
              415,
              'UnsupportedMediaType',
              `strategic merge patch is not supported for ${qualified(type)}`,
            );
          }
          patched = applyMergePatch(current.object, body) as KubeObjectJson;
          break;
        case 'apply':
          throw statusError(
            415,
            'UnsupportedMediaType',
            'the fake client does not implement server-side apply',
          );
      }
      if (typeof (patched as Partial<KubeObjectJson>).metadata !== 'object') {
        throw statusError(422, 'Invalid', `${qualified(type)}: metadata is required`);
      }
      const requested = (body as { metadata?: { resourceVersion?: string; uid?: string } } | null)?.metadata;
      // A resourceVersion in a patch is a precondition, as on the API server.
      this.checkPreconditions(
        type,
        ref,
        current.object,
        patchType === 'json' ? undefined : requested?.resourceVersion,
        patched.metadata.uid,
      );
      return this.update(type, ref, current.object, patched) as T;
    });
  }

  delete(type: ResourceType, ref: Named, options: DeleteOptions = {}): Promise<unknown> {
    return this.call('delete', type, ref, options.signal, () => {
      resourcePath(type, ref);
      const current = this.existing(type, ref);
      if (options.uid !== undefined && options.uid !== current.object.metadata.uid) {
        throw statusError(
          409,
          'Conflict',
          `Precondition failed: UID in precondition: ${options.uid}, UID in object meta: ${current.object.metadata.uid ?? ''}`,
        );
      }
      return this.remove(type, ref, current.object);
    });
  }

  async watch<T>(
    type: ResourceType,
    namespace: string | undefined,
    options: WatchOptions,
    onEvent: (event: WatchEvent<T>) => void,
  ): Promise<void> {
    const signal = options.signal;
    const record = this.record('watch', type, { namespace });
    let initial: WatchEvent<unknown>[];
    let matcher: Matcher = () => true;
    try {
      await this.admit(record, signal);
      resourcePath(type, { namespace });
      matcher = this.selector(type, options);
      const rv = options.resourceVersion;
      if (rv && rv !== '0') {
        const from = Number(rv);
        if (!Number.isInteger(from) || from < 0) {
          throw statusError(400, 'BadRequest', `invalid resourceVersion "${rv.slice(0, 50)}"`);
        }
        if (from < this.compactedThrough) {
          throw new WatchError(
            410,
            'Expired',
            `too old resource version: ${from} (${this.compactedThrough})`,
          );
        }
        initial = this.history
          .filter((c) => c.rv > from && c.typeKey === typeKeyOf(type))
          .flatMap((c) => this.eventFor(c, namespace, matcher));
      } else {
        initial = this.itemsOf(type, namespace)
          .filter((s) => matcher(s.object))
          .map((s) => ({ type: 'ADDED', object: copy(s.object) }));
      }
    } catch (error) {
      record.outcome = signal?.aborted ? 'aborted' : 'error';
      record.error = error;
      throw error;
    }
    const ended = new AbortController();
    // An object, not two lets: the flags change in callbacks, which narrowing cannot see.
    const state: { done: boolean; failure: Error | undefined } = { done: false, failure: undefined };
    let wake: () => void = () => undefined;
    const watcher: Watcher = {
      typeKey: typeKeyOf(type),
      namespace,
      matches: matcher,
      queue: initial,
      wake: () => wake(),
      end: (error) => {
        if (state.done) return;
        state.done = true;
        state.failure = error;
        wake();
      },
    };
    const onAbort = (): void => watcher.end(abortError(signal));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    if (options.timeoutSeconds) {
      this.clock.sleep(options.timeoutSeconds * 1000, ended.signal).then(
        () => watcher.end(),
        () => undefined,
      );
    }
    this.watchers.add(watcher);
    try {
      for (;;) {
        while (watcher.queue.length > 0 && !state.done) {
          const event = watcher.queue.shift();
          if (event) onEvent(event as WatchEvent<T>);
        }
        if (state.done) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (watcher.queue.length > 0 || state.done) resolve();
        });
        wake = () => undefined;
      }
      if (state.failure !== undefined) throw state.failure;
      record.outcome = 'ok';
    } catch (error) {
      record.outcome = signal?.aborted ? 'aborted' : 'error';
      record.error = error;
      throw error;
    } finally {
      this.watchers.delete(watcher);
      ended.abort();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  // --- The "server" ----------------------------------------------------------------------------------

  private record(verb: Verb, type: ResourceType, ref: ResourceRef): CallRecord {
    const record: CallRecord = {
      verb,
      group: type.group,
      resource: type.resource,
      namespace: ref.namespace,
      name: ref.name,
      subresource: ref.subresource,
      at: this.clock.now(),
      outcome: 'pending',
    };
    this.calls.push(record);
    return record;
  }

  /** What happens before the server looks at a call: the wire, its signal, an injected fault. */
  private async admit(record: CallRecord, signal: AbortSignal | undefined): Promise<Fault | undefined> {
    // Nothing answers in the same tick, as over a socket.
    await Promise.resolve();
    if (signal?.aborted) throw abortError(signal);
    const fault = this.takeFault(record);
    if (fault?.error !== undefined) throw fault.error;
    if (fault && !fault.afterApply) await this.stall(fault, signal);
    return fault;
  }

  private async call<R>(
    verb: Verb,
    type: ResourceType,
    ref: ResourceRef,
    signal: AbortSignal | undefined,
    serve: () => R,
  ): Promise<R> {
    const record = this.record(verb, type, ref);
    try {
      const fault = await this.admit(record, signal);
      const result = copy(serve());
      if (fault?.afterApply) await this.stall(fault, signal);
      record.outcome = 'ok';
      return result;
    } catch (error) {
      record.outcome = signal?.aborted ? 'aborted' : 'error';
      record.error = error;
      throw error;
    }
  }

  private takeFault(record: CallRecord): Fault | undefined {
    const entry = this.faults.find((f) => f.left > 0 && matches(f.fault, record));
    if (!entry) return undefined;
    entry.left--;
    entry.hits++;
    if (entry.left <= 0) this.faults.splice(this.faults.indexOf(entry), 1);
    return entry.fault;
  }

  private async stall(fault: Fault, signal: AbortSignal | undefined): Promise<void> {
    if (fault.hang) {
      await new Promise<never>((_, reject) => {
        if (signal?.aborted) reject(abortError(signal));
        signal?.addEventListener('abort', () => reject(abortError(signal)), { once: true });
      });
    }
    if (fault.delayMs !== undefined) {
      await this.clock.sleep(fault.delayMs, signal).catch(() => {
        throw abortError(signal);
      });
    }
  }

  private key(type: ResourceType, namespace: string | undefined, name: string): string {
    return `${typeKeyOf(type)}/${type.namespaced ? (namespace ?? '') : ''}/${name}`;
  }

  private sortKey(object: KubeObjectJson): string {
    return `${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`;
  }

  private itemsOf(type: ResourceType, namespace: string | undefined): Stored[] {
    const typeKey = typeKeyOf(type);
    return [...this.store.values()]
      .filter(
        (s) => typeKeyOf(s.type) === typeKey && (!namespace || s.object.metadata.namespace === namespace),
      )
      .sort((a, b) => (this.sortKey(a.object) < this.sortKey(b.object) ? -1 : 1));
  }

  private selector(
    type: ResourceType,
    options: { labelSelector?: string | undefined; fieldSelector?: string | undefined },
  ): Matcher {
    const labels = labelMatcher(options.labelSelector);
    const fields = fieldMatcher(type.resource, options.fieldSelector);
    return (object) => labels(object) && fields(object);
  }

  private existing(type: ResourceType, ref: ResourceRef): Stored {
    const stored = this.store.get(this.key(type, ref.namespace, ref.name ?? ''));
    if (!stored) throw statusError(404, 'NotFound', `${qualified(type)} "${ref.name ?? ''}" not found`);
    return stored;
  }

  private timestamp(): string {
    return new Date(this.clock.wallNow()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  private checkPreconditions(
    type: ResourceType,
    ref: ResourceRef,
    current: KubeObjectJson,
    resourceVersion: string | undefined,
    uid: string | undefined,
  ): void {
    if (uid && uid !== current.metadata.uid) {
      throw statusError(
        409,
        'Conflict',
        `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid ?? ''}`,
      );
    }
    if (resourceVersion && resourceVersion !== current.metadata.resourceVersion) {
      throw statusError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${qualified(type)} "${ref.name ?? ''}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
  }

  /** An update of the main resource or of `/status`, with what the server keeps to itself. */
  private update(
    type: ResourceType,
    ref: ResourceRef,
    current: KubeObjectJson,
    input: KubeObjectJson,
  ): KubeObjectJson {
    const hasStatus = this.statusTypes.has(typeKeyOf(type));
    let next: KubeObjectJson;
    if (ref.subresource === 'status') {
      if (!hasStatus) throw notFoundPath(type, ref);
      // Only status changes through /status.
      next = { ...copy(current), status: input.status };
      if (input.status === undefined) delete next.status;
    } else {
      next = input;
      if (hasStatus) {
        if (current.status === undefined) delete next.status;
        else next.status = copy(current.status);
      }
      // Set by the server only (deletionTimestamp cannot be set or cleared by an update).
      next.metadata = {
        ...next.metadata,
        uid: current.metadata.uid,
        creationTimestamp: current.metadata.creationTimestamp,
        ...(current.metadata.namespace !== undefined ? { namespace: current.metadata.namespace } : {}),
        name: current.metadata.name,
      };
      if (current.metadata.deletionTimestamp)
        next.metadata.deletionTimestamp = current.metadata.deletionTimestamp;
      else delete next.metadata.deletionTimestamp;
      if (current.metadata.deletionGracePeriodSeconds !== undefined) {
        next.metadata.deletionGracePeriodSeconds = current.metadata.deletionGracePeriodSeconds;
      }
    }
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    next.metadata.generation = current.metadata.generation ?? 1;
    if (JSON.stringify(specOf(next)) !== JSON.stringify(specOf(current))) next.metadata.generation += 1;
    if (JSON.stringify(next) === JSON.stringify(current)) return current;
    const key = this.key(type, current.metadata.namespace, current.metadata.name ?? '');
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) {
      this.store.delete(key);
      return this.commit(type, key, next, 'DELETED', current);
    }
    return this.commit(type, key, next, 'MODIFIED', current);
  }

  private remove(type: ResourceType, ref: ResourceRef, current: KubeObjectJson): KubeObjectJson {
    const key = this.key(type, ref.namespace, ref.name ?? '');
    if ((current.metadata.finalizers ?? []).length > 0) {
      // Only marked: whoever owns the finalizers finishes the deletion by removing them.
      if (current.metadata.deletionTimestamp) return current;
      const next = copy(current);
      next.metadata.deletionTimestamp = this.timestamp();
      next.metadata.deletionGracePeriodSeconds = 0;
      return this.commit(type, key, next, 'MODIFIED', current);
    }
    this.store.delete(key);
    return this.commit(type, key, copy(current), 'DELETED', current);
  }

  private createSubresource(type: ResourceType, ref: ResourceRef, body: unknown): unknown {
    resourcePath(type, ref);
    const handler = this.subresourceHandlers.get(`${typeKeyOf(type)}/${ref.subresource ?? ''}`);
    const isEviction = typeKeyOf(type) === typeKeyOf(resources.pods) && ref.subresource === 'eviction';
    if (!handler && !isEviction) throw notFoundPath(type, ref);
    const parent = this.existing(type, ref);
    if (handler) return handler(copy(parent.object), copy(body));
    const refusal = this.evictionHook?.(copy(parent.object), copy(body));
    if (refusal !== undefined) throw refusal;
    this.remove(type, ref, parent.object);
    return { kind: 'Status', apiVersion: 'v1', status: 'Success', code: 201 };
  }

  /** Stores (or deletes) an object at a new resourceVersion and tells the watches. */
  private commit(
    type: ResourceType,
    key: string,
    object: KubeObjectJson,
    kind: Change['kind'],
    previous: KubeObjectJson | undefined,
  ): KubeObjectJson {
    this.rv += 1;
    object.metadata.resourceVersion = String(this.rv);
    if (kind !== 'DELETED') this.store.set(key, { type, object });
    const change: Change = {
      rv: this.rv,
      typeKey: typeKeyOf(type),
      kind,
      object: copy(object),
      previous: copy(previous),
    };
    this.history.push(change);
    while (this.history.length > this.retainedEvents) {
      const dropped = this.history.shift();
      if (dropped) this.compactedThrough = dropped.rv;
    }
    for (const watcher of this.watchers) {
      if (watcher.typeKey !== change.typeKey) continue;
      const events = this.eventFor(change, watcher.namespace, watcher.matches);
      if (events.length === 0) continue;
      watcher.queue.push(...events);
      watcher.wake();
    }
    return object;
  }

  /** What one change looks like to a watch with a namespace and selectors (an object leaving the selection is DELETED). */
  private eventFor(change: Change, namespace: string | undefined, selected: Matcher): WatchEvent<unknown>[] {
    const inScope = (o: KubeObjectJson | undefined): boolean =>
      o !== undefined && (!namespace || o.metadata.namespace === namespace) && selected(o);
    const now = inScope(change.object);
    const before = inScope(change.previous);
    const object = copy(change.object);
    if (change.kind === 'DELETED') return before || now ? [{ type: 'DELETED', object }] : [];
    if (now && before) return [{ type: 'MODIFIED', object }];
    if (now) return [{ type: 'ADDED', object }];
    if (before) return [{ type: 'DELETED', object }];
    return [];
  }
}

function specOf(object: KubeObjectJson): unknown {
  const { metadata: _metadata, status: _status, ...rest } = object;
  return rest;
}

function matches(match: CallMatch, call: CallRecord): boolean {
  if (match.verb !== undefined) {
    const verbs: readonly Verb[] = typeof match.verb === 'string' ? [match.verb] : match.verb;
    if (!verbs.includes(call.verb)) return false;
  }
  if (match.resource !== undefined && match.resource !== call.resource) return false;
  if (match.namespace !== undefined && match.namespace !== call.namespace) return false;
  if (match.name !== undefined && match.name !== call.name) return false;
  if (match.subresource !== undefined && match.subresource !== call.subresource) return false;
  return true;
}

function notFoundPath(type: ResourceType, ref: ResourceRef): Error {
  return statusError(
    404,
    'NotFound',
    `the server could not find the requested resource (${qualified(type)}/${ref.subresource ?? ''})`,
  );
}

function encodeContinue(token: { rv: number; after: string }): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeContinue(value: string): { rv: number; after: string } {
  try {
    const token = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as {
      rv?: unknown;
      after?: unknown;
    };
    if (typeof token.rv === 'number' && typeof token.after === 'string')
      return { rv: token.rv, after: token.after };
  } catch {
    // falls through to the 400 below
  }
  throw statusError(400, 'BadRequest', 'invalid continue token');
}
