// A small client for the OpenStorage SDK (gRPC), the API Portworx and OpenStorage serve on their SDK
// port (9020 on Portworx, 9100 on osd). One channel serves every service; each call carries the bearer
// token, if any, and its own deadline.
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { openStorageMethod } from './proto.js';
import { sdkError } from './grpc-errors.js';
import type { SdkMethod, SdkMethods } from './sdk-types.js';
import { hostPortPattern } from '../../lib/host-port.js';

export const defaultCallTimeoutMs = 5_000;

export interface SdkClientOptions {
  /** `host:port` of the SDK server. */
  readonly endpoint: string;
  /** Sent as `authorization: bearer <token>` on every call when set (Portworx security / osd JWT). */
  readonly token?: string;
  /** Deadline of each call; default 5 s. */
  readonly callTimeoutMs?: number;
  /** The driver name errors carry; default `pxd`. */
  readonly driver?: string;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  /** What the call is about, for not-found errors: `volume "123"`. Default: the method name. */
  readonly what?: string;
}

export class SdkClient {
  readonly endpoint: string;
  readonly callTimeoutMs: number;
  private readonly driver: string;
  private readonly token: string | undefined;
  private readonly client: Client;

  constructor(options: SdkClientOptions) {
    if (!hostPortPattern.test(options.endpoint)) {
      throw new Error(`invalid SDK endpoint "${options.endpoint}": expected host:port`);
    }
    const timeout = options.callTimeoutMs ?? defaultCallTimeoutMs;
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw new Error(`invalid callTimeoutMs ${timeout}: expected a positive number of milliseconds`);
    }
    if (options.token !== undefined && (options.token === '' || /[\r\n]/.test(options.token))) {
      throw new Error('invalid token: it must be non-empty and on one line');
    }
    this.endpoint = options.endpoint;
    this.callTimeoutMs = timeout;
    this.driver = options.driver ?? 'pxd';
    this.token = options.token;
    // Plain TCP: the SDK port of Portworx and osd serves without TLS unless configured otherwise.
    this.client = new Client(options.endpoint, credentials.createInsecure());
  }

  /**
   * Calls one SDK method. Rejects with DriverNotFoundError for NOT_FOUND, DriverError for any other
   * failure (with the gRPC error as cause), or with the signal's reason when the signal aborts.
   */
  call<M extends SdkMethod>(
    method: M,
    request: SdkMethods[M]['req'],
    options: CallOptions = {},
  ): Promise<SdkMethods[M]['res']> {
    const definition = openStorageMethod(method);
    // The codec is built from the same proto file sdk-types.ts describes.
    return this.unary(method, request, definition.responseDeserialize, options) as Promise<
      SdkMethods[M]['res']
    >;
  }

  /**
   * Calls one SDK method as {@link call} does, but reads the answer's bytes with `decode` instead of the
   * proto's full codec: for answers polled often and large, where the caller needs a few fields only.
   * An answer `decode` cannot read fails the call as a DriverError, as with the full codec.
   */
  callDecoding<M extends SdkMethod, T>(
    method: M,
    request: SdkMethods[M]['req'],
    decode: (bytes: Buffer) => T,
    options: CallOptions = {},
  ): Promise<T> {
    return this.unary(method, request, decode, options);
  }

  private unary<T>(
    method: SdkMethod,
    request: object,
    deserialize: (bytes: Buffer) => T,
    options: CallOptions,
  ): Promise<T> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const definition = openStorageMethod(method);
    const metadata = new Metadata();
    if (this.token !== undefined) metadata.set('authorization', `bearer ${this.token}`);

    return new Promise((resolve, reject) => {
      const onAbort = () => call.cancel();
      const call = this.client.makeUnaryRequest<object, T>(
        definition.path,
        definition.requestSerialize,
        deserialize,
        request,
        metadata,
        { deadline: Date.now() + this.callTimeoutMs },
        (error: ServiceError | null, response?: T) => {
          signal?.removeEventListener('abort', onAbort);
          if (signal?.aborted) {
            reject(signal.reason as Error);
          } else if (error) {
            reject(
              sdkError(error, {
                driver: this.driver,
                method,
                what: options.what ?? method,
                endpoint: this.endpoint,
                timeoutMs: this.callTimeoutMs,
              }),
            );
          } else {
            resolve(response as T);
          }
        },
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Closes the channel; calls in flight fail. */
  close(): void {
    this.client.close();
  }
}
