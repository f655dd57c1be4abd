/**
 * One copy of each equal string, for strings that many long-lived objects carry: a value parsed from
 * JSON is a new string every time, however often the same text recurs. Bounded: once `capacity`
 * distinct strings are held, new ones are returned as they came (nothing is evicted, so the strings
 * held stay shared).
 */
export class StringPool {
  private readonly strings = new Map<string, string>();

  constructor(readonly capacity: number) {}

  /** The pool's copy of `value` (adding it while there is room). */
  intern(value: string): string {
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    if (this.strings.size < this.capacity) this.strings.set(value, value);
    return value;
  }

  /** How many distinct strings the pool holds. */
  get size(): number {
    return this.strings.size;
  }
}
