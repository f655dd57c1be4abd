/** Percentile (nearest rank) of a list of samples, in the samples' unit. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export const round = (value: number, digits = 3): number => Number(value.toFixed(digits));

/** Min / median / max of per-round figures: the spread a single round would hide. */
export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

export function spread(values: readonly number[], digits = 3): Spread {
  return {
    min: round(percentile(values, 0), digits),
    median: round(percentile(values, 50), digits),
    max: round(percentile(values, 100), digits),
  };
}

/** `min / median / max` as one table cell. */
export const cell = (s: Spread): string => `${s.min} / ${s.median} / ${s.max}`;

/** The machine's load average right now (1, 5, 15 minutes): the box shares its cores with other work. */
export async function loadAverage(): Promise<string> {
  const os = await import('node:os');
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/** Prints rows as an aligned table. */
export function printTable(rows: readonly Record<string, string | number>[]): void {
  const first = rows[0];
  if (!first) return;
  const columns = Object.keys(first);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ');
  console.log(line(columns));
  for (const row of rows) console.log(line(columns.map((c) => String(row[c]))));
}

/** What machine a result came from, stored beside it. */
export async function machine(): Promise<Record<string, string | number>> {
  const os = await import('node:os');
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    load_average: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
}
