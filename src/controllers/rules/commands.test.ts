import { describe, expect, it } from 'vitest';
import { ExecError, ExecTimeoutError, type ExecRequest, type ExecResult } from '../../k8s/exec.js';
import { runInAll, runWithRetries, shellQuote, type PodExec } from './commands.js';

const target = (name: string) => ({ namespace: 'db', name, uid: name, container: 'main' });
const policy = { timeoutMs: 1000, attempts: 3, intervalMs: 1 };
const signal = () => AbortSignal.timeout(10_000);

/** A fake exec answering from a script of results per pod, recording the calls. */
function fakeExec(results: Record<string, (ExecResult | Error)[]>): PodExec & { calls: ExecRequest[] } {
  const calls: ExecRequest[] = [];
  const exec = (request: ExecRequest): Promise<ExecResult> => {
    calls.push(request);
    const next = results[request.pod]?.shift() ?? { stdout: '', stderr: '', exitCode: 0 };
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
  return Object.assign(exec, { calls });
}

describe('runWithRetries', () => {
  it('runs sh -c in the container and stops at the first success', async () => {
    const exec = fakeExec({ a: [{ stdout: '', stderr: 'busy', exitCode: 1 }] });
    await runWithRetries(exec, target('a'), 'sync', policy, signal());
    expect(exec.calls).toHaveLength(2);
    expect(exec.calls[0]).toMatchObject({
      pod: 'a',
      container: 'main',
      command: ['sh', '-c', 'sync'],
      timeoutMs: 1000,
    });
  });

  it('gives up after the attempts with the last failure, exit code and output', async () => {
    const exec = fakeExec({
      a: [
        new Error('connection lost'),
        { stdout: '', stderr: 'x', exitCode: 2 },
        { stdout: 'out\nlast', stderr: '', exitCode: 3 },
      ],
    });
    await expect(runWithRetries(exec, target('a'), 'false', policy, signal())).rejects.toThrow(
      'command "false" in pod db/a (container main) failed after 3 attempts: exited with code 3: last',
    );
    expect(exec.calls).toHaveLength(3);
  });
});

describe('runWithRetries: never the same command twice at once', () => {
  const timedOut = (): Error =>
    new ExecTimeoutError({ namespace: 'db', pod: 'a', container: 'main', command: [], timeoutMs: 1000 });
  const lost = (): Error => new ExecError('connection closed', { mayStillRun: true });
  it.each([
    ['timed out', timedOut],
    ['lost its connection mid-way', lost],
  ])('does not run a command again that %s (it may still be running)', async (_, error) => {
    const exec = fakeExec({ a: [error()] });
    await expect(runWithRetries(exec, target('a'), 'backup', policy, signal())).rejects.toThrow(
      /not retried: it may still be running in the pod/,
    );
    expect(exec.calls).toHaveLength(1);
  });

  it('retries a command that never started', async () => {
    const exec = fakeExec({ a: [new ExecError('Unexpected server response: 500')] });
    await runWithRetries(exec, target('a'), 'backup', policy, signal());
    expect(exec.calls).toHaveLength(2);
  });
});

describe('runInAll', () => {
  it('runs in every pod and reports the first failure after all have ended', async () => {
    const failing = { stdout: '', stderr: '', exitCode: 9 };
    const exec = fakeExec({ b: [failing, failing, failing] });
    await expect(
      runInAll(exec, [target('a'), target('b'), target('c')], 'x', policy, signal()),
    ).rejects.toThrow(/pod db\/b .* exited with code 9/);
    expect(exec.calls.map((c) => c.pod).sort()).toEqual(['a', 'b', 'b', 'b', 'c']);
  });
});

describe('shellQuote', () => {
  it('quotes single quotes', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});
