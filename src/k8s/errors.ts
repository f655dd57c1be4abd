/** A Status the API server returned for a failed request, with the HTTP code and the server's reason. */
export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    /** Kubernetes' machine-readable reason: NotFound, AlreadyExists, Conflict, Invalid, TooManyRequests... */
    readonly reason: string,
    message: string,
    readonly body: unknown,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'KubeApiError';
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 404;
}

/**
 * A 404 that names no kind: the API server does not serve the resource (the CRD was installed a moment
 * ago, or not at all), as opposed to a namespace or an object that is gone, whose 404 names its kind.
 */
export function isResourceNotServed(error: unknown): boolean {
  if (!(error instanceof KubeApiError) || error.statusCode !== 404) return false;
  const details = (error.body as { details?: { kind?: unknown } } | undefined)?.details;
  return typeof details?.kind !== 'string' || details.kind === '';
}

/** What `get` answers, or undefined when the object does not exist (any other failure is thrown). */
export async function getOrUndefined<T>(get: () => Promise<T>): Promise<T | undefined> {
  try {
    return await get();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Awaits a call whose target may already be gone (a delete, a patch of what another controller removes). */
export async function ignoreNotFound(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

export function isAlreadyExists(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 409 && error.reason === 'AlreadyExists';
}

export function isForbidden(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 403;
}

export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 409 && error.reason !== 'AlreadyExists';
}

/**
 * A watch that the server ended with an ERROR event: its Status' code (410 when the resourceVersion is
 * older than the server keeps) and reason.
 */
export class WatchError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'WatchError';
  }
}

/**
 * The resourceVersion we asked from is no longer kept by the server (410 Gone / Expired, "too old
 * resource version"): the only failure after which a list + watch client must relist at once.
 */
export function isResourceExpired(error: unknown): boolean {
  if (error instanceof WatchError)
    return error.code === 410 || error.reason === 'Expired' || error.reason === 'Gone';
  if (error instanceof KubeApiError) return error.statusCode === 410;
  return false;
}

export function isTooManyRequests(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 429;
}

/** Builds the error the API server's Status for `code` would produce (for fakes and for tests). */
export function statusError(code: number, reason: string, message: string): KubeApiError {
  return new KubeApiError(code, reason, message, {
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    code,
    reason,
    message,
  });
}

/** A request the API server did not answer within the client's deadline. */
export class KubeTimeoutError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KubeTimeoutError';
  }
}
