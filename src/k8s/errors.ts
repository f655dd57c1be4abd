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

export function isAlreadyExists(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 409 && error.reason === 'AlreadyExists';
}

export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 409 && error.reason !== 'AlreadyExists';
}
