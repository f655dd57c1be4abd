import { Writable } from 'node:stream';
import { Exec } from '@kubernetes/client-node';
import type { KubeConfig } from './kubeconfig.js';

export interface ExecRequest {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly command: readonly string[];
  /** Give up after this long; the remote process may keep running (the protocol cannot kill it). */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** The most output kept per stream (default 1 MiB): the last bytes, which hold the error message. */
  readonly maxOutputBytes?: number;
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  /** The command's exit code; 0 on success. */
  readonly exitCode: number;
  /** Output beyond maxOutputBytes that was dropped (from the start), both streams together. */
  readonly droppedBytes?: number;
}

/** Output kept per stream unless a request says otherwise. */
export const defaultMaxOutputBytes = 1024 * 1024;

/** The command could not be run, or its end was not seen (no such pod, exec refused, connection lost...). */
export class ExecError extends Error {
  /**
   * Whether the command may have started and still be running in the pod (a timeout, a connection lost
   * mid-way): the protocol cannot stop it, so running it again could run it twice at once.
   */
  readonly mayStillRun: boolean;

  constructor(message: string, options?: ErrorOptions & { mayStillRun?: boolean }) {
    super(message, options);
    this.name = 'ExecError';
    this.mayStillRun = options?.mayStillRun ?? false;
  }
}

/** The command did not finish in time. */
export class ExecTimeoutError extends ExecError {
  constructor(request: ExecRequest) {
    super(
      `command in pod ${request.namespace}/${request.pod} did not finish within ${request.timeoutMs} ms`,
      {
        mayStillRun: true,
      },
    );
    this.name = 'ExecTimeoutError';
  }
}

/** The Status object an exec stream ends with (plain JSON). */
export interface ExecStatus {
  readonly status?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly details?: { readonly causes?: readonly { readonly reason?: string; readonly message?: string }[] };
}

/**
 * A stream's output, bounded: the last `limit` bytes are kept (a command's error is at its end) and the
 * rest is only counted, so a command that prints without end cannot exhaust stork's memory.
 */
export class OutputCollector extends Writable {
  private chunks: Buffer[] = [];
  private kept = 0;
  droppedBytes = 0;

  constructor(private readonly limit = defaultMaxOutputBytes) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    this.kept += chunk.length;
    while (this.kept > this.limit) {
      const first = this.chunks[0] as Buffer;
      const excess = this.kept - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.kept -= first.length;
        this.droppedBytes += first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.kept -= excess;
        this.droppedBytes += excess;
      }
    }
    done();
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/**
 * Reads the exit code out of the Status the exec protocol ends with. A non-zero exit is
 * `reason: NonZeroExitCode` with the code in `details.causes`. Some kubelets (KWOK among them) wrap the
 * process error so the API server reports a generic Failure whose message ends in "exit status N"; that
 * is a real exit code too, so it is read from the message.
 */
export function exitCodeFromStatus(status: ExecStatus): number | undefined {
  if (status.status === 'Success') return 0;
  if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    if (Number.isInteger(code)) return code;
  }
  const match = /exit status (\d+)/.exec(status.message ?? '');
  if (match?.[1]) return Number(match[1]);
  return undefined;
}

/**
 * Runs a command in a container through the API server and resolves when the command has ended (not when
 * the socket opens, as the client library's own promise does), with its output and real exit code.
 */
export async function execInPod(config: KubeConfig, request: ExecRequest): Promise<ExecResult> {
  const stdout = new OutputCollector(request.maxOutputBytes);
  const stderr = new OutputCollector(request.maxOutputBytes);
  let settle!: { resolve: (r: ExecResult) => void; reject: (e: unknown) => void };
  const done = new Promise<ExecResult>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const state = { finished: false };
  const finish = (outcome: { status?: ExecStatus; error?: unknown }): void => {
    if (state.finished) return;
    state.finished = true;
    clearTimeout(timer);
    request.signal?.removeEventListener('abort', onAbort);
    if (outcome.error !== undefined) {
      settle.reject(outcome.error);
      return;
    }
    const status = outcome.status;
    const exitCode = status ? exitCodeFromStatus(status) : undefined;
    if (exitCode === undefined) {
      const why = status?.message ?? 'the connection closed before the command reported its exit status';
      // Without a status the command may still be running; a status without an exit code says it never ran.
      settle.reject(
        new ExecError(`exec in pod ${request.namespace}/${request.pod} failed: ${why}`, {
          mayStillRun: status === undefined,
        }),
      );
      return;
    }
    const droppedBytes = stdout.droppedBytes + stderr.droppedBytes;
    settle.resolve({
      stdout: stdout.text(),
      stderr: stderr.text(),
      exitCode,
      ...(droppedBytes > 0 ? { droppedBytes } : {}),
    });
  };
  const timer = setTimeout(() => {
    socket?.close();
    finish({ error: new ExecTimeoutError(request) });
  }, request.timeoutMs);
  const onAbort = (): void => {
    socket?.close();
    finish({ error: new ExecError('exec aborted', { cause: request.signal?.reason, mayStillRun: true }) });
  };
  request.signal?.addEventListener('abort', onAbort, { once: true });

  let socket: Awaited<ReturnType<Exec['exec']>> | undefined;
  try {
    socket = await new Exec(config).exec(
      request.namespace,
      request.pod,
      request.container,
      [...request.command],
      stdout,
      stderr,
      null,
      false,
      (status) => {
        finish({ status });
      },
    );
    if (state.finished) socket.close();
    // The status message normally arrives before close; a close without one is a lost connection.
    socket.on('close', () => {
      setImmediate(() => {
        finish({});
      });
    });
  } catch (error) {
    finish({
      error: new ExecError(
        `exec in pod ${request.namespace}/${request.pod} failed: ${describeFailure(error)}`,
        {
          cause: error,
        },
      ),
    });
  }
  return done;
}

/**
 * The reason an exec could not start, in words. The client library rejects with the WebSocket's error
 * event (not an Error) when the API server refuses the upgrade, e.g. "Unexpected server response: 403".
 */
export function describeFailure(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null) {
    const { message, error: inner } = error as { message?: unknown; error?: unknown };
    if (typeof message === 'string' && message !== '') return message;
    if (inner instanceof Error) return inner.message;
    try {
      return JSON.stringify(error);
    } catch {
      return Object.prototype.toString.call(error);
    }
  }
  return String(error);
}
