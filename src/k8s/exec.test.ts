import { describe, expect, it } from 'vitest';
import { describeFailure, ExecError, ExecTimeoutError, exitCodeFromStatus, OutputCollector } from './exec.js';

describe('exitCodeFromStatus', () => {
  it('reads success as 0', () => {
    expect(exitCodeFromStatus({ status: 'Success' })).toBe(0);
  });

  it('reads the code of a NonZeroExitCode status', () => {
    expect(
      exitCodeFromStatus({
        status: 'Failure',
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: '3' }] },
      }),
    ).toBe(3);
  });

  it('reads the code from a wrapped process error', () => {
    expect(
      exitCodeFromStatus({ status: 'Failure', message: 'cmd wait: sh -c exit 7: exit status 7\n' }),
    ).toBe(7);
  });

  it('has no exit code for a failure to run the command at all', () => {
    expect(exitCodeFromStatus({ status: 'Failure', message: 'container not found ("x")' })).toBeUndefined();
  });
});

describe('describeFailure', () => {
  it('says why an exec could not start, whatever the client library rejected with', () => {
    // The WebSocket's error event when the API server refuses the upgrade: not an Error.
    expect(describeFailure({ type: 'error', message: 'Unexpected server response: 403' })).toBe(
      'Unexpected server response: 403',
    );
    expect(describeFailure({ error: new Error('socket hang up') })).toBe('socket hang up');
    expect(describeFailure(new Error('boom'))).toBe('boom');
    expect(describeFailure({ code: 7 })).toBe('{"code":7}');
    expect(describeFailure('text')).toBe('text');
  });
});

describe('OutputCollector', () => {
  const write = (collector: OutputCollector, chunk: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      collector.write(chunk, (error) => (error ? reject(error) : resolve()));
    });

  it('keeps the last bytes up to its limit, and counts what it dropped', async () => {
    const collector = new OutputCollector(10);
    await write(collector, Buffer.from('0123456789abc'));
    await write(collector, Buffer.from('def\nlast'));
    expect(collector.text()).toBe('bcdef\nlast');
    expect(collector.droppedBytes).toBe(11);
  });

  it('holds at most about 1 MiB by default, whatever a command prints', async () => {
    const collector = new OutputCollector();
    const chunk = Buffer.alloc(64 * 1024, 'x');
    for (let i = 0; i < 64; i++) await write(collector, chunk); // 4 MiB
    await write(collector, Buffer.from('\nthe end'));
    const text = collector.text();
    expect(Buffer.byteLength(text)).toBe(1024 * 1024);
    expect(text.endsWith('\nthe end')).toBe(true);
    expect(collector.droppedBytes).toBe(3 * 1024 * 1024 + 8);
  });
});

describe('ExecError', () => {
  it('says whether the command may still be running in the pod', () => {
    const request = { namespace: 'n', pod: 'p', container: 'c', command: ['x'], timeoutMs: 5 };
    expect(new ExecTimeoutError(request).mayStillRun).toBe(true);
    expect(new ExecError('refused').mayStillRun).toBe(false);
    expect(new ExecError('lost', { mayStillRun: true }).mayStillRun).toBe(true);
  });
});
