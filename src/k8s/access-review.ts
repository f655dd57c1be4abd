import { createHash } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import type { KubeClient } from './client.js';
import type { ResourceType } from './paths.js';

const tokenReviews: ResourceType = {
  group: 'authentication.k8s.io',
  version: 'v1',
  resource: 'tokenreviews',
  namespaced: false,
};
const subjectAccessReviews: ResourceType = {
  group: 'authorization.k8s.io',
  version: 'v1',
  resource: 'subjectaccessreviews',
  namespaced: false,
};

/** Who sent a request, as the API server authenticated its bearer token. */
export interface Caller {
  readonly user: string;
  readonly uid?: string;
  readonly groups: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

/** What a caller asks to do, in SubjectAccessReview terms. */
export type AccessRequest =
  | {
      readonly verb: string;
      readonly resource: string;
      readonly group?: string;
      readonly namespace?: string;
      readonly name?: string;
    }
  | { readonly verb: string; readonly path: string };

export interface AccessReviewerOptions {
  readonly client: Pick<KubeClient, 'create'>;
  readonly clock: Clock;
  /** How long an authenticated token is trusted without asking again (kube-rbac-proxy: 2 min). */
  readonly authenticatedTtlMs?: number;
  /** How long an allowed or denied answer is reused (allowed longer: a revoked grant still ends soon). */
  readonly allowedTtlMs?: number;
  readonly deniedTtlMs?: number;
  /** Entries per cache; beyond it the oldest are forgotten, so a flood of bogus tokens cannot grow memory. */
  readonly maxEntries?: number;
  /** Reviews in flight at once; more callers are refused until one answers (the API server is protected). */
  readonly maxInFlight?: number;
}

/** More reviews are waiting on the API server than {@link AccessReviewerOptions.maxInFlight}. */
export class ReviewsBusyError extends Error {
  constructor() {
    super('too many access reviews in flight');
    this.name = 'ReviewsBusyError';
  }
}

interface Entry<T> {
  readonly value: T;
  readonly until: number;
}

/** A map whose entries expire and whose size is bounded (oldest out first). */
class ExpiringCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  constructor(
    private readonly clock: Clock,
    private readonly maxEntries: number,
  ) {}

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T, ttlMs: number): void {
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, until: this.clock.now() + ttlMs });
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * Authenticates bearer tokens (TokenReview) and authorizes callers (SubjectAccessReview) against the API
 * server, as kube-rbac-proxy and controller-runtime's secure metrics serving do, with both answers cached
 * briefly so that a scraper or a storkctl user costs the API server one review per TTL. Tokens are kept
 * only as SHA-256 digests.
 */
export class AccessReviewer {
  private readonly callers: ExpiringCache<Caller | null>;
  private readonly decisions: ExpiringCache<boolean>;
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly authenticatedTtlMs: number;
  private readonly allowedTtlMs: number;
  private readonly deniedTtlMs: number;
  private readonly maxInFlight: number;

  constructor(private readonly options: AccessReviewerOptions) {
    const max = options.maxEntries ?? 1000;
    this.callers = new ExpiringCache(options.clock, max);
    this.decisions = new ExpiringCache(options.clock, max);
    this.authenticatedTtlMs = options.authenticatedTtlMs ?? 120_000;
    this.allowedTtlMs = options.allowedTtlMs ?? 60_000;
    this.deniedTtlMs = options.deniedTtlMs ?? 10_000;
    this.maxInFlight = options.maxInFlight ?? 16;
  }

  /** The caller a token belongs to, or undefined when the API server does not accept it. */
  async authenticate(token: string, signal?: AbortSignal): Promise<Caller | undefined> {
    const key = createHash('sha256').update(token).digest('hex');
    const known = this.callers.get(key);
    if (known !== undefined) return known ?? undefined;
    const caller = await this.once(`authn:${key}`, async () => {
      const review = await this.options.client.create<TokenReview>(
        tokenReviews,
        { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
        undefined,
        { signal },
      );
      const user = review.status?.user;
      const found: Caller | null =
        review.status?.authenticated === true && user?.username
          ? {
              user: user.username,
              ...(user.uid ? { uid: user.uid } : {}),
              groups: user.groups ?? [],
              ...(user.extra ? { extra: user.extra } : {}),
            }
          : null;
      this.callers.set(key, found, found ? this.authenticatedTtlMs : this.deniedTtlMs);
      return found;
    });
    return caller ?? undefined;
  }

  /** Whether the caller may do what it asks. */
  async authorize(caller: Caller, request: AccessRequest, signal?: AbortSignal): Promise<boolean> {
    const key = JSON.stringify([caller.user, caller.uid, caller.groups, caller.extra, request]);
    const known = this.decisions.get(key);
    if (known !== undefined) return known;
    return this.once(`authz:${key}`, async () => {
      const review = await this.options.client.create<SubjectAccessReview>(
        subjectAccessReviews,
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: caller.user,
            ...(caller.uid ? { uid: caller.uid } : {}),
            groups: [...caller.groups],
            ...(caller.extra ? { extra: caller.extra } : {}),
            ...('path' in request
              ? { nonResourceAttributes: { path: request.path, verb: request.verb } }
              : { resourceAttributes: request }),
          },
        },
        undefined,
        { signal },
      );
      const allowed = review.status?.allowed === true;
      this.decisions.set(key, allowed, allowed ? this.allowedTtlMs : this.deniedTtlMs);
      return allowed;
    });
  }

  /** One review per key at a time (concurrent askers share it), and at most `maxInFlight` reviews. */
  private once<T>(key: string, review: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key);
    if (running) return running as Promise<T>;
    if (this.inFlight.size >= this.maxInFlight) return Promise.reject(new ReviewsBusyError());
    const started = review().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }

  /** Cached entries (for tests of the bound). */
  get cachedEntries(): number {
    return this.callers.size + this.decisions.size;
  }
}

interface TokenReview {
  apiVersion: string;
  kind: string;
  spec: { token: string };
  status?: {
    authenticated?: boolean;
    user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  };
}

interface SubjectAccessReview {
  apiVersion: string;
  kind: string;
  spec: Record<string, unknown>;
  status?: { allowed?: boolean; reason?: string };
}
