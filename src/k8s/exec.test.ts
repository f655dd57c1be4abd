import { describe, expect, it } from 'vitest';
import { exitCodeFromStatus } from './exec.js';

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
