// A client for the one call stork needs from OpenStorage's REST volume API (Portworx's management port,
// 9001; osd's `--mgmtport`): the group snapshot, which the SDK does not offer. Plain HTTP on loopback or
// the cluster network, as Portworx serves it; the bearer token, if any, as on the SDK.
import { request } from 'node:http';
import { DriverError } from '../driver.js';
import { truncate } from '../../lib/http.js';
import {
  snapshotGroupPath,
  type GroupSnapCreateRequest,
  type GroupSnapCreateResponse,
} from './osd-rest-types.js';
import { hostPortPattern } from '../../lib/host-port.js';

export interface OsdRestClientOptions {
  /** `host:port` of the REST API. */
  readonly endpoint: string;
  readonly token?: string;
  /** Deadline of each call in ms; default 30 s (a group snapshot quiesces every volume first). */
  readonly callTimeoutMs?: number;
  readonly driver?: string;
}

/** A refusal: the server understood the request and said no (4xx). Not retried as is. */
export class OsdRestRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'OsdRestRefused';
  }
}

/** The largest answer read: a snapshot per volume is about 100 bytes, so this covers thousands. */
export const maxResponseBytes = 1024 * 1024;

export class OsdRestClient {
  readonly endpoint: string;
  private readonly host: string;
  private readonly port: number;
  private readonly timeoutMs: number;
  private readonly driver: string;

  constructor(private readonly options: OsdRestClientOptions) {
    if (!hostPortPattern.test(options.endpoint)) {
      throw new Error(`invalid REST endpoint "${options.endpoint}": expected host:port`);
    }
    if (options.token !== undefined && (options.token === '' || /[\r\n]/.test(options.token))) {
      throw new Error('invalid token: it must be non-empty and on one line');
    }
    const colon = options.endpoint.lastIndexOf(':');
    this.endpoint = options.endpoint;
    this.host = options.endpoint.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    this.port = Number(options.endpoint.slice(colon + 1));
    this.timeoutMs = options.callTimeoutMs ?? 30_000;
    this.driver = options.driver ?? 'pxd';
  }

  /**
   * Snapshots the volumes at one point in time. Rejects with {@link OsdRestRefused} when the server
   * refuses (a volume it does not know, the call not supported), with DriverError when it cannot be
   * reached or answers something else (a retry may do better).
   */
  async snapshotGroup(body: GroupSnapCreateRequest, signal?: AbortSignal): Promise<GroupSnapCreateResponse> {
    const { status, text } = await this.post(snapshotGroupPath, JSON.stringify(body), signal);
    if (status >= 400 && status < 500) {
      throw new OsdRestRefused(status, `group snapshot refused (${status}): ${truncate(text.trim())}`);
    }
    if (status !== 200) {
      throw new DriverError(this.driver, `group snapshot at ${this.endpoint} answered ${status}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new DriverError(this.driver, `group snapshot at ${this.endpoint} answered no JSON`);
    }
    if (!isGroupResponse(parsed)) {
      throw new DriverError(this.driver, `group snapshot at ${this.endpoint} answered an unexpected shape`);
    }
    return parsed;
  }

  private post(path: string, body: string, signal?: AbortSignal): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const fail = (why: string, cause?: unknown) =>
        reject(
          new DriverError(
            this.driver,
            `POST ${path} at ${this.endpoint} failed: ${why}`,
            cause ? { cause } : {},
          ),
        );
      const req = request(
        {
          host: this.host,
          port: this.port,
          path,
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body),
            ...(this.options.token !== undefined ? { Authorization: `bearer ${this.options.token}` } : {}),
          },
          timeout: this.timeoutMs,
          ...(signal ? { signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxResponseBytes) {
              res.destroy();
              fail(`answer larger than ${maxResponseBytes} bytes`);
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks, size).toString('utf8') }),
          );
          res.on('error', (error) => fail(error.message, error));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (error) => {
        if (signal?.aborted) reject(signal.reason as Error);
        else fail(error.message, error);
      });
      req.end(body);
    });
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function isGroupResponse(value: unknown): value is GroupSnapCreateResponse {
  if (!isObject(value)) return false;
  const { snapshots, error } = value;
  if (error !== undefined && typeof error !== 'string') return false;
  if (snapshots === undefined || snapshots === null) return true;
  return isObject(snapshots) && Object.values(snapshots).every((s) => s === null || isObject(s));
}
