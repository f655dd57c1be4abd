import { describe, expect, it } from 'vitest';
import { configFromFlags, storkCommand, type ParsedFlags } from './flags.js';

function parse(args: string[]) {
  const command = storkCommand().exitOverride();
  command.parse(['--driver', 'pxd', '--driver-endpoint', 'px:9020', ...args], { from: 'user' });
  return configFromFlags(command.opts<ParsedFlags>(), undefined);
}

describe('--snapshotter', () => {
  it('is on by default and can be turned off in Go style', () => {
    expect(parse([]).snapshotter).toBe(true);
    expect(parse(['--snapshotter=false']).snapshotter).toBe(false);
    expect(parse(['--snapshotter']).snapshotter).toBe(true);
  });

  it('rejects a value that is not a boolean', () => {
    expect(() => parse(['--snapshotter=maybe'])).toThrow(/expected true or false/);
  });
});
