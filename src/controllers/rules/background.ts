import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecResult } from '../../k8s/exec.js';
import type { RulesConfig } from './config.js';
import { CommandError, describeTarget, runWithRetries, shellQuote, type PodExec } from './commands.js';
import type { PodTarget } from './rule-targets.js';
import { waitCmdPlaceholder } from './validation.js';
import { errorText } from '../../lib/errors.js';

/**
 * The files of the `${WAIT_CMD}` contract in one pod. `${WAIT_CMD}` becomes the path of a script that
 * touches the done file (the command has reached the point where it holds, e.g., its lock) and then waits
 * until the kill file exists. The names carry the task and the pod UID: pods may share a file system.
 */
export interface WaitFiles {
  readonly script: string;
  readonly done: string;
  readonly kill: string;
  /** Stork's kill file for the task (one per task), touched too so Stork's own executions are released. */
  readonly storkKill: string;
}

export function waitFiles(dir: string, taskID: string, podUid: string): WaitFiles {
  const suffix = `${taskID}-${podUid}`;
  const base = dir.replace(/\/+$/, '') || '/';
  return {
    script: `${base}/stork-wait-${suffix}.sh`,
    done: `${base}/stork-cmd-done-${suffix}`,
    kill: `${base}/killme-${suffix}`,
    storkKill: `${base}/killme-${taskID}`,
  };
}

/**
 * The wait script; the done file goes away when it stops waiting, so "done exists" means "holding". It
 * waits for the kill file at most `maxHoldSeconds` (counted in one-second sleeps, with nothing but sh):
 * if stork dies and nobody releases the application, it lets go by itself and exits with code 1.
 */
export function waitScript(files: WaitFiles, maxHoldSeconds: number): string {
  if (!Number.isInteger(maxHoldSeconds) || maxHoldSeconds < 1) {
    throw new RangeError(`the wait deadline must be a whole number of seconds >= 1, not ${maxHoldSeconds}`);
  }
  const done = shellQuote(files.done);
  const kill = shellQuote(files.kill);
  return (
    `touch ${done} && i=0 && while [ ! -f ${kill} ] && [ "$i" -lt ${maxHoldSeconds} ]; ` +
    `do sleep 1; i=$((i+1)); done; rm -f ${done}; [ -f ${kill} ]`
  );
}

/** Writes the wait script, clearing files an earlier run with the same name might have left. */
export function prepareCommand(files: WaitFiles, maxHoldSeconds: number): string {
  const script = shellQuote(files.script);
  return (
    `rm -f ${shellQuote(files.done)} ${shellQuote(files.kill)} && ` +
    `printf '%s\\n' ${shellQuote(waitScript(files, maxHoldSeconds))} > ${script} && chmod +x ${script}`
  );
}

/** The deadline of the in-pod wait: the longest a background command may hold (whole seconds). */
export function maxHoldSeconds(config: RulesConfig): number {
  return Math.max(1, Math.ceil(config.backgroundMaxHoldMs / 1000));
}

/** The user's command with `${WAIT_CMD}` replaced by the wait script's path (as Stork does). */
export function substituteWait(command: string, files: WaitFiles): string {
  return command.replaceAll(waitCmdPlaceholder, files.script);
}

interface Session {
  readonly target: PodTarget;
  readonly files: WaitFiles;
  /** Settles when the command's exec session ends. */
  readonly ended: Promise<void>;
  outcome: { result?: ExecResult; error?: unknown } | undefined;
}

/**
 * A background action running in its pods: started, then held at `${WAIT_CMD}` until released. Stork
 * itself holds the exec sessions open through the API server, so no executor pod is needed.
 */
export class BackgroundTask {
  private readonly sessions: Session[] = [];

  constructor(
    readonly taskID: string,
    readonly targets: readonly PodTarget[],
    private readonly command: string,
    private readonly exec: PodExec,
    private readonly config: RulesConfig,
  ) {}

  /**
   * Starts the command in every pod and waits until each has reached `${WAIT_CMD}`. Throws
   * {@link CommandError} when a pod cannot start it, its command ends first, or it is not ready in time;
   * the caller then releases the task (pods that did start must not stay held).
   */
  async start(signal: AbortSignal): Promise<void> {
    const policy = {
      timeoutMs: this.config.commandTimeoutMs,
      attempts: this.config.commandAttempts,
      intervalMs: this.config.retryIntervalMs,
    };
    await Promise.all(
      this.targets.map(async (target) => {
        const files = waitFiles(this.config.markerDir, this.taskID, target.uid);
        await runWithRetries(
          this.exec,
          target,
          prepareCommand(files, maxHoldSeconds(this.config)),
          policy,
          signal,
        );
        this.open(target, files);
      }),
    );
    await this.waitUntilHeld(signal);
  }

  private open(target: PodTarget, files: WaitFiles): void {
    const session: Session = {
      target,
      files,
      outcome: undefined,
      ended: this.exec({
        namespace: target.namespace,
        pod: target.name,
        container: target.container,
        command: ['sh', '-c', substituteWait(this.command, files)],
        timeoutMs: this.config.backgroundMaxHoldMs,
      }).then(
        (result) => {
          session.outcome = { result };
        },
        (error: unknown) => {
          session.outcome = { error };
        },
      ),
    };
    this.sessions.push(session);
  }

  private async waitUntilHeld(signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.config.backgroundReadyTimeoutMs;
    const pending = new Set(this.sessions);
    for (;;) {
      for (const session of [...pending]) {
        if (session.outcome) throw new CommandError(endedEarly(this.command, session));
        if (await this.holding(session, signal)) pending.delete(session);
      }
      if (pending.size === 0) return;
      if (Date.now() >= deadline) {
        const where = [...pending].map((s) => describeTarget(s.target)).join(', ');
        throw new CommandError(
          `background command "${this.command}" did not reach ${waitCmdPlaceholder} within ` +
            `${this.config.backgroundReadyTimeoutMs} ms in ${where}`,
        );
      }
      await sleep(this.config.backgroundPollIntervalMs, undefined, { signal });
    }
  }

  private async holding(session: Session, signal: AbortSignal): Promise<boolean> {
    try {
      const result = await this.exec({
        namespace: session.target.namespace,
        pod: session.target.name,
        container: session.target.container,
        command: ['test', '-f', session.files.done],
        timeoutMs: this.config.commandTimeoutMs,
        signal,
      });
      return result.exitCode === 0;
    } catch {
      // A failed check is retried until the deadline; the session's own end is what fails fast.
      return false;
    }
  }

  /**
   * Whether every session has ended within the release timeout, with the pods where one has not.
   * Removes the task's files where the command has ended.
   */
  async awaitExit(): Promise<{ stillRunning: PodTarget[]; unexpected: string[] }> {
    const timeout = sleep(this.config.releaseExitTimeoutMs, 'timeout', { ref: false });
    await Promise.race([Promise.all(this.sessions.map((s) => s.ended)), timeout]);
    const stillRunning = this.sessions.filter((s) => !s.outcome).map((s) => s.target);
    const unexpected = this.sessions
      .filter((s) => s.outcome?.result && s.outcome.result.exitCode !== 0)
      .map((s) => `${describeTarget(s.target)}: exited with code ${String(s.outcome?.result?.exitCode)}`);
    await Promise.allSettled(
      this.sessions
        .filter((s) => s.outcome)
        .map((s) =>
          this.exec({
            namespace: s.target.namespace,
            pod: s.target.name,
            container: s.target.container,
            command: ['rm', '-f', s.files.script, s.files.kill, s.files.done, s.files.storkKill],
            timeoutMs: this.config.commandTimeoutMs,
          }),
        ),
    );
    return { stillRunning, unexpected };
  }
}

function endedEarly(command: string, session: Session): string {
  const where = describeTarget(session.target);
  const result = session.outcome?.result;
  if (result) {
    const output = result.stderr.trim() || result.stdout.trim();
    const last = (output.split('\n').pop() ?? '').slice(0, 500);
    return (
      `background command "${command}" in ${where} exited with code ${result.exitCode} before it reached ` +
      `${waitCmdPlaceholder}${last ? `: ${last}` : ''}`
    );
  }
  const error = session.outcome?.error;
  return `background command "${command}" in ${where} failed: ${errorText(error)}`;
}

/**
 * Releases a background task in one pod: touches its kill file, retried. `gone` says whether the pod no
 * longer exists (or is another pod of the same name): then its processes are gone too, and there is
 * nothing left to release. Throws {@link CommandError} when the pod stays unreachable.
 */
export async function releaseInPod(
  exec: PodExec,
  target: PodTarget,
  taskID: string,
  config: RulesConfig,
  gone: () => Promise<boolean>,
): Promise<void> {
  const files = waitFiles(config.markerDir, taskID, target.uid);
  let failure = '';
  for (let attempt = 1; attempt <= config.releaseAttempts; attempt++) {
    try {
      const result = await exec({
        namespace: target.namespace,
        pod: target.name,
        container: target.container,
        command: ['touch', files.kill, files.storkKill],
        timeoutMs: config.commandTimeoutMs,
      });
      if (result.exitCode === 0) return;
      failure = `touch ${files.kill} exited with code ${result.exitCode}: ${result.stderr.trim()}`;
    } catch (error) {
      failure = errorText(error);
    }
    if (await gone().catch(() => false)) return;
    if (attempt < config.releaseAttempts) await sleep(config.releaseRetryIntervalMs);
  }
  throw new CommandError(
    `could not release background task ${taskID} in ${describeTarget(target)} after ` +
      `${config.releaseAttempts} attempts: ${failure}`,
  );
}
