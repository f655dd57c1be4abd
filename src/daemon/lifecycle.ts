import { systemClock, type Clock } from '../lib/clock.js';
import { settlesWithin } from '../lib/deadline.js';
import type { LeaderElector } from '../k8s/leader-election.js';
import type { Logger } from '../lib/log.js';
import { errorText } from '../lib/errors.js';

/**
 * One long-running part of stork, in the manner of controller-runtime's `Runnable`: `run` starts it and
 * resolves once it has stopped, which it must do promptly after `signal` aborts.
 */
export interface Component {
  readonly name: string;
  /**
   * `every-replica` parts (informers, the extender, the webhook, metrics) run from start to shutdown;
   * `leader-only` parts (controllers that write) run during a leadership term, with the term's signal,
   * and are started afresh for every term (controller-runtime's `LeaderElectionRunnable`).
   */
  readonly scope: 'every-replica' | 'leader-only';
  run(signal: AbortSignal): Promise<void>;
  /** For every-replica parts: resolves once the part serves (a cache synced, a port bound). */
  whenReady?(): Promise<void>;
}

export interface LifecycleOptions {
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Campaigns for the leader-only parts; without one they run from start to shutdown. */
  readonly elector?: LeaderElector | undefined;
  /** Called once when stork cannot safely go on (the caller exits); the reason says why. */
  readonly onFatal?: (error: unknown) => void;
}

interface Started {
  readonly component: Component;
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

/**
 * Runs stork's components and stops them in order. Start: every-replica parts one by one, each ready
 * before the next starts; then the campaign for the leader-only parts. Stop (SIGTERM): leader-only work
 * stops and the Lease is released first, so another replica leads within one retry period; then the
 * every-replica parts stop in reverse order (servers drain before the caches they read stop). Every phase
 * gets only what is left of one shutdown budget.
 */
export class Lifecycle {
  private readonly clock: Clock;
  private readonly components: Component[] = [];
  private readonly started: Started[] = [];
  private campaign: Promise<void> | undefined;
  private readonly unelectedTerm = new AbortController();
  private leading = false;
  private stopping = false;
  private fatal = false;

  constructor(private readonly options: LifecycleOptions) {
    this.clock = options.clock ?? systemClock;
  }

  add(component: Component): this {
    this.components.push(component);
    return this;
  }

  /** Whether the leader-only parts run on this replica now. */
  isLeader(): boolean {
    return this.options.elector ? this.options.elector.isLeader : this.leading;
  }

  /** Starts the every-replica parts (each ready before the next), then the campaign. */
  async start(): Promise<void> {
    for (const component of this.components.filter((c) => c.scope === 'every-replica')) {
      const controller = new AbortController();
      const done = component.run(controller.signal).then(
        () => {
          if (!controller.signal.aborted) this.fail(new Error(`${component.name} stopped on its own`));
        },
        (error: unknown) => {
          if (!controller.signal.aborted) this.fail(error, `${component.name} failed`);
        },
      );
      this.started.push({ component, controller, done });
      if (component.whenReady) {
        const failed = done.then(() => {
          throw new Error(`${component.name} stopped before it was ready`);
        });
        await Promise.race([component.whenReady(), failed]);
      }
    }
    const leaderOnly = this.components.filter((c) => c.scope === 'leader-only');
    if (leaderOnly.length === 0) return;
    const { elector, logger } = this.options;
    if (elector) {
      this.campaign = elector
        .run((signal) => this.lead(leaderOnly, signal))
        .catch((error: unknown) => {
          this.fail(error, 'leader election');
        });
    } else {
      this.campaign = this.lead(leaderOnly, this.unelectedTerm.signal);
    }
    logger.debug({ components: this.components.map((c) => `${c.name} (${c.scope})`) }, 'components started');
  }

  /**
   * Stops everything within `budgetMs`: leader-only work and the Lease first, then the every-replica
   * parts in reverse start order. A part that does not stop in the time left is reported and left behind
   * (the process exits after this anyway).
   */
  async stop(budgetMs: number): Promise<void> {
    this.stopping = true;
    const { logger } = this.options;
    const end = this.clock.now() + budgetMs;
    const left = (): number => Math.max(0, end - this.clock.now());
    if (this.campaign) {
      this.options.elector?.stop();
      this.unelectedTerm.abort();
      if (!(await settlesWithin(this.clock, left(), this.campaign))) {
        logger.error('leader-only work did not stop within the shutdown budget');
      }
    }
    for (const started of [...this.started].reverse()) {
      started.controller.abort();
      if (!(await settlesWithin(this.clock, left(), started.done))) {
        logger.error({ component: started.component.name }, 'did not stop within the shutdown budget');
      }
    }
    this.started.length = 0;
  }

  private async lead(components: readonly Component[], signal: AbortSignal): Promise<void> {
    const { logger } = this.options;
    this.leading = true;
    logger.info('leading: starting leader-only components');
    await Promise.all(
      components.map(async (c) => {
        try {
          await c.run(signal);
        } catch (error) {
          logger.error({ component: c.name, err: errorText(error) }, 'leader-only component failed');
        }
      }),
    );
    this.leading = false;
    logger.info({ reason: errorText(signal.reason) }, 'no longer leading: leader-only components stopped');
  }

  private fail(error: unknown, context?: string): void {
    if (this.stopping || this.fatal) return;
    this.fatal = true;
    this.options.logger.fatal({ err: errorText(error) }, context ?? 'stork cannot go on');
    this.options.onFatal?.(error);
  }
}

/** Resolves when `signal` aborts. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
