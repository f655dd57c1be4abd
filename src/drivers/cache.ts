import { setTimeout as sleep } from 'node:timers/promises';
import type { VolumeDriver } from './driver.js';
import { driverState, emptyDriverState, type DriverState } from './driver-state.js';
import { errorText } from '../lib/errors.js';

/** At most this many volume ids are remembered as absent (the oldest are forgotten first). */
const maxAbsentVolumes = 1000;

/** The asked-for ids a complete listing did not have, newest last, bounded. */
function absent(asked: readonly string[], listed: ReadonlyMap<string, unknown>): ReadonlySet<string> {
  const missing = new Set(asked.filter((id) => !listed.has(id)));
  const ids = [...missing];
  return new Set(ids.slice(Math.max(0, ids.length - maxAbsentVolumes)));
}

export interface DriverCacheOptions {
  readonly driver: VolumeDriver;
  /** How often nodes and volumes are re-read (default 5 s). */
  readonly refreshIntervalMs?: number;
  readonly onError?: (error: unknown, context: string) => void;
  /** Called after every refresh, successful or not. */
  readonly onRefresh?: (snapshot: DriverState) => void;
  /** A monotonic clock in ms (default `performance.now`); tests drive it. */
  readonly now?: () => number;
}

/**
 * Keeps the storage system's nodes and volumes in memory, refreshed in the background, so that no request
 * path waits on the storage system. A volume nobody has seen yet can be asked for with
 * {@link DriverCache.requestVolume}: it is fetched in the background and appears in a later snapshot.
 */
export class DriverCache {
  private current: DriverState = emptyDriverState;
  private nodesFingerprint = '';
  private readonly wanted = new Set<string>();
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly controller = new AbortController();
  /** When a request for unknown volumes last brought a refresh forward. */
  private lastEarlyRefresh = Number.NEGATIVE_INFINITY;
  private readonly listeners = new Set<(snapshot: DriverState) => void>();

  constructor(private readonly options: DriverCacheOptions) {}

  get refreshIntervalMs(): number {
    return this.options.refreshIntervalMs ?? 5000;
  }

  snapshot(): DriverState {
    return this.current;
  }

  /**
   * Calls `listener` after every refresh (successful or not) with the new snapshot, so a controller can
   * react to a node status change at once instead of polling. Returns the unsubscribe function. A
   * listener that throws is reported through `onError` and does not stop the others.
   */
  subscribe(listener: (snapshot: DriverState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts the refresh loop; resolves after the first attempt (successful or not). */
  async start(): Promise<void> {
    if (this.loop) return;
    const first = this.refresh();
    this.loop = first.then(() => this.run());
    await first;
  }

  stop(): void {
    this.controller.abort();
    this.wake?.();
  }

  async stopped(): Promise<void> {
    await this.loop;
  }

  /** Asks for a volume the snapshot lacks; a refresh runs soon. Never blocks. */
  requestVolume(id: string): void {
    if (this.current.volumesById.has(id) || this.wanted.has(id)) return;
    // Bounded: the set only says that a refresh is wanted, and is cleared by every refresh.
    if (this.wanted.size < 1000) this.wanted.add(id);
    // At most one refresh brought forward per interval: scheduling requests for volumes the storage
    // system does not have (a deleted volume, a forged request) cannot turn into one full listing each.
    const now = (this.options.now ?? performance.now.bind(performance))();
    if (now - this.lastEarlyRefresh < this.refreshIntervalMs) return;
    this.lastEarlyRefresh = now;
    this.wake?.();
  }

  /** Refreshes now (e.g. in tests, or after a known change) and returns the new snapshot. */
  async refresh(): Promise<DriverState> {
    const { driver } = this.options;
    const signal = this.controller.signal;
    const absentBefore = this.current.absentVolumeIds;
    const asked = [...(absentBefore ?? []), ...this.wanted];
    this.wanted.clear();
    try {
      const [nodes, volumes] = await Promise.all([driver.listNodes(signal), driver.listVolumes(signal)]);
      // Keep the previous node list (the same array) when nothing about the nodes changed, so what is
      // derived from it (node matching, per-node facts) survives refreshes that changed nothing.
      const fingerprint = JSON.stringify(nodes);
      const sameNodes = fingerprint === this.nodesFingerprint;
      this.nodesFingerprint = fingerprint;
      this.current = driverState(
        sameNodes ? this.current.nodes : nodes,
        volumes,
        Date.now(),
        this.current.version + 1,
      );
      this.current = { ...this.current, absentVolumeIds: absent(asked, this.current.volumesById) };
    } catch (error) {
      this.options.onError?.(error, `refreshing ${driver.name} nodes and volumes`);
      // Keep serving the last good state; its age tells readers how far to trust it.
      this.current = driverState(
        this.current.nodes,
        [...this.current.volumesById.values()],
        this.current.refreshedAt,
        this.current.version + 1,
        errorText(error),
      );
      // A failed refresh confirms nothing: what was known absent stays so, nothing more.
      if (absentBefore) this.current = { ...this.current, absentVolumeIds: absentBefore };
    }
    this.options.onRefresh?.(this.current);
    for (const listener of this.listeners) {
      try {
        listener(this.current);
      } catch (error) {
        this.options.onError?.(error, 'a driver cache listener failed');
      }
    }
    return this.current;
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    const stopped = (): boolean => signal.aborted;
    while (!stopped()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.refreshIntervalMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
      if (stopped()) break;
      // Coalesce a burst of requests for unknown volumes into one refresh.
      if (this.wanted.size > 0) await sleep(50);
      await this.refresh();
    }
  }
}
