import { describe, expect, it } from 'vitest';
import { demoFailure, Narrator } from './narrator.js';

describe('Narrator', () => {
  it('prints headings and records each timed step with its result', async () => {
    const out: string[] = [];
    const narrator = new Narrator((t) => out.push(t));
    narrator.say('Next');
    const value = await narrator.timed(
      'step one',
      () => Promise.resolve(42),
      (v) => `got ${v}`,
    );
    expect(value).toBe(42);
    expect(out).toEqual(['\n==> Next']);
    expect(narrator.steps).toEqual([
      { step: 'step one', result: 'got 42', seconds: expect.any(Number) as number },
    ]);
  });

  it('records nothing for a step that throws', async () => {
    const narrator = new Narrator(() => undefined);
    await expect(narrator.timed('bad', () => Promise.reject(new Error('no')), String)).rejects.toThrow('no');
    expect(narrator.steps).toEqual([]);
  });
});

describe('demoFailure', () => {
  it('puts the claim first and the evidence under it, saying when there is none', () => {
    expect(demoFailure('x is not Ready', { status: '{"a":1}', events: [], log: ['l1', 'l2'] }).message).toBe(
      [
        'x is not Ready',
        '  status:',
        '    {"a":1}',
        '  events:',
        '    (none)',
        '  log:',
        '    l1',
        '    l2',
      ].join('\n'),
    );
  });
});
