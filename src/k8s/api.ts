import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { KubeConfig } from './kubeconfig.js';
import { KubeApiError } from './errors.js';
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
  readonly signal?: AbortSignal | undefined;
}

/**
 * A Kubernetes REST client that speaks plain JSON: objects come back exactly as the API server sent them
 * (timestamps stay strings), and go out as given. Authentication and TLS come from the kubeconfig through
 * the client library, so every auth method it supports works here.
 */
export class KubeApi implements KubeClient {
  readonly server: string;
  private agent: https.Agent | undefined;

  private readonly limiter: TokenBucket | undefined;

  /**
   * `rateLimit` paces requests client-side (watches are long-lived and count once); without it, requests
   * go as fast as they are made.
   */
  constructor(
    readonly config: KubeConfig,
    rateLimit?: { qps: number; burst: number },
  ) {
    this.limiter = rateLimit ? new TokenBucket(rateLimit.qps, rateLimit.burst) : undefined;
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/+$/, '');
  }

  /** Sends one request and returns the parsed JSON body; a non-2xx answer throws {@link KubeApiError}. */
  async request<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(path, options);
    const text = await readBody(response);
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) throw apiError(status, options.method ?? 'GET', path, text);
    return (text === '' ? undefined : JSON.parse(text)) as T;
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
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  private async send(path: string, options: RequestOptions): Promise<IncomingMessage> {
    await this.limiter?.take();
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const httpsOptions: https.RequestOptions = {};
    // Re-applied per request: bearer tokens can rotate (in-cluster tokens are re-read by the library).
    await this.config.applyToHTTPSOptions(httpsOptions);
    this.agent ??= new https.Agent({
      keepAlive: true,
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
