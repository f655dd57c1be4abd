import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

/**
 * A logger that prints nothing and keeps its last lines, so that a demo step that fails can show what
 * the component said just before (the demo's output stays readable while things go well).
 */
export class LogTail {
  readonly logger: Logger;
  private readonly lines: string[] = [];

  constructor(
    name: string,
    private readonly keep = 400,
  ) {
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        for (const line of chunk.toString().split('\n')) if (line !== '') this.push(line);
        done();
      },
    });
    this.logger = pino({ name, level: 'info', base: { component: name } }, sink);
  }

  private push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.keep) this.lines.splice(0, this.lines.length - this.keep);
  }

  /** The last `count` lines mentioning `about` (all lines without it), as `LEVEL msg key=value...`. */
  tail(count: number, about?: string): string[] {
    const chosen = about === undefined ? this.lines : this.lines.filter((l) => l.includes(about));
    return chosen.slice(-count).map(summarize);
  }
}

const levels: Record<number, string> = { 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const skipped = new Set(['level', 'time', 'pid', 'hostname', 'name', 'component', 'msg']);

/** One JSON log line in a form a person reads in a terminal. */
export function summarize(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = typeof entry.level === 'number' ? (levels[entry.level] ?? String(entry.level)) : '';
  const fields = Object.entries(entry)
    .filter(([key]) => !skipped.has(key))
    .map(([key, value]) => {
      const text =
        key === 'err' && typeof value === 'object' && value !== null && 'message' in value
          ? String(value.message)
          : typeof value === 'string'
            ? value
            : JSON.stringify(value);
      return `${key}=${text}`;
    });
  return [level, typeof entry.msg === 'string' ? entry.msg : '', ...fields].filter((s) => s !== '').join(' ');
}
