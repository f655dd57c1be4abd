import type { Pod } from '../wire/k8s-types.js';
import type { DecisionRecord } from './server.js';

export interface UnconfirmedDecisionsOptions {
  /** Called with a held decision once stork's pod cache holds its pod with the same UID. */
  readonly deliver: (record: DecisionRecord) => void;
  /** Pods whose decisions wait at most (the oldest is forgotten first; default 1000). */
  readonly maxPods?: number;
  /** How long a decision waits for its pod (ms, default 30 s); older ones are dropped. */
  readonly maxAgeMs?: number;
  readonly now?: () => number;
}

interface Held {
  readonly record: DecisionRecord;
  readonly at: number;
}

/**
 * Decisions about pods stork's pod cache has not seen yet. kube-scheduler often asks about a pod before
 * stork's watch has delivered it, and stork writes (events, records) only about pods its cache holds by
 * UID, so such a decision would be lost: it waits here until the pod arrives, then goes out as if just
 * made. A request naming a pod that never arrives (or another UID) is dropped after `maxAgeMs`; nothing
 * here is trusted before the cache confirms it.
 */
export class UnconfirmedDecisions {
  private readonly waiting = new Map<string, Held[]>();
  private readonly maxPods: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(private readonly options: UnconfirmedDecisionsOptions) {
    this.maxPods = options.maxPods ?? 1000;
    this.maxAgeMs = options.maxAgeMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** Holds a decision whose pod the cache does not hold yet. */
  hold(record: DecisionRecord): void {
    const key = podKey(record.pod);
    if (key === undefined) return;
    const list = this.waiting.get(key);
    const held = { record, at: this.now() };
    if (list) {
      // One scheduling cycle is a filter then a prioritize; keep the latest of each.
      const kept = list.filter((h) => h.record.verb !== record.verb);
      this.waiting.delete(key);
      this.waiting.set(key, [...kept, held]);
      return;
    }
    if (this.waiting.size >= this.maxPods) {
      const oldest = this.waiting.keys().next();
      if (!oldest.done) this.waiting.delete(oldest.value);
    }
    this.waiting.set(key, [held]);
  }

  /** The cache holds this pod now: its held decisions (with the same UID, still fresh) go out. */
  podSeen(pod: Pod): void {
    if (this.waiting.size === 0) return;
    const key = podKey(pod);
    if (key === undefined) return;
    const list = this.waiting.get(key);
    if (!list) return;
    this.waiting.delete(key);
    const now = this.now();
    for (const held of list) {
      if (held.record.pod.metadata?.uid !== pod.metadata?.uid) continue;
      if (now - held.at > this.maxAgeMs) continue;
      this.options.deliver(held.record);
    }
  }

  /** How many pods have decisions waiting (for tests and the status document). */
  get size(): number {
    return this.waiting.size;
  }
}

function podKey(pod: Pod): string | undefined {
  const namespace = pod.metadata?.namespace;
  const name = pod.metadata?.name;
  if (!namespace || !name || !pod.metadata?.uid) return undefined;
  return `${namespace}/${name}`;
}
