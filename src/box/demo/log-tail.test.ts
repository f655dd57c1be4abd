import { describe, expect, it } from 'vitest';
import { LogTail, summarize } from './log-tail.js';

describe('LogTail', () => {
  it('keeps the last lines, filtered by what they mention', async () => {
    const tail = new LogTail('stork', 3);
    for (let i = 1; i <= 5; i++) tail.logger.info({ snapshot: i % 2 ? 'odd' : 'even' }, `line ${i}`);
    tail.logger.warn({ err: new Error('refused') }, 'it failed');
    // pino writes asynchronously through the stream.
    await new Promise((resolve) => setImmediate(resolve));
    expect(tail.tail(10)).toEqual([
      'INFO line 4 snapshot=even',
      'INFO line 5 snapshot=odd',
      expect.stringMatching(/^WARN it failed err=refused/) as string,
    ]);
    expect(tail.tail(10, 'odd')).toEqual(['INFO line 5 snapshot=odd']);
    expect(tail.tail(1)).toHaveLength(1);
  });

  it('shows lines that are not JSON as they are', () => {
    expect(summarize('plain text')).toBe('plain text');
    expect(summarize('{"level":30,"msg":"m","n":2,"o":{"a":1}}')).toBe('INFO m n=2 o={"a":1}');
  });
});
