import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schedulingFixture } from '../../test/fixtures/scheduling.js';
import { silentLogger } from '../lib/log.js';
import { ExtenderServer, type DecisionRecord } from './server.js';

const fixture = schedulingFixture({
  nodes: [
    { name: 'node1', rack: 'r1' },
    { name: 'node2', rack: 'r2', driver: { status: 'Offline' } },
    { name: 'node3', rack: 'r1' },
  ],
  volumes: [{ id: 'v1', replicas: ['node1', 'node2'] }],
  claims: [
    { name: 'data', volume: 'v1' },
    { name: 'fresh', volume: 'v-new' },
  ],
});

describe('ExtenderServer', () => {
  const records: DecisionRecord[] = [];
  const requested: string[] = [];
  const server = new ExtenderServer({
    state: () => fixture.state,
    decisionOptions: { staleAfterMs: 60_000 },
    logger: silentLogger,
    onDecision: (r) => records.push(r),
    requestVolumes: (ids) => requested.push(...ids),
    maxBodyBytes: 1_000_000,
    notReady: () => (ready ? undefined : 'storage state not loaded'),
    explain: (namespace, pod) => (pod === 'prioritize-me' ? { namespace, pod } : undefined),
    hyperconvergence: () => ({ pods: [] }),
  });
  let ready = false;
  let base = '';
  beforeAll(async () => {
    base = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
  });
  afterAll(() => server.close());

  const post = (path: string, body: unknown) =>
    fetch(base + path, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('filters full Node objects and returns them unchanged, with a reason per dropped node', async () => {
    const res = await post('/filter', { Pod: fixture.pod(['data']), Nodes: { items: fixture.nodes } });
    expect(res.status).toBe(200);
    const result = (await res.json()) as Record<string, unknown>;
    expect(result.Nodes).toEqual({ metadata: {}, items: [fixture.nodes[0], fixture.nodes[2]] });
    expect(result.NodeNames).toBeNull();
    expect(result.FailedNodes).toEqual({ node2: 'pxd storage on this node is Offline' });
    expect(result.FailedAndUnresolvableNodes).toEqual({ node2: 'pxd storage on this node is Offline' });
    expect(result.Error).toBe('');
    expect(records.at(-1)?.verb).toBe('filter');
  });

  it('filters node names (nodeCacheCapable) and flags names it does not know', async () => {
    const res = await post('/filter', { pod: fixture.pod(['data']), nodenames: ['node3', 'node1', 'ghost'] });
    const result = (await res.json()) as Record<string, unknown>;
    expect(result.NodeNames).toEqual(['node3', 'node1']);
    expect(result.Nodes).toBeNull();
    expect(result.FailedNodes).toEqual({ ghost: 'node not yet in the extender’s node cache' });
  });

  it('prioritizes with scores in 1..10, leaving out nodes that score 0 (the scheduler reads them as 0)', async () => {
    const res = await post('/prioritize', {
      Pod: fixture.pod(['data']),
      NodeNames: ['node1', 'node3', 'ghost'],
    });
    expect(await res.json()).toEqual([{ Host: 'node1', Score: 10 }]);
  });

  it('answers a pod it cannot decide now with the reason in Error, and asks for the unknown volume', async () => {
    const res = await post('/filter', { Pod: fixture.pod(['fresh']), NodeNames: ['node1'] });
    const result = (await res.json()) as Record<string, unknown>;
    expect(result.Error).toMatch(/v-new not yet known/);
    expect(result.NodeNames).toEqual([]);
    expect(requested).toContain('v-new');
  });

  it.each([
    ['/filter', 'not json', 400, /Decode error/],
    ['/filter', { Pod: {} }, 400, /Pod.metadata.name is missing/],
    ['/prioritize', { Pod: { metadata: { name: 'p' } } }, 400, /neither Nodes nor NodeNames/],
    ['/invalidPath', {}, 404, /Unsupported request/],
  ])('rejects POST %s %j with %i', async (path, body, status, message) => {
    const res = await post(path, body);
    expect(res.status).toBe(status);
    expect(await res.text()).toMatch(message);
  });

  it('rejects a GET on a verb, and a body over the limit, and keeps serving', async () => {
    expect((await fetch(`${base}/filter`)).status).toBe(405);
    const big = await post('/filter', 'x'.repeat(2_000_000)).catch(() => undefined);
    if (big) expect(big.status).toBe(413);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('answers /readyz with 503 and the reason until ready', async () => {
    const before = await fetch(`${base}/readyz`);
    expect([before.status, await before.text()]).toEqual([503, 'storage state not loaded']);
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('routes by the verb anywhere in the path, as Stork does', async () => {
    const res = await post('/stork/v1/filter', { Pod: fixture.pod([]), NodeNames: ['node1'] });
    expect(((await res.json()) as { NodeNames: string[] }).NodeNames).toEqual(['node1']);
  });

  it("serves storkctl's read-only documents by path, whatever the query says", async () => {
    const before = records.length;
    const explain = await fetch(`${base}/explain?namespace=ns&pod=prioritize-me`);
    expect(explain.status).toBe(200);
    expect(await explain.json()).toEqual({ namespace: 'ns', pod: 'prioritize-me' });
    const unknown = await fetch(`${base}/explain?namespace=ns&pod=filter-other`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toBe("pod ns/filter-other is not in stork's cache");
    expect((await fetch(`${base}/explain`)).status).toBe(400);
    expect(await (await fetch(`${base}/hyperconvergence`)).json()).toEqual({ pods: [] });
    expect(records.length).toBe(before);
  });
});
