import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessRequest, Caller } from '../k8s/access-review.js';
import { silentLogger } from '../lib/log.js';
import { createCertificateAuthority, issueCertificate } from '../lib/pki.js';
import { StatusServer } from './status-server.js';

/** alice may get pods in `team`, list pods in `team` and read /metrics; admin may do anything. */
const reviewer = {
  asked: [] as AccessRequest[],
  failing: false,
  authenticate(token: string): Promise<Caller | undefined> {
    if (this.failing) return Promise.reject(new Error('dial tcp 198.18.96.1:443: connection refused'));
    if (token === 'alice-token') return Promise.resolve({ user: 'alice', groups: [] });
    if (token === 'admin-token') return Promise.resolve({ user: 'admin', groups: ['system:masters'] });
    return Promise.resolve(undefined);
  },
  authorize(caller: Caller, req: AccessRequest): Promise<boolean> {
    this.asked.push(req);
    if (caller.user === 'admin') return Promise.resolve(true);
    if ('path' in req) return Promise.resolve(req.path === '/metrics');
    return Promise.resolve(req.resource === 'pods' && req.namespace === 'team');
  },
};

describe('StatusServer', () => {
  let port = 0;
  let ca = '';
  let server: StatusServer;
  beforeAll(async () => {
    const authority = await createCertificateAuthority('status-ca', 1);
    ca = authority.certPem;
    const serving = await issueCertificate(authority, {
      commonName: 'stork',
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
      validityDays: 1,
    });
    server = new StatusServer({
      certificate: serving,
      reviewer,
      logger: silentLogger,
      metrics: () => Promise.resolve({ contentType: 'text/plain', body: 'stork_up 1\n' }),
      explain: (namespace, pod) => (pod === 'known' ? { namespace, pod } : undefined),
      hyperconvergence: () => ({
        pods: [
          { namespace: 'team', pod: 'a' },
          { namespace: 'kube-system', pod: 'b' },
        ],
      }),
    });
    port = await server.listen(0, '127.0.0.1');
  });
  afterAll(() => server.close());

  function get(
    path: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, ca, agent: false, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end();
    });
  }
  const as = (token: string) => ({ Authorization: `Bearer ${token}` });

  it.each([
    ['/metrics', {}, 401],
    ['/metrics', as('stolen'), 401],
    ['/metrics', as('alice-token'), 200],
    ['/explain?namespace=team&pod=known', as('alice-token'), 200],
    ['/explain?namespace=kube-system&pod=known', as('alice-token'), 403],
    ['/explain?namespace=team&pod=missing', as('alice-token'), 404],
    ['/explain?namespace=team', as('alice-token'), 400],
    ['/hyperconvergence', as('alice-token'), 403],
    ['/hyperconvergence', as('admin-token'), 200],
    ['/hyperconvergence?namespace=team', as('alice-token'), 200],
    ['/healthz', {}, 200],
    ['/nothing', as('admin-token'), 404],
  ])('GET %s %j: %i', async (path, headers, status) => {
    expect((await get(path, headers)).status).toBe(status);
  });

  it('asks for exactly what each path discloses', async () => {
    reviewer.asked.length = 0;
    await get('/metrics', as('alice-token'));
    await get('/explain?namespace=team&pod=known', as('alice-token'));
    await get('/hyperconvergence', as('admin-token'));
    await get('/hyperconvergence?namespace=team', as('alice-token'));
    expect(reviewer.asked).toEqual([
      { verb: 'get', path: '/metrics' },
      { verb: 'get', resource: 'pods', namespace: 'team', name: 'known' },
      { verb: 'list', resource: 'pods' },
      { verb: 'list', resource: 'pods', namespace: 'team' },
    ]);
  });

  it('reports only the namespace a caller may list', async () => {
    const report = JSON.parse((await get('/hyperconvergence?namespace=team', as('alice-token'))).body) as {
      pods: { namespace: string }[];
    };
    expect(report.pods.map((p) => p.namespace)).toEqual(['team']);
  });

  it('takes the token from X-Stork-Authorization (what survives the API server proxy)', async () => {
    expect((await get('/metrics', { 'X-Stork-Authorization': 'Bearer alice-token' })).status).toBe(200);
  });

  it('says why a caller is refused, without echoing unbounded input', async () => {
    const refused = await get(`/explain?namespace=kube-system&pod=${'p'.repeat(5000)}`, as('alice-token'));
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/^alice may not get pods in namespace kube-system/);
    expect(refused.body.length).toBeLessThan(300);
  });

  it('answers 503 without the reason when the API server cannot review', async () => {
    reviewer.failing = true;
    try {
      const res = await get('/metrics', as('alice-token'));
      expect(res.status).toBe(503);
      expect(res.body).not.toMatch(/10\.96|connection refused/);
    } finally {
      reviewer.failing = false;
    }
  });
});
