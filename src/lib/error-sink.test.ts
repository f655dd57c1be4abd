import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loggingErrorSink } from './error-sink.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

describe('loggingErrorSink', () => {
  it('keeps the stack and the context of a background error, not only its message', () => {
    const { lines, logger } = capture();
    const failure = new Error('watch of pods failed');
    loggingErrorSink(logger)(failure, 'pods informer');
    const err = lines[0]?.err as { message?: string; stack?: string } | undefined;
    expect(lines[0]?.msg).toBe('pods informer');
    expect(err?.message).toBe('watch of pods failed');
    expect(err?.stack).toContain('error-sink.test.ts');
  });

  it('turns a thrown non-Error into an Error with its text', () => {
    const { lines, logger } = capture();
    loggingErrorSink(logger)('plain text', 'somewhere');
    expect((lines[0]?.err as { message?: string } | undefined)?.message).toBe('plain text');
  });
});
