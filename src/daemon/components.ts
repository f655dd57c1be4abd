// Adapters that give stork's parts the one shape the lifecycle runs: `run(signal)`.
import type { DriverCache } from '../drivers/cache.js';
import type { Informer, KubeObject } from '../k8s/informer.js';
import { untilAborted, type Component } from './lifecycle.js';

/** An informer: lists and watches from start to shutdown; ready once its first list is in. */
export function informerComponent(
  name: string,
  informer: Pick<Informer<KubeObject>, 'run' | 'whenSynced'>,
): Component {
  return {
    name: `informer/${name}`,
    scope: 'every-replica',
    run: (signal) => informer.run(signal),
    whenReady: () => informer.whenSynced(),
  };
}

/** The driver cache's background refresh; ready after its first attempt (which may have failed). */
export function driverCacheComponent(cache: DriverCache): Component {
  let first: Promise<void> | undefined;
  return {
    name: 'driver-cache',
    scope: 'every-replica',
    run: async (signal) => {
      first = cache.start();
      await first;
      await untilAborted(signal);
      cache.stop();
      await cache.stopped();
    },
    whenReady: async () => {
      await first;
    },
  };
}

/**
 * A server (or anything else) with an asynchronous start and stop: `start` runs when the part starts,
 * `stop` when the signal aborts. Ready once `start` resolved.
 */
export function serviceComponent(
  name: string,
  start: () => Promise<void>,
  stop: () => Promise<void>,
): Component {
  let started: Promise<void> | undefined;
  return {
    name,
    scope: 'every-replica',
    run: async (signal) => {
      started = start();
      await started;
      await untilAborted(signal);
      await stop();
    },
    whenReady: async () => {
      await started;
    },
  };
}

/** Work done once when stopping (closing the event recorder, the driver, the API client). */
export function cleanupComponent(name: string, cleanup: () => Promise<void>): Component {
  return {
    name,
    scope: 'every-replica',
    run: async (signal) => {
      await untilAborted(signal);
      await cleanup();
    },
  };
}
