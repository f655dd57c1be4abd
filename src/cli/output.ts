import { stringify } from 'yaml';

export const outputFormats = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof outputFormats)[number];

/** Where a command writes: stdout and stderr, injectable for tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** A failure to report as `Error: <message>` on stderr, exit code 1. */
export class CliError extends Error {}

/** kubectl's table layout: columns left-aligned, separated by three spaces, no trailing blanks. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].map((l) => `${l}\n`).join('');
}

/** A document as JSON (kubectl's indentation of 4) or YAML. */
export function formatDocument(value: unknown, format: 'json' | 'yaml'): string {
  if (format === 'json') return `${JSON.stringify(value, null, 4)}\n`;
  return stringify(value, { lineWidth: 0 });
}

/** kubectl's `-o json` of several objects: a v1 List. */
export function asList(items: readonly unknown[]): { apiVersion: 'v1'; kind: 'List'; items: unknown[] } {
  return { apiVersion: 'v1', kind: 'List', items: [...items] };
}

/** Go's time.RFC822 layout ("02 Jan 06 15:04 MST"), in UTC, as Stork's storkctl prints times. */
export function rfc822(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    `${two(date.getUTCDate())} ${months[date.getUTCMonth()] ?? ''} ${two(date.getUTCFullYear() % 100)} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())} UTC`
  );
}

/** kubectl's short age: 45s, 12m, 5h, 3d. */
export function age(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now - new Date(iso).getTime()) / 1000));
  if (Number.isNaN(seconds)) return '<unknown>';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}
