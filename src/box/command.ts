import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Receives every line the command prints on stderr, as it prints it (stdout is the result). */
  readonly onLine?: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** Thrown when a command exits non-zero; carries the tail of what it printed so the cause is visible. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly outputTail: string,
  ) {
    super(`${command} exited with ${exitCode ?? 'a signal'}:\n${outputTail}`);
    this.name = 'CommandError';
  }
}

/** Runs a command to completion and resolves with its stdout; rejects with {@link CommandError}. */
export async function runCommand(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<string> {
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const stdout: string[] = [];
  const tail: string[] = [];
  const remember = (line: string): void => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
    options.onLine?.(line);
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    stdout.push(line);
    tail.push(line);
    if (tail.length > 40) tail.shift();
  });
  createInterface({ input: child.stderr }).on('line', remember);
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const rendered = [file, ...args].join(' ');
  if (exitCode !== 0) throw new CommandError(rendered, exitCode, tail.join('\n'));
  return stdout.join('\n');
}
