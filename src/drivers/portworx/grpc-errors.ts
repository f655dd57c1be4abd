// Turns gRPC failures into the driver errors the rest of stork-ts understands: NOT_FOUND means the
// storage system has no such object (DriverNotFoundError); anything else means it could not answer
// now (DriverError). The gRPC error stays attached as the cause, so its code and details are not lost.
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { DriverError, DriverNotFoundError } from '../driver.js';
import { errorText } from '../../lib/errors.js';

export function isServiceError(error: unknown): error is ServiceError {
  return (
    error instanceof Error &&
    typeof (error as Partial<ServiceError>).code === 'number' &&
    typeof (error as Partial<ServiceError>).details === 'string'
  );
}

/** The symbolic name of a gRPC status code, e.g. `UNAVAILABLE`. */
export function grpcCodeName(code: number): string {
  return (grpcStatus as unknown as Record<number, string | undefined>)[code] ?? `code ${code}`;
}

export interface SdkErrorContext {
  readonly driver: string;
  /** `Service/Method`. */
  readonly method: string;
  /** What the call was about, for NOT_FOUND: `volume "123"`. */
  readonly what: string;
  readonly endpoint: string;
  readonly timeoutMs: number;
}

/** A driver error for a failed SDK call, naming the method, the endpoint and what the server said. */
export function sdkError(error: unknown, context: SdkErrorContext): DriverError {
  if (!isServiceError(error)) {
    const message = errorText(error);
    return new DriverError(context.driver, `${context.method} at ${context.endpoint} failed: ${message}`, {
      cause: error,
    });
  }
  if (error.code === grpcStatus.NOT_FOUND) {
    return new DriverNotFoundError(context.driver, context.what, { cause: error });
  }
  const detail =
    error.code === grpcStatus.DEADLINE_EXCEEDED
      ? `no answer within ${context.timeoutMs} ms`
      : error.details || 'no details';
  return new DriverError(
    context.driver,
    `${context.method} at ${context.endpoint} failed: ${grpcCodeName(error.code)}: ${detail}`,
    { cause: error },
  );
}
