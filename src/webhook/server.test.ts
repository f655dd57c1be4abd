import { request as httpsRequest } from 'node:https';
import { TLSSocket, type PeerCertificate } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/log.js';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority } from '../lib/pki.js';
import type { AdmissionRequest } from './admission-review.js';
import type { MutateDecision } from './decision.js';
import { WebhookServer, type AdmissionOutcome } from './server.js';

async function serving(ca: CertificateAuthority) {
  return issueCertificate(ca, {
    commonName: 'stork-service.kube-system.svc',
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
    validityDays: 1,
  });
}

interface Reply {
  status: number;
  body: string;
  peer: PeerCertificate;
}

function post(port: number, ca: string, path: string, body: string, method = 'POST'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        ca,
        agent: false,
        headers: { 'Content-Type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            peer: res.socket instanceof TLSSocket ? res.socket.getPeerCertificate() : ({} as PeerCertificate),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const review = (object: unknown) =>
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'abc',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      operation: 'CREATE',
      namespace: 'ns',
      object,
    },
  });

describe('WebhookServer', () => {
  let server: WebhookServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(
    decide: (r: AdmissionRequest, final: boolean) => MutateDecision,
    outcomes: AdmissionOutcome[] = [],
  ) {
    const ca = await createCertificateAuthority('test-ca', 1);
    server = new WebhookServer({
      certificate: await serving(ca),
      decide,
      logger: silentLogger,
      claimWaitMs: 300,
      onOutcome: (o) => outcomes.push(o),
    });
    return { ca, port: await server.listen(0, '127.0.0.1') };
  }

  it('answers with the decision: a base64 JSONPatch, allowed', async () => {
    const outcomes: AdmissionOutcome[] = [];
    const { ca, port } = await start(
      () => ({ action: 'patch', patch: [{ op: 'add', path: '/spec/schedulerName', value: 'stork' }] }),
      outcomes,
    );
    const reply = await post(port, ca.certPem, '/mutate', review({ metadata: { name: 'p' } }));
    expect(reply.status).toBe(200);
    const answer = JSON.parse(reply.body) as { response: { uid: string; allowed: boolean; patch: string } };
    expect(answer.response.uid).toBe('abc');
    expect(answer.response.allowed).toBe(true);
    expect(JSON.parse(Buffer.from(answer.response.patch, 'base64').toString())).toEqual([
      { op: 'add', path: '/spec/schedulerName', value: 'stork' },
    ]);
    expect(outcomes).toEqual([{ outcome: 'patched' }]);
  });

  it('refuses malformed reviews with a 400 and the reason, and keeps serving', async () => {
    const outcomes: AdmissionOutcome[] = [];
    const { ca, port } = await start(() => ({ action: 'skip', reason: 'no-driver-volumes' }), outcomes);
    const notJson = await post(port, ca.certPem, '/mutate', '{"apiVersion":');
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatch(/^Decode error: /);
    const wrong = await post(port, ca.certPem, '/mutate', JSON.stringify({ kind: 'AdmissionReview' }));
    expect(wrong.status).toBe(400);
    expect(wrong.body).toContain('apiVersion must be admission.k8s.io/v1');
    expect((await post(port, ca.certPem, '/mutate', '', 'GET')).status).toBe(405);
    expect((await post(port, ca.certPem, '/validate', review({}))).status).toBe(404);
    const ok = await post(port, ca.certPem, '/mutate', review({}));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'abc', allowed: true },
    });
    expect(outcomes).toEqual([
      { outcome: 'error', reason: 'bad-request' },
      { outcome: 'error', reason: 'bad-request' },
      { outcome: 'error', reason: 'bad-request' },
      { outcome: 'skipped', reason: 'no-driver-volumes' },
    ]);
  });

  it('answers 500, still without crashing, when the decision throws', async () => {
    const { ca, port } = await start(() => {
      throw new Error('boom');
    });
    const reply = await post(port, ca.certPem, '/mutate', review({}));
    expect(reply.status).toBe(500);
    // The exception's text stays in the log: a caller learns nothing of stork's internals.
    expect(reply.body).not.toContain('boom');
  });

  it('asks again while claims are missing, then decides on what it knows', async () => {
    const finals: boolean[] = [];
    const { ca, port } = await start((_, final) => {
      finals.push(final);
      return final
        ? { action: 'skip', reason: 'no-driver-volumes' }
        : { action: 'wait', missingClaims: ['c'] };
    });
    expect((await post(port, ca.certPem, '/mutate', review({}))).status).toBe(200);
    expect(finals.length).toBeGreaterThan(2);
    expect(finals.at(-1)).toBe(true);
    expect(finals.slice(0, -1).every((f) => !f)).toBe(true);
  });

  it('serves a new certificate on new connections after setCertificate, without a restart', async () => {
    const { ca, port } = await start(() => ({ action: 'skip', reason: 'no-driver-volumes' }));
    const before = await post(port, ca.certPem, '/mutate', review({}));
    const otherCa = await createCertificateAuthority('other-ca', 1);
    const next = await serving(otherCa);
    server?.setCertificate(next);
    const after = await post(port, otherCa.certPem, '/mutate', review({}));
    expect(after.status).toBe(200);
    expect(after.peer.fingerprint256).not.toBe(before.peer.fingerprint256);
    // The old CA no longer verifies the server.
    await expect(post(port, ca.certPem, '/mutate', review({}))).rejects.toThrow();
  });
});
