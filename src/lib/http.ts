import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An error that answers the request with this HTTP status and the message as the body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The longest piece of client input (or an error about it) that goes back in an answer or into a log. */
export const maxEchoChars = 200;

/**
 * Cuts text that may carry client input to {@link maxEchoChars}, saying how much was left out, so that a
 * huge bogus field is never echoed in a 400 or logged whole.
 */
export function truncate(text: string, max = maxEchoChars): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${String(text.length - max)} more characters)`;
}

/**
 * Reads the whole body, refusing one larger than `limit` bytes with a 413: at once when the client
 * announces the size, else as soon as the running total passes it (nothing beyond is buffered). Event
 * callbacks rather than an async iterator, which costs more per chunk on the extender's hot path.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const announced = Number(req.headers['content-length'] ?? NaN);
    if (announced > limit) {
      reject(new HttpError(413, `body larger than ${String(limit)} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        chunks.length = 0;
        reject(new HttpError(413, `body larger than ${String(limit)} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size).toString('utf8')));
    req.on('error', reject);
  });
}

/** Answers with a complete body and its length (no chunked encoding: callers read small answers whole). */
export function send(res: ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Answers a failed request. A 4xx carries its (truncated) reason; a 5xx says only that something went
 * wrong: the exception's text is for the log, not for whoever sent the request. An oversized body is
 * never read to its end, so that connection cannot be reused.
 */
export function sendError(res: ServerResponse, status: number, reason: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (status === 413) res.setHeader('Connection', 'close');
  send(res, status, status >= 500 ? 'internal error (see the stork log)' : truncate(reason), 'text/plain');
}

/** How long a server waits for a client and how many clients it serves at once. */
export interface ServerLimits {
  /** Open connections at most; more are refused at accept (Node's `server.maxConnections`). */
  readonly maxConnections: number;
  /** The request line and headers must arrive within this (slow-header clients are cut off). */
  readonly headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this. */
  readonly requestTimeoutMs: number;
  /**
   * An idle kept-alive connection is closed after this. Above Go's 90 s idle timeout on purpose: a
   * server that closes first races with the scheduler reusing the connection for a POST, which Go does
   * not retry.
   */
  readonly keepAliveTimeoutMs: number;
}

export const defaultServerLimits: ServerLimits = {
  maxConnections: 256,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 120_000,
};

interface LimitableServer {
  maxConnections: number;
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
}

/**
 * Options for node:http/node:https `createServer`: how often Node checks open connections against the
 * header and request timeouts (its default, 30 s, would let a slow client hold on three times as long).
 */
export const serverCreateOptions = { connectionsCheckingInterval: 1_000 } as const;

/** Applies {@link ServerLimits} to a node:http or node:https server. */
export function applyServerLimits(server: LimitableServer, limits: Partial<ServerLimits> = {}): void {
  const l = { ...defaultServerLimits, ...limits };
  server.maxConnections = l.maxConnections;
  // Node requires headersTimeout <= requestTimeout.
  server.requestTimeout = l.requestTimeoutMs;
  server.headersTimeout = Math.min(l.headersTimeoutMs, l.requestTimeoutMs);
  server.keepAliveTimeout = l.keepAliveTimeoutMs;
}

/** A node:http or node:https server (both share these methods). */
interface ClosableServer {
  once(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
  listen(port: number, host: string, callback: () => void): unknown;
  address(): AddressInfo | string | null;
  close(callback: () => void): unknown;
  closeIdleConnections(): void;
  closeAllConnections(): void;
}

/** Listens and resolves with the bound port (useful with port 0), or rejects with the bind error. */
export async function listen(server: ClosableServer, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/**
 * Stops accepting connections, lets in-flight requests finish for up to `graceMs`, closes idle ones, and
 * then cuts whatever is still open: one slow client cannot hold shutdown open.
 */
export async function close(server: ClosableServer, graceMs = 5_000): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const cut = setTimeout(() => server.closeAllConnections(), graceMs);
  try {
    await closed;
  } finally {
    clearTimeout(cut);
  }
}
