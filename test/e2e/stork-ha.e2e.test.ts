import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import type { Lease } from '../../src/wire/k8s-types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../src/box/ports.js';
import { startBoxStorage, type BoxStorage } from '../../src/box/storage.js';
import { startStorkProcess, type StorkProcess } from '../../src/box/stork-process.js';
import { isNotFound } from '../../src/k8s/errors.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { useBox } from './helpers.js';

describe('two stork processes: one leader, and a fast takeover when it dies', () => {
  const ctx = useBox(() => ({ nodes: [{ name: 'node-1' }, { name: 'node-2' }] }));
  let storage: BoxStorage | undefined;
  const storks: ChildProcess[] = [];
  const running: StorkProcess[] = [];

  beforeAll(async () => {
    storage = await startBoxStorage(ctx.box);
  });
  afterAll(async () => {
    for (const child of storks) child.kill('SIGKILL');
    await storage?.stop();
  });

  async function startStork(): Promise<{ child: ChildProcess; port: number }> {
    const [port = 0] = await freePorts(1);
    if (!storage) throw new Error('storage did not start');
    const stork = await startStorkProcess({ box: ctx.box, storage, extenderPort: port });
    storks.push(stork.child);
    running.push(stork);
    return { child: stork.child, port };
  }

  const holder = async (): Promise<string | undefined> => {
    try {
      return (await ctx.box.api.get<Lease>(resources.leases, { namespace: 'kube-system', name: 'stork' }))
        .spec?.holderIdentity;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };

  it('elects exactly one; SIGKILL on the leader hands over within 20 s, and both serve the extender throughout', async () => {
    const a = await startStork();
    const b = await startStork();
    const identities = new Map([
      [`${hostname()}_${a.child.pid ?? 0}`, a],
      [`${hostname()}_${b.child.pid ?? 0}`, b],
    ]);
    const first = await waitFor(
      'a leader',
      async () => {
        const h = await holder();
        return h && identities.has(h) ? h : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const leader = identities.get(first);
    const follower = leader === a ? b : a;
    // The follower serves the extender while it waits to lead.
    expect((await fetch(`http://127.0.0.1:${follower.port}/healthz`)).ok).toBe(true);

    const killedAt = Date.now();
    leader?.child.kill('SIGKILL');
    const next = await waitFor(
      'the other replica to lead',
      async () => {
        const h = await holder();
        return h && h !== first ? h : undefined;
      },
      { timeoutMs: 25_000, intervalMs: 250 },
    );
    expect(identities.get(next)).toBe(follower);
    expect(Date.now() - killedAt).toBeLessThan(20_000);
    expect((await fetch(`http://127.0.0.1:${follower.port}/healthz`)).ok).toBe(true);
    // Both ran as the shipped ServiceAccount (the default) and the API server refused them nothing.
    for (const stork of running) expect(stork.refusals).toEqual([]);
  });
});
