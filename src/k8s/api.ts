import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { KubeConfig } from './kubeconfig.js';
import { KubeApiError, KubeTimeoutError } from './errors.js';
import { resourcePath, type ResourceType } from './paths.js';
import { TokenBucket } from './rate-limit.js';
import { readWatchStream } from './watch.js';

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
} from './client.js';

export type { ListOptions, ObjectList, PatchType } from './client.js';

const patchContentTypes: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface RequestOptions {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly query?: Record<string, string | number | boolean | undefined>;
  readonly body?: unknown;
  readonly contentType?: string;
  /** More request headers (e.g. a token for the service behind a proxy path). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal | undefined;
  /** Overrides the client's per-request deadline (ms); 0 for none. */
  readonly timeoutMs?: number | undefined;
}

export interface KubeApiOptions {
  /** Client-side pacing (watches are long-lived and count once); without it, requests go as fast as made. */
  readonly qps?: number;
  readonly burst?: number;
  /**
   * Every request but a watch must be answered (body included) within this long (default 30 s), so a
   * stalled connection cannot hold a caller forever; watches have their own idle watchdog.
   */
  readonly requestTimeoutMs?: number;
  /** An idle pooled connection is closed after this long (default 90 s). */
  readonly idleSocketTimeoutMs?: number;
}

export const defaultRequestTimeoutMs = 30_000;

/**
 * A Kubernetes REST client that speaks plain JSON: objects come back exactly as the API server sent them
 * (timestamps stay strings), and go out as given. Authentication and TLS come from the kubeconfig through
 * the client library, so every auth method it supports works here.
 */
export class KubeApi implements KubeClient {
  readonly server: string;
  private agent: https.Agent | undefined;

  private readonly limiter: TokenBucket | undefined;
  readonly requestTimeoutMs: number;

  constructor(
    readonly config: KubeConfig,
    private readonly options: KubeApiOptions = {},
  ) {
    this.limiter =
      options.qps !== undefined
        ? new TokenBucket(options.qps, options.burst ?? Math.ceil(options.qps))
        : undefined;
    this.requestTimeoutMs = options.requestTimeoutMs ?? defaultRequestTimeoutMs;
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/+$/, '');
  }

  /** Sends one request and returns the parsed JSON body; a non-2xx answer throws {@link KubeApiError}. */
  async request<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const method = options.method ?? 'GET';
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    const deadline = timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined;
    const signal = deadline
      ? options.signal
        ? AbortSignal.any([options.signal, deadline])
        : deadline
      : options.signal;
    try {
      const response = await this.send(path, { ...options, signal });
      const text = await readBody(response);
      const status = response.statusCode ?? 0;
      if (status < 200 || status >= 300) throw apiError(status, method, path, text);
      return (text === '' ? undefined : JSON.parse(text)) as T;
    } catch (error) {
      if (deadline?.aborted && !options.signal?.aborted) {
        throw new KubeTimeoutError(`${method} ${path}: no answer within ${timeoutMs} ms`, { cause: error });
      }
      throw error;
    }
  }

  /** Opens a request and returns the raw response stream (for watches); a non-2xx answer throws. */
  async stream(path: string, options: RequestOptions = {}): Promise<IncomingMessage> {
    const response = await this.send(path, options);
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      throw apiError(status, options.method ?? 'GET', path, await readBody(response));
    }
    return response;
  }

  get<T>(type: ResourceType, ref: Named, options: CallOptions = {}): Promise<T> {
    return this.request<T>(resourcePath(type, ref), { signal: options.signal });
  }

  list<T>(type: ResourceType, namespace?: string, options: ListOptions = {}): Promise<ObjectList<T>> {
    return this.request<ObjectList<T>>(resourcePath(type, { namespace }), {
      query: {
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        limit: options.limit,
        continue: options.continue,
        resourceVersion: options.resourceVersion,
      },
      signal: options.signal,
    });
  }

  create<T>(type: ResourceType, body: T, namespace?: string, options: CreateOptions = {}): Promise<T> {
    const path = options.subresourceOf
      ? resourcePath(type, options.subresourceOf)
      : resourcePath(type, { namespace });
    return this.request<T>(path, { method: 'POST', body, signal: options.signal });
  }

  replace<T>(type: ResourceType, ref: Named, body: T, options: CallOptions = {}): Promise<T> {
    return this.request<T>(resourcePath(type, ref), { method: 'PUT', body, signal: options.signal });
  }

  patch<T>(
    type: ResourceType,
    ref: Named,
    patch: unknown,
    patchType: PatchType = 'merge',
    options: PatchOptions = {},
  ): Promise<T> {
    return this.request<T>(resourcePath(type, ref), {
      method: 'PATCH',
      body: patch,
      contentType: patchContentTypes[patchType],
      query: options.query ?? {},
      signal: options.signal,
    });
  }

  delete(type: ResourceType, ref: Named, options: DeleteOptions = {}): Promise<unknown> {
    const { signal, uid, ...rest } = options;
    return this.request(resourcePath(type, ref), {
      method: 'DELETE',
      body: {
        kind: 'DeleteOptions',
        apiVersion: 'v1',
        ...rest,
        ...(uid ? { preconditions: { uid } } : {}),
      },
      signal,
    });
  }

  async watch<T>(
    type: ResourceType,
    namespace: string | undefined,
    options: WatchOptions,
    onEvent: (event: WatchEvent<T>) => void,
  ): Promise<void> {
    const response = await this.stream(resourcePath(type, { namespace }), {
      query: {
        watch: true,
        resourceVersion: options.resourceVersion,
        allowWatchBookmarks: options.allowWatchBookmarks,
        timeoutSeconds: options.timeoutSeconds,
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
      },
      signal: options.signal,
    });
    await readWatchStream(response, onEvent);
  }

  /** Releases pooled connections; call when the client is no longer used. */
  /** The bearer token the kubeconfig authenticates with now, if it uses one (not a client certificate). */
  async bearerToken(): Promise<string | undefined> {
    const options: https.RequestOptions = {};
    await this.config.applyToHTTPSOptions(options);
    const header = (options.headers as Record<string, string> | undefined)?.Authorization;
    return /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
  }

  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  private async send(path: string, options: RequestOptions): Promise<IncomingMessage> {
    if (this.limiter) await untilAborted(this.limiter.take(), options.signal);
    options.signal?.throwIfAborted();
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const httpsOptions: https.RequestOptions = {};
    // Re-applied per request: bearer tokens can rotate (in-cluster tokens are re-read by the library).
    await this.config.applyToHTTPSOptions(httpsOptions);
    // Our own pool: keep-alive connections, closed when idle, with TCP keep-alive probes so that a dead
    // peer is noticed by the kernel too.
    this.agent ??= new https.Agent({
      keepAlive: true,
      keepAliveMsecs: 30_000,
      timeout: this.options.idleSocketTimeoutMs ?? 90_000,
      scheduling: 'lifo',
      ...pick(httpsOptions, ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername']),
    });
    const payload =
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body);
    const headers: Record<string, string> = {
      ...(httpsOptions.headers as Record<string, string> | undefined),
      ...options.headers,
      Accept: 'application/json',
    };
    if (payload !== undefined) {
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = https.request(
        url,
        {
          method: options.method ?? 'GET',
          agent: url.protocol === 'https:' ? this.agent : undefined,
          headers,
          ...(options.signal ? { signal: options.signal } : {}),
        },
        resolve,
      );
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
}

/** Waits for `work` unless `signal` aborts first (then rejects with the signal's reason). */
async function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason as Error);
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

function pick<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}

async function readBody(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function apiError(status: number, method: string, path: string, text: string): KubeApiError {
  let body: unknown = text;
  let reason = 'Unknown';
  let message = `${method} ${path}: HTTP ${status}`;
  try {
    const parsed = JSON.parse(text) as { reason?: string; message?: string };
    body = parsed;
    if (parsed.reason) reason = parsed.reason;
    if (parsed.message) message = `${method} ${path}: ${parsed.message}`;
  } catch {
    if (text) message = `${message}: ${text.slice(0, 500)}`;
  }
  return new KubeApiError(status, reason, message, body);
}
