import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schedulingFixture } from '../../test/fixtures/scheduling.js';
import { silentLogger } from '../lib/log.js';
import { request as httpsRequest } from 'node:https';
import { createCertificateAuthority, issueCertificate } from '../lib/pki.js';
import { ExtenderServer, defaultMaxNamesBodyBytes, type DecisionRecord } from './server.js';

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
    acceptNodeObjects: true,
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
});

describe('ExtenderServer bounds and error answers', () => {
  const started: ExtenderServer[] = [];
  afterAll(async () => {
    await Promise.all(started.map((s) => s.close()));
  });
  async function serve(options: Partial<ConstructorParameters<typeof ExtenderServer>[0]> = {}) {
    const server = new ExtenderServer({
      state: () => fixture.state,
      decisionOptions: { staleAfterMs: 60_000 },
      logger: silentLogger,
      ...options,
    });
    started.push(server);
    const base = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
    return (path: string, body: unknown) =>
      fetch(base + path, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  }

  it('refuses full Node objects when configured for names only (the default), with the fix in the reason', async () => {
    const post = await serve();
    const res = await post('/filter', { Pod: fixture.pod(['data']), Nodes: { items: fixture.nodes } });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/nodeCacheCapable: true/);
  });

  it('refuses more nodes than the cap with a 400', async () => {
    const post = await serve({ maxNodes: 2 });
    const res = await post('/filter', { Pod: fixture.pod([]), NodeNames: ['node1', 'node2', 'node3'] });
    expect([res.status, await res.text()]).toEqual([400, '3 nodes offered; at most 2 accepted']);
  });

  it('decides on cached Node objects, not on what the request says about them, and returns the sent ones', async () => {
    const post = await serve({ acceptNodeObjects: true });
    // The request claims node1 is marked unschedulable by the operator; stork's cache knows better.
    const forged = {
      ...fixture.nodes[0],
      metadata: {
        ...fixture.nodes[0]?.metadata,
        annotations: { 'operator.libopenstorage.org/unschedulable': 'true' },
      },
    };
    const res = await post('/filter', {
      Pod: fixture.pod(['data']),
      Nodes: { items: [forged, fixture.nodes[1]] },
    });
    const result = (await res.json()) as { Nodes: { items: unknown[] }; FailedNodes: Record<string, string> };
    expect(result.FailedNodes).toEqual({ node2: 'pxd storage on this node is Offline' });
    // The scheduler gets its own objects back, as it expects in object mode.
    expect(result.Nodes.items).toEqual([forged]);
  });

  it('never echoes unbounded input: a huge bogus field gives a short 400', async () => {
    const post = await serve();
    const huge = 'x'.repeat(200_000);
    for (const body of [`{"Pod": ${huge}}`, { Pod: { metadata: { name: 'p' } }, NodeNames: huge }]) {
      const res = await post('/filter' + huge.slice(0, 5000), body);
      const text = await res.text();
      expect(res.status).toBe(400);
      expect(text.length).toBeLessThan(400);
    }
    // A path is echoed in the 404: cut short.
    const lost = await post(`/${'a'.repeat(5000)}`, {});
    expect(lost.status).toBe(404);
    expect((await lost.text()).length).toBeLessThan(400);
  });

  it('answers an internal failure with a 500 that does not carry the exception text', async () => {
    const post = await serve({
      state: () => {
        throw new Error('secret internals at /srv/stork');
      },
    });
    const res = await post('/filter', { Pod: fixture.pod([]), NodeNames: ['node1'] });
    expect(res.status).toBe(500);
    expect(await res.text()).not.toMatch(/secret internals/);
  });

  it('accepts a 5,000-node names-only request under the default body limit (its size is measured here)', async () => {
    const post = await serve();
    // Node names as long as a DNS label may be, and a pod of about 20 KB (a large one: many env vars).
    const names = Array.from({ length: 5000 }, (_, i) =>
      `ip-10-0-${String(i).padStart(5, '0')}`.padEnd(63, 'x'),
    );
    const pod = fixture.pod(['data']);
    const bulky = { ...pod, metadata: { ...pod.metadata, annotations: { note: 'y'.repeat(20_000) } } };
    const body = JSON.stringify({ Pod: bulky, NodeNames: names });
    console.log(`5,000-node names-only request: ${body.length} bytes (limit ${defaultMaxNamesBodyBytes})`);
    expect(body.length).toBeLessThan(defaultMaxNamesBodyBytes / 2);
    const res = await post('/filter', body);
    expect(res.status).toBe(200);
    const over = await post('/filter', 'x'.repeat(defaultMaxNamesBodyBytes + 1)).catch(() => undefined);
    if (over) expect(over.status).toBe(413);
  });
});

describe('ExtenderServer with mutual TLS', () => {
  let port = 0;
  let server: ExtenderServer;
  let ca: Awaited<ReturnType<typeof createCertificateAuthority>>;
  const client: Record<string, { certPem: string; keyPem: string }> = {};
  beforeAll(async () => {
    ca = await createCertificateAuthority('extender-ca', 1);
    const other = await createCertificateAuthority('other-ca', 1);
    const serving = await issueCertificate(ca, {
      commonName: 'stork',
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
      validityDays: 1,
    });
    client.scheduler = await issueCertificate(ca, {
      commonName: 'stork-scheduler',
      usage: 'client',
      validityDays: 1,
    });
    client.someoneElse = await issueCertificate(ca, {
      commonName: 'tenant',
      usage: 'client',
      validityDays: 1,
    });
    client.otherCa = await issueCertificate(other, {
      commonName: 'stork-scheduler',
      usage: 'client',
      validityDays: 1,
    });
    server = new ExtenderServer({
      state: () => fixture.state,
      decisionOptions: { staleAfterMs: 60_000 },
      logger: silentLogger,
      tls: {
        certPem: serving.certPem,
        keyPem: serving.keyPem,
        clientCaPem: ca.certPem,
        clientName: 'stork-scheduler',
      },
    });
    port = await server.listen(0, '127.0.0.1');
  });
  afterAll(() => server.close());

  function call(path: string, who?: keyof typeof client): Promise<number> {
    const identity = who ? client[who] : undefined;
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path,
          method: path === '/healthz' ? 'GET' : 'POST',
          ca: ca.certPem,
          agent: false,
          ...(identity ? { cert: identity.certPem, key: identity.keyPem } : {}),
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(
        path === '/healthz' ? undefined : JSON.stringify({ Pod: fixture.pod([]), NodeNames: ['node1'] }),
      );
    });
  }

  it.each([
    ['no client certificate', undefined, 401],
    ['a certificate of another CA', 'otherCa', 401],
    ['a certificate of the CA for another name', 'someoneElse', 403],
    ["the scheduler's certificate", 'scheduler', 200],
  ] as const)('answers filter for %s (%s): %i', async (_what, who, status) => {
    expect(await call('/filter', who)).toBe(status);
    expect(await call('/prioritize', who)).toBe(status);
  });

  it('answers /healthz without a client certificate (kubelet probes have none)', async () => {
    expect(await call('/healthz')).toBe(200);
  });
});
