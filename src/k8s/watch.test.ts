import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { WatchError } from './errors.js';
import { readWatchStream, type WatchEvent } from './watch.js';

type Obj = { metadata: { name: string } };
const line = (type: string, name: string): string => JSON.stringify({ type, object: { metadata: { name } } });

/** Feeds `chunks` to readWatchStream, then ends the stream (or not); returns what it saw and how it ended. */
async function read(
  chunks: readonly (string | Buffer)[],
  options: { end?: boolean; maxBytes?: number } = {},
) {
  const response = new PassThrough();
  const seen: string[] = [];
  const done = readWatchStream<Obj>(
    response,
    (event: WatchEvent<Obj>) => seen.push(`${event.type} ${event.object.metadata.name}`),
    options.maxBytes,
  ).then(
    () => 'resolved',
    (error: unknown) =>
      error instanceof WatchError ? `WatchError ${error.message}` : `rejected ${String(error)}`,
  );
  for (const chunk of chunks) response.write(chunk);
  if (options.end ?? true) response.end();
  return { outcome: await done, seen, destroyed: response.destroyed };
}

describe('readWatchStream', () => {
  it('cuts events out of chunks whatever their boundaries, in order', async () => {
    const text = [line('ADDED', 'a'), line('MODIFIED', 'b'), line('DELETED', 'c')].join('\n') + '\n';
    for (const size of [1, 3, 7, 40, text.length]) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      const { outcome, seen } = await read(chunks);
      expect(outcome).toBe('resolved');
      expect(seen).toEqual(['ADDED a', 'MODIFIED b', 'DELETED c']);
    }
  });

  it('decodes a character split between chunks', async () => {
    const bytes = Buffer.from(`${line('ADDED', 'zürich-ö')}\n`);
    const at = bytes.indexOf(0xc3) + 1; // inside the two bytes of ü
    const { seen } = await read([bytes.subarray(0, at), bytes.subarray(at)]);
    expect(seen).toEqual(['ADDED zürich-ö']);
  });

  it('skips blank lines, takes CRLF, and a last line without a newline', async () => {
    const { outcome, seen } = await read([`\n${line('ADDED', 'a')}\r\n\r\n  \n${line('ADDED', 'b')}`]);
    expect(outcome).toBe('resolved');
    expect(seen).toEqual(['ADDED a', 'ADDED b']);
  });

  it('an ERROR event rejects with its status, after the events before it', async () => {
    const error = JSON.stringify({
      type: 'ERROR',
      object: { code: 410, reason: 'Expired', message: 'too old' },
    });
    const { outcome, seen, destroyed } = await read([
      `${line('ADDED', 'a')}\n${error}\n${line('ADDED', 'b')}\n`,
    ]);
    expect(outcome).toBe('WatchError too old');
    expect(seen).toEqual(['ADDED a']);
    expect(destroyed).toBe(true);
  });

  it('a line that does not parse rejects: an event is never skipped', async () => {
    const { outcome, seen } = await read([
      `${line('ADDED', 'a')}\n{"type":"ADDED",\n${line('ADDED', 'b')}\n`,
    ]);
    expect(outcome).toMatch(/^rejected SyntaxError/);
    expect(seen).toEqual(['ADDED a']);
  });

  it('a line longer than the bound is refused as soon as it passes it, newline or not', async () => {
    const long = 'x'.repeat(60);
    const { outcome } = await read([long, long], { end: false, maxBytes: 100 });
    expect(outcome).toBe('rejected Error: watch event of 120 bytes refused');
    const whole = await read([`${line('ADDED', 'y'.repeat(200))}\n`], { maxBytes: 100 });
    expect(whole.outcome).toMatch(/bytes refused/);
    expect(whole.seen).toEqual([]);
  });

  it('a handler that throws rejects with its error and stops reading', async () => {
    const response = new PassThrough();
    const seen: string[] = [];
    const done = readWatchStream<Obj>(response, (event) => {
      seen.push(event.object.metadata.name);
      throw new Error('handler broke');
    });
    response.write(`${line('ADDED', 'a')}\n${line('ADDED', 'b')}\n`);
    await expect(done).rejects.toThrow('handler broke');
    expect(seen).toEqual(['a']);
  });

  it('a connection error rejects; a close without an end resolves (the caller watches again)', async () => {
    const failing = new PassThrough();
    const failed = readWatchStream(failing, () => undefined);
    failing.destroy(new Error('ECONNRESET'));
    await expect(failed).rejects.toThrow('ECONNRESET');
    const closing = new PassThrough();
    const seen: string[] = [];
    const closed = readWatchStream<Obj>(closing, (e) => seen.push(e.object.metadata.name));
    closing.write(`${line('ADDED', 'a')}\n{"half":`);
    await new Promise((r) => setImmediate(r));
    closing.destroy();
    await expect(closed).resolves.toBeUndefined();
    expect(seen).toEqual(['a']);
  });
});
