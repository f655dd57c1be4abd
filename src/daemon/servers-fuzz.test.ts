// A bounded, seeded fuzz run of both HTTP front doors (the extender and the admission webhook): random and
// hostile bodies and slow clients. Whatever arrives, the answer is never a 5xx, never echoes unbounded
// input, the process does not crash, and memory does not grow with what the requests carried.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schedulingFixture } from '../../test/fixtures/scheduling.js';
import { ExtenderServer } from '../extender/server.js';
import { silentLogger } from '../lib/log.js';
import { createCertificateAuthority, issueCertificate } from '../lib/pki.js';
import { decideMutation } from '../webhook/decision.js';
import { defaultWebhookConfig } from '../webhook/webhook.js';
import { WebhookServer } from '../webhook/server.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seed = Number(process.env.FUZZ_SEED ?? 20261201);
const rand = random(seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
const int = (max: number): number => Math.floor(rand() * max);

function randomValue(depth = 0): unknown {
  const kinds = depth > 3 ? 5 : 7;
  switch (int(kinds)) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2:
      return pick([0, -1, 1e308, -0.5, Number.MAX_SAFE_INTEGER, 2 ** 53 + 1]);
    case 3:
      return pick(['', 'a', '\u0000', '../../etc', '\ud800', 'x'.repeat(int(5000))]);
    case 4:
      return pick([[], {}, 'stork']);
    case 5:
      return Array.from({ length: int(5) }, () => randomValue(depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: int(5) }, (_, i) => [`k${i}`, randomValue(depth + 1)]));
  }
}

/** Replaces one value somewhere in a JSON tree (or adds a key) with a random one. */
function mutate(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object' || rand() < 0.15) return randomValue();
  if (Array.isArray(value)) {
    if (value.length === 0) return [randomValue()];
    const copy: unknown[] = [...(value as unknown[])];
    const i = int(copy.length);
    copy[i] = mutate(copy[i], depth + 1);
    return copy;
  }
  const object = { ...(value as Record<string, unknown>) };
  const keys = Object.keys(object);
  const key =
    keys.length === 0 || rand() < 0.1 ? pick(['metadata', 'spec', 'volumes', 'Pod', 'x']) : pick(keys);
  object[key] = mutate(object[key], depth + 1);
  return object;
}

const fixture = schedulingFixture({
  nodes: [
    { name: 'node1', rack: 'r1' },
    { name: 'node2', rack: 'r2', driver: { status: 'Offline' } },
  ],
  volumes: [{ id: 'v1', replicas: ['node1'] }],
  claims: [{ name: 'data', volume: 'v1' }, { name: 'pending' }],
});

const validExtenderBody = (): unknown => ({
  Pod: {
    ...fixture.pod(['data', 'pending']),
    metadata: { name: 'p', namespace: 'default', uid: 'u', annotations: { a: 'b' } },
  },
  NodeNames: ['node1', 'node2', 'ghost'],
});

const validReview = (): unknown => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'abc',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'CREATE',
    namespace: 'default',
    object: { ...fixture.pod(['data']), metadata: { name: 'p', namespace: 'default' } },
  },
});

function hostileBody(valid: () => unknown): string {
  switch (int(8)) {
    case 0:
      return Buffer.from(Array.from({ length: int(3000) }, () => int(256))).toString('latin1');
    case 1:
      return '['.repeat(1 + int(20_000)) + ']'.repeat(int(3));
    case 2:
      return `{"Pod": "${'y'.repeat(int(1_300_000))}"}`;
    case 3:
      return JSON.stringify(valid()).slice(0, int(400));
    case 4:
      return JSON.stringify(randomValue());
    case 5:
      return JSON.stringify({
        ...(valid() as object),
        NodeNames: Array.from({ length: int(20_000) }, (_, i) => `n${i}`),
      });
    default:
      return JSON.stringify(mutate(valid()));
  }
}

interface Outcome {
  status: number;
  body: string;
  ms: number;
}

describe(`fuzzing the extender and the webhook (seed ${seed})`, () => {
  const limits = { headersTimeoutMs: 500, requestTimeoutMs: 1000, maxConnections: 64 };
  const extender = new ExtenderServer({
    state: () => fixture.state,
    decisionOptions: { staleAfterMs: 3_600_000 },
    logger: silentLogger,
    limits,
  });
  let webhook: WebhookServer;
  let extenderPort = 0;
  let webhookPort = 0;
  let ca = '';
  beforeAll(async () => {
    const authority = await createCertificateAuthority('fuzz-ca', 1);
    ca = authority.certPem;
    webhook = new WebhookServer({
      certificate: await issueCertificate(authority, {
        commonName: 'stork',
        ipAddresses: ['127.0.0.1'],
        usage: 'server',
        validityDays: 1,
      }),
      decide: (request, final) =>
        decideMutation(request, fixture.state.driver, fixture.state, defaultWebhookConfig, final),
      logger: silentLogger,
      claimWaitMs: 50,
      limits,
    });
    extenderPort = await extender.listen(0, '127.0.0.1');
    webhookPort = await webhook.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await extender.close();
    await webhook.close();
  });

  function post(server: 'extender' | 'webhook', path: string, body: string): Promise<Outcome> {
    const started = performance.now();
    return new Promise((resolve) => {
      const options = {
        host: '127.0.0.1',
        port: server === 'extender' ? extenderPort : webhookPort,
        path,
        method: 'POST',
        agent: false,
        ...(server === 'webhook' ? { ca } : {}),
      };
      const done = (res: import('node:http').IncomingMessage): void => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            ms: performance.now() - started,
          }),
        );
      };
      const req = server === 'extender' ? httpRequest(options, done) : httpsRequest(options, done);
      // A refused oversized body may cut the connection while the client still writes: no answer, no 5xx.
      req.on('error', () => resolve({ status: 0, body: '', ms: performance.now() - started }));
      req.end(body);
    });
  }

  /** A client that sends part of a request and then nothing: the server must hang up on it. */
  function slowClient(port: number, partial: string): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(partial));
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(false);
      }, 5000);
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  it('answers every random and hostile request with 2xx or 4xx, briefly, and keeps its memory', async () => {
    gc();
    const before = process.memoryUsage().heapUsed;
    const outcomes: (Outcome & { server: string; size: number })[] = [];
    for (let i = 0; i < 300; i++) {
      const server = rand() < 0.5 ? 'extender' : 'webhook';
      const path = server === 'extender' ? pick(['/filter', '/prioritize', '/x/filter']) : '/mutate';
      const body = hostileBody(server === 'extender' ? validExtenderBody : validReview);
      const outcome = await post(server, path, body);
      outcomes.push({ ...outcome, server, size: Buffer.byteLength(body) });
    }
    gc();
    const after = process.memoryUsage().heapUsed;
    const serverErrors = outcomes.filter((o) => o.status >= 500);
    expect(serverErrors.map((o) => `${o.server} ${o.status}: ${o.body}`)).toEqual([]);
    // Error answers are short whatever was sent.
    expect(outcomes.filter((o) => o.status >= 400 && o.body.length > 400)).toEqual([]);
    const accepted = outcomes.filter((o) => o.status >= 200 && o.status < 300);
    expect(accepted.length).toBeGreaterThan(0);
    const largest = accepted.reduce((a, b) => (b.size > a.size ? b : a));
    console.log(
      `fuzz seed ${seed}: ${outcomes.length} requests, ${accepted.length} accepted, ` +
        `statuses ${JSON.stringify(Object.fromEntries([...new Set(outcomes.map((o) => o.status))].map((s) => [s, outcomes.filter((o) => o.status === s).length])))}; ` +
        `largest accepted ${largest.size} bytes (${largest.server}) in ${largest.ms.toFixed(1)} ms; ` +
        `heap before ${(before / 1e6).toFixed(1)} MB, after ${(after / 1e6).toFixed(1)} MB`,
    );
    expect(after - before).toBeLessThan(50 * 1024 * 1024);
  }, 120_000);

  it('hangs up on slow clients (headers or body never finished) and still serves', async () => {
    const partials = [
      'POST /filter HTTP/1.1\r\nHost: x\r\n',
      'POST /filter HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"Pod":',
      'GET /healthz HTTP/1.1\r\nX-Slow: ',
    ];
    const closed = await Promise.all(partials.map((p) => slowClient(extenderPort, p)));
    expect(closed).toEqual([true, true, true]);
    const ok = await post('extender', '/filter', JSON.stringify(validExtenderBody()));
    expect(ok.status).toBe(200);
  }, 30_000);
});
