/** One step of the demo, for the summary table. */
export interface DemoStep {
  readonly step: string;
  readonly result: string;
  readonly seconds: number;
}

/** What the demo prints, and the steps it timed. */
export class Narrator {
  readonly steps: DemoStep[] = [];

  constructor(readonly print: (text: string) => void) {}

  /** A heading: what comes next and why. */
  say(text: string): void {
    this.print(`\n==> ${text}`);
  }

  /** Runs a step and records how long it took, with its result in a few words. */
  async timed<T>(step: string, action: () => Promise<T>, result: (value: T) => string): Promise<T> {
    const started = Date.now();
    const value = await action();
    this.steps.push({ step, result: result(value), seconds: Math.round((Date.now() - started) / 100) / 10 });
    return value;
  }
}

/**
 * The error a step throws when what it narrates did not happen: the claim, then the evidence (object
 * status, events, the component's last log lines), so that the reader sees why without digging.
 */
export function demoFailure(claim: string, evidence: Record<string, readonly string[] | string>): Error {
  const parts = [claim];
  for (const [what, lines] of Object.entries(evidence)) {
    const list = typeof lines === 'string' ? [lines] : lines;
    parts.push(`  ${what}:`, ...(list.length > 0 ? list : ['(none)']).map((l) => `    ${l}`));
  }
  return new Error(parts.join('\n'));
}
