import { setTimeout as sleep } from 'node:timers/promises';
import { ExecError, type ExecRequest, type ExecResult } from '../../k8s/exec.js';
import type { PodTarget } from './rule-targets.js';
import { errorText } from '../../lib/errors.js';

/** Runs a command in a pod's container and resolves with its exit code (src/k8s/exec.ts in stork). */
export type PodExec = (request: ExecRequest) => Promise<ExecResult>;

/** A command failed in a pod; the message says which, where, how, and after how many attempts. */
export class CommandError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CommandError';
  }
}

export interface RetryPolicy {
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly intervalMs: number;
}

/** `pod ns/name (container c)`, as messages name a target. */
export function describeTarget(target: PodTarget): string {
  return `pod ${target.namespace}/${target.name} (container ${target.container})`;
}

interface Failure {
  readonly why: string;
  /** The command may still be running in the pod (timed out, connection lost): it must not run again. */
  readonly mayStillRun: boolean;
}

/** One try of `sh -c command`: undefined on exit 0, else why it failed. */
async function tryOnce(
  exec: PodExec,
  target: PodTarget,
  command: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Failure | undefined> {
  try {
    const result = await exec({
      namespace: target.namespace,
      pod: target.name,
      container: target.container,
      command: ['sh', '-c', command],
      timeoutMs,
      signal,
    });
    if (result.exitCode === 0) return undefined;
    const output = lastLine(result.stderr) ?? lastLine(result.stdout);
    return { why: `exited with code ${result.exitCode}${output ? `: ${output}` : ''}`, mayStillRun: false };
  } catch (error) {
    return {
      why: errorText(error),
      mayStillRun: error instanceof ExecError && error.mayStillRun,
    };
  }
}

/**
 * Runs a command in one pod, retrying a failure (non-zero exit, exec refused) up to the policy's
 * attempts. A command that may still be running (it timed out, or the connection was lost before its
 * end) is not retried: exec cannot stop it, and a second run beside the first could, e.g., take a lock
 * twice. Throws {@link CommandError} with the last failure.
 */
export async function runWithRetries(
  exec: PodExec,
  target: PodTarget,
  command: string,
  policy: RetryPolicy,
  signal: AbortSignal,
): Promise<void> {
  let failure: Failure | undefined;
  let attempt = 1;
  for (; attempt <= policy.attempts; attempt++) {
    signal.throwIfAborted();
    failure = await tryOnce(exec, target, command, policy.timeoutMs, signal);
    if (failure === undefined) return;
    if (failure.mayStillRun) break;
    if (attempt < policy.attempts) await sleep(policy.intervalMs, undefined, { signal });
  }
  const made = Math.min(attempt, policy.attempts);
  const tries = made === 1 ? '1 attempt' : `${made} attempts`;
  const notRetried = failure?.mayStillRun ? '; not retried: it may still be running in the pod' : '';
  throw new CommandError(
    `command "${command}" in ${describeTarget(target)} failed after ${tries}: ${failure?.why ?? ''}${notRetried}`,
  );
}

/**
 * Runs a command in every target at once (as Stork) and waits for all of them, so no command is left
 * running unobserved; the first failure (in target order) is thrown.
 */
export async function runInAll(
  exec: PodExec,
  targets: readonly PodTarget[],
  command: string,
  policy: RetryPolicy,
  signal: AbortSignal,
): Promise<void> {
  const outcomes = await Promise.allSettled(
    targets.map((target) => runWithRetries(exec, target, command, policy, signal)),
  );
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
}

function lastLine(text: string): string | undefined {
  const lines = text.trim().split('\n');
  const line = lines[lines.length - 1]?.trim();
  return line === '' ? undefined : line?.slice(0, 500);
}

/** Quotes a string for sh, so paths and commands pass through unchanged. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
