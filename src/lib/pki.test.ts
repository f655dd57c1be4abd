import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCertificateAuthority, createSigningKeyPair, issueCertificate } from './pki.js';

describe('pki', () => {
  it('issues a server certificate that verifies against its CA and carries the SANs', async () => {
    const ca = await createCertificateAuthority('test-ca', 1);
    const leaf = await issueCertificate(ca, {
      commonName: 'kube-apiserver',
      dnsNames: ['localhost', 'kubernetes.default.svc'],
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
      validityDays: 1,
    });
    const caCert = new X509Certificate(ca.certPem);
    const cert = new X509Certificate(leaf.certPem);
    expect(caCert.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkHost('kubernetes.default.svc')).toBe('kubernetes.default.svc');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkHost('example.com')).toBeUndefined();
    // The private key belongs to the certificate.
    expect(cert.checkPrivateKey(createPrivateKey(leaf.keyPem))).toBe(true);
  });

  it('puts organisations in the subject, as Kubernetes reads groups from them', async () => {
    const ca = await createCertificateAuthority('test-ca', 1);
    const leaf = await issueCertificate(ca, {
      commonName: 'admin',
      organizations: ['system:masters'],
      usage: 'client',
      validityDays: 1,
    });
    const cert = new X509Certificate(leaf.certPem);
    expect(cert.subject).toContain('CN=admin');
    expect(cert.subject).toContain('O=system:masters');
    expect(cert.keyUsage).toContain('1.3.6.1.5.5.7.3.2');
    expect(cert.keyUsage).not.toContain('1.3.6.1.5.5.7.3.1');
  });

  it('rejects a non-positive validity', async () => {
    await expect(createCertificateAuthority('x', 0)).rejects.toThrow(/validityDays/);
  });

  it('creates a signing key pair whose halves match', async () => {
    const { privateKeyPem, publicKeyPem } = await createSigningKeyPair();
    const derived = createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'pem' });
    expect(derived.toString()).toBe(createPublicKey(publicKeyPem).export({ type: 'spki', format: 'pem' }));
  });
});
