import { setTimeout as sleep } from 'node:timers/promises';
import type { VolumeDriver } from './driver.js';
import { emptyDriverState, type DriverState } from './driver-state.js';
import { errorText } from '../lib/errors.js';
import type { DriverNode, DriverVolume } from './driver.js';
import { sameVolume } from './same-volume.js';
import { sameNodes } from './same-node.js';

/** At most this many volume ids are remembered as absent (the oldest are forgotten first). */
const maxAbsentVolumes = 1000;

function byId(nodes: readonly DriverNode[]): ReadonlyMap<string, DriverNode> {
  return new Map(nodes.map((n) => [n.id, n]));
}

/**
 * The listed volumes, keeping the earlier object of each volume that did not change, and the earlier map
 * itself when none did (same ids, every one the same): a refresh that changed nothing changes no identity.
 */
function merged(
  before: ReadonlyMap<string, DriverVolume>,
  listed: readonly DriverVolume[],
): ReadonlyMap<string, DriverVolume> {
  const after = new Map<string, DriverVolume>();
  let changed = false;
  for (const volume of listed) {
    const earlier = before.get(volume.id);
    if (earlier && sameVolume(earlier, volume)) after.set(volume.id, earlier);
    else {
      after.set(volume.id, volume);
      changed = true;
    }
  }
  return changed || after.size !== before.size ? after : before;
}

/** The asked-for ids a complete listing did not have, newest last, bounded. */
function absent(asked: readonly string[], listed: ReadonlyMap<string, unknown>): ReadonlySet<string> {
  const missing = new Set(asked.filter((id) => !listed.has(id)));
  const ids = [...missing];
  return new Set(ids.slice(Math.max(0, ids.length - maxAbsentVolumes)));
}

export interface DriverCacheOptions {
  readonly driver: VolumeDriver;
  /** How often nodes are re-read (default 5 s). */
  readonly refreshIntervalMs?: number;
  /**
   * How often volumes are re-read (default: as often as the nodes). Listing every volume is the biggest
   * part of a refresh (for 10,000 volumes, tens of ms of CPU to decode and map), and only placement reads
   * volumes: a volume nobody has seen yet is read at once when asked for ({@link DriverCache.requestVolume}).
   */
  readonly volumeRefreshIntervalMs?: number;
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
  private readonly wanted = new Set<string>();
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly controller = new AbortController();
  /** When a request for unknown volumes last brought a refresh forward. */
  private lastEarlyRefresh = Number.NEGATIVE_INFINITY;
  /** When the volumes were last listed successfully (on the `now` clock). */
  private lastVolumeListing = Number.NEGATIVE_INFINITY;
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
    // A volume a complete listing lacked is not asked for again: a pod naming a deleted volume would
    // otherwise bring the full listing back to every refresh. It is seen by the next regular listing.
    if (this.current.volumesById.has(id) || this.wanted.has(id)) return;
    if (this.current.absentVolumeIds?.has(id)) return;
    // Bounded: the set only says that a refresh is wanted, and is cleared by every refresh.
    if (this.wanted.size < 1000) this.wanted.add(id);
    // At most one refresh brought forward per interval: scheduling requests for volumes the storage
    // system does not have (a deleted volume, a forged request) cannot turn into one full listing each.
    const now = this.now();
    if (now - this.lastEarlyRefresh < this.refreshIntervalMs) return;
    this.lastEarlyRefresh = now;
    this.wake?.();
  }

  get volumeRefreshIntervalMs(): number {
    return this.options.volumeRefreshIntervalMs ?? this.refreshIntervalMs;
  }

  /** Refreshes nodes and volumes now (e.g. in tests, or after a known change); returns the new snapshot. */
  refresh(): Promise<DriverState> {
    return this.refreshNow(true);
  }

  /**
   * One refresh of the loop: the nodes always; the volumes when their interval has passed, or when
   * someone asked for one the cache lacks.
   */
  private async refreshNow(allVolumes: boolean): Promise<DriverState> {
    const { driver } = this.options;
    const signal = this.controller.signal;
    const previous = this.current;
    const absentBefore = previous.absentVolumeIds;
    const asked = [...(absentBefore ?? []), ...this.wanted];
    const now = this.now();
    const listVolumes =
      allVolumes || this.wanted.size > 0 || now - this.lastVolumeListing >= this.volumeRefreshIntervalMs;
    this.wanted.clear();
    try {
      const [nodes, volumes] = await Promise.all([
        driver.listNodes(signal),
        listVolumes ? driver.listVolumes(signal) : undefined,
      ]);
      if (listVolumes) this.lastVolumeListing = now;
      // Keep the previous node list (the same array) when nothing about the nodes changed, so what is
      // derived from it (node matching, per-node facts) survives refreshes that changed nothing.
      const unchanged = sameNodes(previous.nodes, nodes);
      const volumesById = volumes ? merged(previous.volumesById, volumes) : previous.volumesById;
      const wallNow = Date.now();
      this.current = {
        nodes: unchanged ? previous.nodes : nodes,
        nodesById: unchanged ? previous.nodesById : byId(nodes),
        volumesById,
        refreshedAt: wallNow,
        lastError: undefined,
        version: previous.version + 1,
        // Only a complete listing of the volumes tells that an asked-for one does not exist.
        ...(volumes
          ? { absentVolumeIds: absent(asked, volumesById) }
          : absentBefore
            ? { absentVolumeIds: absentBefore }
            : {}),
      };
    } catch (error) {
      this.options.onError?.(error, `refreshing ${driver.name} nodes and volumes`);
      // Keep serving the last good state; its age tells readers how far to trust it. A failed refresh
      // confirms nothing: what was known absent stays so, nothing more.
      this.current = { ...previous, lastError: errorText(error), version: previous.version + 1 };
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

  private now(): number {
    return (this.options.now ?? performance.now.bind(performance))();
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
      await this.refreshNow(false);
    }
  }
}
