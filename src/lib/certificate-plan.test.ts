import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { splitPemCertificates } from './pki.js';
import { planCertificates, secretKeys, type CertificateData } from './certificate-plan.js';

const dayMs = 24 * 60 * 60 * 1000;
const policy = {
  commonName: 'stork-service.kube-system.svc',
  dnsNames: ['stork-service', 'stork-service.kube-system', 'stork-service.kube-system.svc'],
  ipAddresses: ['127.0.0.1'],
  caValidityMs: 300 * dayMs,
  servingValidityMs: 30 * dayMs,
};

function leafOf(data: CertificateData): X509Certificate {
  return new X509Certificate(data[secretKeys.cert] ?? '');
}

function trustedBy(data: CertificateData): X509Certificate[] {
  return splitPemCertificates(data[secretKeys.caBundle] ?? '').map((pem) => new X509Certificate(pem));
}

function verifies(data: CertificateData): boolean {
  const leaf = leafOf(data);
  return trustedBy(data).some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
}

describe('planCertificates', () => {
  it('creates a CA and a serving certificate for the names, then leaves them alone', async () => {
    const first = await planCertificates(undefined, policy);
    expect(first.changes).not.toHaveLength(0);
    expect(trustedBy(first.data)).toHaveLength(1);
    expect(verifies(first.data)).toBe(true);
    const leaf = leafOf(first.data);
    for (const name of policy.dnsNames) expect(leaf.checkHost(name)).toBe(name);
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    const again = await planCertificates(first.data, policy);
    expect(again.changes).toEqual([]);
    expect(again.data).toBe(first.data);
  });

  it('renews the serving certificate with the same CA once a third of its validity remains', async () => {
    const start = Date.now();
    const { data } = await planCertificates(undefined, policy, start);
    const early = await planCertificates(data, policy, start + 15 * dayMs);
    expect(early.changes).toEqual([]);
    const late = await planCertificates(data, policy, start + 21 * dayMs);
    expect(late.changes).toEqual(['serving certificate: due for renewal']);
    expect(late.data[secretKeys.caBundle]).toBe(data[secretKeys.caBundle]);
    expect(late.data[secretKeys.cert]).not.toBe(data[secretKeys.cert]);
    expect(verifies(late.data)).toBe(true);
  });

  it('reissues when the names change or the certificate is shortened by configuration', async () => {
    const { data } = await planCertificates(undefined, policy);
    const named = await planCertificates(data, {
      ...policy,
      dnsNames: [...policy.dnsNames, 'stork.example'],
    });
    expect(named.changes).toEqual(['serving certificate: does not cover stork.example']);
    const shorter = await planCertificates(data, { ...policy, servingValidityMs: 60_000 });
    expect(shorter.changes).toEqual(['serving certificate: due for renewal']);
    expect(Date.parse(leafOf(shorter.data).validTo) - Date.now()).toBeLessThanOrEqual(60_000);
  });

  it('adds a successor CA to the bundle first, and signs with it only at the next serving renewal', async () => {
    const start = Date.now();
    const { data } = await planCertificates(undefined, { ...policy, caValidityMs: 60 * dayMs }, start);
    const caPolicy = { ...policy, caValidityMs: 60 * dayMs };
    // 41 days in, the CA (60 days) and the serving certificate (50 days) are both due.
    const rotated = await planCertificates(
      data,
      { ...caPolicy, servingValidityMs: 50 * dayMs },
      start + 41 * dayMs,
    );
    expect(rotated.changes).toContain('CA due for renewal: a new CA joins the trust bundle');
    const bundle = trustedBy(rotated.data);
    expect(bundle).toHaveLength(2);
    expect(bundle[1]?.fingerprint256).toBe(trustedBy(data)[0]?.fingerprint256);
    expect(verifies(rotated.data)).toBe(true);
    // The new serving certificate is still the outgoing CA's, and ends when that CA does.
    expect(leafOf(rotated.data).checkIssued(bundle[1] as X509Certificate)).toBe(true);
    expect(Date.parse(leafOf(rotated.data).validTo)).toBeLessThanOrEqual(
      Date.parse(bundle[1]?.validTo ?? ''),
    );
    const next = await planCertificates(
      rotated.data,
      { ...caPolicy, servingValidityMs: 50 * dayMs },
      start + 45 * dayMs,
    );
    expect(next.changes).toEqual(['serving certificate: due for renewal']);
    expect(leafOf(next.data).checkIssued(bundle[0] as X509Certificate)).toBe(true);
    // Once the old CA has expired, it leaves the bundle.
    const later = await planCertificates(
      next.data,
      { ...caPolicy, servingValidityMs: 50 * dayMs },
      start + 61 * dayMs,
    );
    expect(later.changes).toContain('expired CAs left the trust bundle');
    expect(trustedBy(later.data)).toHaveLength(1);
  });

  it('replaces garbage but keeps keys it does not own (e.g. those of an earlier Stork)', async () => {
    const plan = await planCertificates(
      {
        privKey: 'stork-key',
        privCert: 'stork-cert',
        [secretKeys.caBundle]: 'junk',
        [secretKeys.cert]: 'junk',
      },
      policy,
    );
    expect(plan.changes[0]).toBe('no usable CA (missing, expired or key mismatch)');
    expect(plan.data.privKey).toBe('stork-key');
    expect(plan.data.privCert).toBe('stork-cert');
    expect(verifies(plan.data)).toBe(true);
  });

  it('reissues a serving certificate whose key does not match', async () => {
    const { data } = await planCertificates(undefined, policy);
    const other = await planCertificates(undefined, policy);
    const plan = await planCertificates(
      { ...data, [secretKeys.key]: other.data[secretKeys.key] ?? '' },
      policy,
    );
    expect(plan.changes).toEqual(['serving certificate: key missing or not the certificate’s']);
  });
});

describe('planCertificates with a client certificate', () => {
  const withClient = { ...policy, client: { commonName: 'stork-scheduler' } };
  const clientOf = (data: CertificateData) => new X509Certificate(data[secretKeys.clientCert] ?? '');

  it('issues it from the same CA, keeps it, and renews it when due or when it names another client', async () => {
    const first = await planCertificates(undefined, withClient);
    const client = clientOf(first.data);
    expect(client.subject).toBe('CN=stork-scheduler');
    expect(trustedBy(first.data).some((ca) => client.checkIssued(ca) && client.verify(ca.publicKey))).toBe(
      true,
    );
    expect((await planCertificates(first.data, withClient)).changes).toEqual([]);
    const renamed = await planCertificates(first.data, { ...withClient, client: { commonName: 'other' } });
    expect(renamed.changes).toEqual(['client certificate: names another client']);
    const later = await planCertificates(first.data, withClient, Date.now() + 25 * dayMs);
    expect(later.changes).toContain('client certificate: due for renewal');
    // The serving certificate is not the client's: a policy without a client leaves the keys alone.
    expect((await planCertificates(first.data, policy)).changes).toEqual([]);
  });
});
