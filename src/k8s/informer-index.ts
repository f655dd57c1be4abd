/** One named index of an informer: index key → the cache keys of the objects filed under it. */
export class InformerIndex<T> {
  private readonly entries = new Map<string, Set<string>>();

  constructor(private readonly keysOf: (object: T) => readonly string[]) {}

  keys(indexKey: string): ReadonlySet<string> {
    return this.entries.get(indexKey) ?? new Set();
  }

  update(objectKey: string, previous: T | undefined, next: T | undefined): void {
    for (const k of previous ? this.keysOf(previous) : []) {
      const set = this.entries.get(k);
      set?.delete(objectKey);
      if (set?.size === 0) this.entries.delete(k);
    }
    for (const k of next ? this.keysOf(next) : []) {
      const set = this.entries.get(k);
      if (set) set.add(objectKey);
      else this.entries.set(k, new Set([objectKey]));
    }
  }
}
