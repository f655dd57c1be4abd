import { describe, expect, it } from 'vitest';
import { describeFailure, exitCodeFromStatus } from './exec.js';

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
