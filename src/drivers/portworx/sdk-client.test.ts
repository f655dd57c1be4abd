// The SDK client against a bare gRPC server built from the same proto, whose handlers each test sets:
// auth metadata, deadlines, cancellation and error mapping. (The full simulator is a higher layer; the
// driver's tests against it live in src/simulator/.)
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriverError, DriverNotFoundError } from '../driver.js';
import { openStorageMethod, openStorageService } from './proto.js';
import { SdkClient } from './sdk-client.js';

type Handler = (call: ServerUnaryCall<object, object>, callback: sendUnaryData<object>) => void;
let versionHandler: Handler = (_call, callback) => {
  callback(null, {});
};
const server = new Server();
let endpoint = '';

beforeAll(async () => {
  server.addService(openStorageService('OpenStorageIdentity'), {
    Version: (call: ServerUnaryCall<object, object>, callback: sendUnaryData<object>) => {
      versionHandler(call, callback);
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, p) => {
      if (error) reject(error);
      else resolve(p);
    });
  });
  endpoint = `127.0.0.1:${port}`;
});

afterAll(() => {
  server.forceShutdown();
});

function client(options: { token?: string; callTimeoutMs?: number } = {}): SdkClient {
  return new SdkClient({ endpoint, ...options });
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

describe('SdkClient', () => {
  it('decodes the answer with defaults for absent fields', async () => {
    versionHandler = (_call, callback) => {
      callback(null, { version: { driver: 'pxd', version: '3.1.0' } });
    };
    const c = client();
    const response = await c.call('OpenStorageIdentity/Version', {});
    c.close();
    expect(response).toEqual({
      sdk_version: null,
      version: { driver: 'pxd', version: '3.1.0', details: {} },
    });
  });

  it("hands the answer's bytes to a caller's decoder instead of the full codec, with the same token", async () => {
    const seen: unknown[][] = [];
    versionHandler = (call, callback) => {
      seen.push(call.metadata.get('authorization'));
      callback(null, { version: { driver: 'pxd', version: '3.1.0' } });
    };
    const c = client({ token: 's3cret' });
    const decoded = await c.callDecoding('OpenStorageIdentity/Version', {}, (bytes) => Buffer.from(bytes));
    c.close();
    const full = openStorageMethod('OpenStorageIdentity/Version').responseDeserialize(decoded);
    expect(full).toEqual({ sdk_version: null, version: { driver: 'pxd', version: '3.1.0', details: {} } });
    expect(seen).toEqual([['bearer s3cret']]);
  });

  it('fails a call whose answer the decoder cannot read as a DriverError naming the method', async () => {
    versionHandler = (_call, callback) => {
      callback(null, {});
    };
    const c = client();
    const error = await failure(
      c.callDecoding('OpenStorageIdentity/Version', {}, () => {
        throw new RangeError('index out of range');
      }),
    );
    c.close();
    expect(error).toBeInstanceOf(DriverError);
    expect((error as Error).message).toMatch(
      new RegExp(`^pxd: OpenStorageIdentity/Version at ${endpoint.replace(/\./g, '\\.')} failed: `),
    );
  });

  it('sends the bearer token when one is configured, and no authorization otherwise', async () => {
    const seen: unknown[][] = [];
    versionHandler = (call, callback) => {
      seen.push(call.metadata.get('authorization'));
      callback(null, {});
    };
    const withToken = client({ token: 's3cret' });
    const without = client();
    await withToken.call('OpenStorageIdentity/Version', {});
    await without.call('OpenStorageIdentity/Version', {});
    withToken.close();
    without.close();
    expect(seen).toEqual([['bearer s3cret'], []]);
  });

  it('gives up at the deadline with a DriverError that says how long it waited', async () => {
    versionHandler = () => undefined; // never answers
    const c = client({ callTimeoutMs: 100 });
    const error = await failure(c.call('OpenStorageIdentity/Version', {}));
    c.close();
    expect(error).toBeInstanceOf(DriverError);
    expect((error as Error).message).toBe(
      `pxd: OpenStorageIdentity/Version at ${endpoint} failed: DEADLINE_EXCEEDED: no answer within 100 ms`,
    );
    expect((error as Error).cause).toMatchObject({ code: status.DEADLINE_EXCEEDED });
  });

  it('rejects with the abort reason when the signal aborts, before or during the call', async () => {
    versionHandler = () => undefined;
    const c = client({ callTimeoutMs: 5_000 });
    const controller = new AbortController();
    const pending = c.call('OpenStorageIdentity/Version', {}, { signal: controller.signal });
    const reason = new Error('shutting down');
    setTimeout(() => {
      controller.abort(reason);
    }, 20);
    expect(await failure(pending)).toBe(reason);
    expect(await failure(c.call('OpenStorageIdentity/Version', {}, { signal: controller.signal }))).toBe(
      reason,
    );
    c.close();
  });

  it('maps NOT_FOUND to DriverNotFoundError naming what was asked for, with the cause', async () => {
    versionHandler = (_call, callback) => {
      callback({ code: status.NOT_FOUND, details: 'Id x not found' });
    };
    const c = client();
    const error = await failure(c.call('OpenStorageIdentity/Version', {}, { what: 'volume "x"' }));
    c.close();
    expect(error).toBeInstanceOf(DriverNotFoundError);
    expect((error as Error).message).toBe('pxd: volume "x" not found');
    expect((error as Error).cause).toMatchObject({ code: status.NOT_FOUND, details: 'Id x not found' });
  });

  it('maps other codes to DriverError with the code name and details', async () => {
    versionHandler = (_call, callback) => {
      callback({ code: status.PERMISSION_DENIED, details: 'Access denied' });
    };
    const c = client();
    const error = await failure(c.call('OpenStorageIdentity/Version', {}));
    c.close();
    expect(error).toBeInstanceOf(DriverError);
    expect(error).not.toBeInstanceOf(DriverNotFoundError);
    expect((error as Error).message).toBe(
      `pxd: OpenStorageIdentity/Version at ${endpoint} failed: PERMISSION_DENIED: Access denied`,
    );
  });

  it('reports an endpoint nobody listens on as UNAVAILABLE', async () => {
    const probe = new Server();
    const port = await new Promise<number>((resolve, reject) => {
      probe.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => {
        if (e) reject(e);
        else resolve(p);
      });
    });
    probe.forceShutdown(); // the port is now free, and nobody listens on it
    const c = new SdkClient({ endpoint: `127.0.0.1:${port}`, callTimeoutMs: 2_000 });
    const error = await failure(c.call('OpenStorageIdentity/Version', {}));
    c.close();
    expect(error).toBeInstanceOf(DriverError);
    expect((error as Error).message).toMatch(
      new RegExp(`^pxd: OpenStorageIdentity/Version at 127\\.0\\.0\\.1:${port} failed: UNAVAILABLE: `),
    );
  });

  it('refuses bad options, naming the value', () => {
    expect(() => new SdkClient({ endpoint: 'localhost' })).toThrow(
      'invalid SDK endpoint "localhost": expected host:port',
    );
    expect(() => new SdkClient({ endpoint: 'http://h:1' })).toThrow('invalid SDK endpoint "http://h:1"');
    expect(() => new SdkClient({ endpoint: 'h:1', callTimeoutMs: 0 })).toThrow('invalid callTimeoutMs 0');
    expect(() => new SdkClient({ endpoint: 'h:1', token: '' })).toThrow('invalid token');
    expect(new SdkClient({ endpoint: '[::1]:9020' }).endpoint).toBe('[::1]:9020');
  });
});
