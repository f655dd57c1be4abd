// Two stork replicas, each reaching the API server through a proxy of this test's own, and three ways of
// losing the leader, repeated: its API server goes silent (the proxy keeps the connections open and
// forwards nothing), SIGTERM, SIGKILL. The replicas' own logs give the timeline of their terms.
import { writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lease } from '../../src/wire/k8s-types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../src/box/ports.js';
import { startBoxStorage, type BoxStorage } from '../../src/box/storage.js';
import { startStorkProcess, type StorkProcess } from '../../src/box/stork-process.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { useBox } from './helpers.js';
import { StallProxy } from './stall-proxy.js';

const timings = { leaseMs: 6000, renewMs: 4000, retryMs: 1000 };
const runs = Number(process.env['STORK_FAILOVER_RUNS'] ?? 5);
/** Log timestamps are milliseconds; the test polls; processes on a loaded machine are scheduled late. */
const slackMs = 1500;

interface LogEntry {
  readonly at: number;
  readonly msg: string;
}

interface Replica {
  readonly proxy: StallProxy;
  stork: StorkProcess;
  identity: string;
  launchedAt: number;
  readonly log: LogEntry[];
}

const started = 'leading: starting leader-only components';
const stopped = 'no longer leading: leader-only components stopped';

describe('failover between two stork replicas', () => {
  const ctx = useBox(() => ({ nodes: [{ name: 'node-1' }, { name: 'node-2' }] }));
  let storage: BoxStorage | undefined;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    storage = await startBoxStorage(ctx.box);
  });
  afterAll(async () => {
    for (const r of replicas) {
      r.stork.child.kill('SIGKILL');
      await r.proxy.close();
    }
    await storage?.stop();
  });

  async function launch(
    replica: Omit<Replica, 'stork' | 'identity' | 'launchedAt'> & Partial<Replica>,
  ): Promise<Replica> {
    if (!storage) throw new Error('storage did not start');
    const launchedAt = Date.now();
    const [port = 0] = await freePorts(1);
    const stork = await startStorkProcess({
      box: ctx.box,
      storage,
      extenderPort: port,
      apiServer: replica.proxy.url,
      args: [
        `--leader-elect-lease-duration=${timings.leaseMs}ms`,
        `--leader-elect-renew-deadline=${timings.renewMs}ms`,
        `--leader-elect-retry-period=${timings.retryMs}ms`,
      ],
      onLogLine: (line) => {
        if (!line.startsWith('{')) return;
        const entry = JSON.parse(line) as { time?: string; msg?: string };
        replica.log.push({ at: Date.parse(entry.time ?? ''), msg: entry.msg ?? '' });
      },
    });
    return Object.assign<typeof replica, Pick<Replica, 'stork' | 'launchedAt' | 'identity'>>(replica, {
      stork,
      launchedAt,
      identity: `${hostname()}_${stork.child.pid ?? 0}`,
    });
  }

  const holder = async (): Promise<string> =>
    (await ctx.box.api.get<Lease>(resources.leases, { namespace: 'kube-system', name: 'stork' })).spec
      ?.holderIdentity ?? '';

  const firstAfter = (r: Replica, msg: string, after: number): number | undefined =>
    r.log.find((e) => e.msg === msg && e.at >= after)?.at;

  async function leaderAndFollower(): Promise<[Replica, Replica]> {
    const id = await waitFor(
      'one of the replicas to hold the Lease',
      async () => {
        const h = await holder().catch(() => '');
        return replicas.some((r) => r.identity === h) ? h : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const leader = replicas.find((r) => r.identity === id);
    const follower = replicas.find((r) => r.identity !== id);
    if (!leader || !follower) throw new Error('no leader');
    // The leader's leader-only components run.
    await waitFor(
      'the leader to start its components',
      () => firstAfter(leader, started, leader.launchedAt) !== undefined,
      { timeoutMs: 30_000 },
    );
    return [leader, follower];
  }

  async function waitLeading(r: Replica, after: number, what: string): Promise<number> {
    return waitFor(what, () => firstAfter(r, started, after), { timeoutMs: 60_000, intervalMs: 50 });
  }

  it(`hands over without two leaders, ${runs} times each: a silent API server, SIGTERM, SIGKILL`, async () => {
    for (let i = 0; i < 2; i++) {
      replicas.push(await launch({ proxy: await StallProxy.start(new URL(ctx.box.server)), log: [] }));
    }
    const measured = { stall: [] as number[], sigterm: [] as number[], sigkill: [] as number[] };
    const timelines: string[] = [];
    for (let run = 0; run < runs; run++) {
      // 1. The leader's API server goes silent.
      {
        const [leader, follower] = await leaderAndFollower();
        const at = Date.now();
        leader.proxy.stall();
        const next = await waitLeading(follower, at, 'the other replica to lead after the stall');
        const oldStopped = await waitFor(
          'the stalled leader to stop',
          () => firstAfter(leader, stopped, at),
          {
            timeoutMs: 30_000,
          },
        );
        timelines.push(
          `stall ${run}: stalled at 0, old leader stopped +${oldStopped - at} ms, new leader started +${next - at} ms`,
        );
        // Its last leader-only work ended before the other replica's began.
        expect(oldStopped).toBeLessThan(next);
        expect(oldStopped - at).toBeLessThanOrEqual(timings.renewMs + slackMs);
        measured.stall.push(oldStopped - at);
        leader.proxy.resume();
      }
      // 2. SIGTERM: the Lease is released and the other replica leads within one retry period.
      {
        const [leader, follower] = await leaderAndFollower();
        const at = Date.now();
        leader.stork.child.kill('SIGTERM');
        const released = await waitFor(
          'the Lease to be released or taken',
          async () => ((await holder()) !== leader.identity ? Date.now() : undefined),
          { timeoutMs: 30_000, intervalMs: 20 },
        );
        const next = await waitLeading(follower, at, 'the other replica to lead after SIGTERM');
        timelines.push(`sigterm ${run}: released +${released - at} ms, new leader started +${next - at} ms`);
        expect(next - released).toBeLessThanOrEqual(timings.retryMs * 1.2 + slackMs);
        measured.sigterm.push(next - at);
        await new Promise<void>((resolve) => {
          if (leader.stork.child.exitCode !== null) resolve();
          else leader.stork.child.once('exit', () => resolve());
        });
        await launch(leader);
      }
      // 3. SIGKILL: the other replica leads within the lease duration plus one retry period.
      {
        const [leader, follower] = await leaderAndFollower();
        const at = Date.now();
        leader.stork.child.kill('SIGKILL');
        const next = await waitLeading(follower, at, 'the other replica to lead after SIGKILL');
        timelines.push(`sigkill ${run}: new leader started +${next - at} ms`);
        expect(next - at).toBeLessThanOrEqual(timings.leaseMs + timings.retryMs * 1.2 + slackMs);
        measured.sigkill.push(next - at);
        await launch(leader);
      }
    }
    const summary = Object.fromEntries(
      Object.entries(measured).map(([name, values]) => {
        const sorted = [...values].sort((a, b) => a - b);
        const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
        return [
          name,
          { runs: values.length, minMs: sorted[0], medianMs: median, maxMs: sorted.at(-1), values },
        ];
      }),
    );
    const report = { timings, summary, timelines };
    const file = join(tmpdir(), `stork-failover-${process.pid}.json`);
    await writeFile(file, JSON.stringify(report, null, 2));
    console.log(`failover timings (${file}):\n${JSON.stringify(report, null, 2)}`);
    for (const r of replicas) expect(r.stork.refusals).toEqual([]);
  }, 900_000);
});
