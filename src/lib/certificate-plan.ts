import { X509Certificate, createPrivateKey } from 'node:crypto';
import {
  createCertificateAuthority,
  issueCertificate,
  type IssueOptions,
  loadCertificateAuthority,
  splitPemCertificates,
  type CertificateAuthority,
} from './pki.js';

/**
 * The Secret keys stork-ts keeps a CA and its certificates under (other keys are left as they are). The
 * webhook's Secret holds the CA and a serving certificate; the extender's holds a client certificate for
 * the scheduler as well.
 */
export const secretKeys = {
  /** PEM bundle of every CA callers should trust: the signing CA first, then older ones not yet expired. */
  caBundle: 'ca.crt',
  /** The signing CA's private key (the first certificate of the bundle). */
  caKey: 'ca.key',
  cert: 'tls.crt',
  key: 'tls.key',
  /** A client certificate the same CA issued (only when the policy asks for one). */
  clientCert: 'client.crt',
  clientKey: 'client.key',
} as const;

export interface CertificatePolicy {
  /** Names the serving certificate must cover (the Service's DNS names, a URL's host). */
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly commonName: string;
  readonly caValidityMs: number;
  readonly servingValidityMs: number;
  /**
   * Also keep a client certificate with this common name (and these organisations), signed by the same CA
   * and renewed like the serving certificate: the caller presenting it is whoever the CA trusts.
   */
  readonly client?: { readonly commonName: string; readonly organizations?: readonly string[] };
  /** Renew a certificate once less than this share of its configured validity remains (default 1/3). */
  readonly renewFraction?: number;
}

/** The Secret's data, decoded (PEM strings by key). */
export type CertificateData = Readonly<Record<string, string>>;

export interface CertificatePlan {
  /** The data to store; equal to the input when nothing needed doing. */
  readonly data: CertificateData;
  /** Why the data changed (empty: it did not). */
  readonly changes: readonly string[];
}

const dayMs = 24 * 60 * 60 * 1000;

function parseCertificate(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

function keyMatches(cert: X509Certificate, keyPem: string | undefined): boolean {
  if (!keyPem) return false;
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

function remainingMs(cert: X509Certificate, now: number): number {
  return Date.parse(cert.validTo) - now;
}

/**
 * Whether a certificate has to be replaced now: expired or about to, or valid for much longer than the
 * configured validity (the setting was shortened, e.g. to exercise rotation).
 */
function dueForRenewal(cert: X509Certificate, validityMs: number, fraction: number, now: number): boolean {
  const remaining = remainingMs(cert, now);
  return remaining < validityMs * fraction || remaining > validityMs + 10 * 60 * 1000;
}

/**
 * Works out what a certificate Secret (the webhook's, the extender's) should hold, from what it holds now. A missing or
 * unusable CA is replaced; a CA close to expiry gets a successor that is *added* to the trust bundle,
 * and nothing is signed by the successor in that round (a serving certificate due then is signed once more
 * by the outgoing CA), so callers learn the new CA before they meet a certificate it signed; the serving
 * certificate moves to the new CA at its next renewal. The serving
 * certificate is reissued when it is missing, does not match its key, is not signed by a trusted CA, misses
 * one of the names, or is due for renewal. Expired CAs leave the bundle. Keys it does not know are kept.
 */
export async function planCertificates(
  current: CertificateData | undefined,
  policy: CertificatePolicy,
  now = Date.now(),
): Promise<CertificatePlan> {
  const fraction = policy.renewFraction ?? 1 / 3;
  const changes: string[] = [];
  const data: Record<string, string> = { ...current };
  const bundle = splitPemCertificates(data[secretKeys.caBundle] ?? '')
    .map((pem) => ({ pem, cert: parseCertificate(pem) }))
    .filter((c): c is { pem: string; cert: X509Certificate } => c.cert !== undefined && c.cert.ca);

  let signer: CertificateAuthority | undefined;
  // The CA being succeeded this round: callers do not trust its successor yet, so it signs one more time.
  let outgoing: { ca: CertificateAuthority; notAfter: number } | undefined;
  const first = bundle[0];
  if (first && keyMatches(first.cert, data[secretKeys.caKey]) && remainingMs(first.cert, now) > 0) {
    signer = await loadCertificateAuthority(first.pem, data[secretKeys.caKey] ?? '');
    if (dueForRenewal(first.cert, policy.caValidityMs, fraction, now)) {
      changes.push('CA due for renewal: a new CA joins the trust bundle');
      outgoing = { ca: signer, notAfter: Date.parse(first.cert.validTo) };
      signer = undefined;
    }
  } else {
    changes.push(
      current === undefined ? 'no certificates yet' : 'no usable CA (missing, expired or key mismatch)',
    );
  }
  if (!signer) {
    signer = await createCertificateAuthority(
      `${policy.commonName}-ca@${Math.floor(now / 1000)}`,
      policy.caValidityMs / dayMs,
      now,
    );
    bundle.unshift({ pem: signer.certPem, cert: new X509Certificate(signer.certPem) });
    data[secretKeys.caKey] = signer.keyPem;
  }
  const trusted = bundle.filter((c, i) => i === 0 || remainingMs(c.cert, now) > 0);
  if (trusted.length < bundle.length) changes.push('expired CAs left the trust bundle');
  const bundlePem = trusted.map((c) => c.pem.trim()).join('\n') + '\n';
  if (bundlePem !== data[secretKeys.caBundle]) data[secretKeys.caBundle] = bundlePem;

  // Leaves are signed by the outgoing CA while it lasts, and must not outlive their issuer, or they stop
  // verifying before their renewal is due.
  const issuer = outgoing?.ca ?? signer;
  const validityMs = outgoing
    ? Math.min(policy.servingValidityMs, outgoing.notAfter - now)
    : policy.servingValidityMs;
  const issue = (subject: Omit<IssueOptions, 'validityDays' | 'now'>) =>
    issueCertificate(issuer, { ...subject, validityDays: validityMs / dayMs, now });

  const leaf = parseCertificate(data[secretKeys.cert] ?? '');
  const why = servingProblem(
    leaf,
    data[secretKeys.key],
    trusted.map((c) => c.cert),
    policy,
    fraction,
    now,
  );
  if (why) {
    changes.push(`serving certificate: ${why}`);
    const issued = await issue({
      commonName: policy.commonName,
      dnsNames: policy.dnsNames,
      ipAddresses: policy.ipAddresses,
      usage: 'server',
    });
    data[secretKeys.cert] = issued.certPem;
    data[secretKeys.key] = issued.keyPem;
  }
  if (policy.client) {
    const client = parseCertificate(data[secretKeys.clientCert] ?? '');
    const problem = clientProblem(
      client,
      data[secretKeys.clientKey],
      trusted.map((c) => c.cert),
      policy,
      fraction,
      now,
    );
    if (problem) {
      changes.push(`client certificate: ${problem}`);
      const issued = await issue({
        commonName: policy.client.commonName,
        ...(policy.client.organizations ? { organizations: policy.client.organizations } : {}),
        usage: 'client',
      });
      data[secretKeys.clientCert] = issued.certPem;
      data[secretKeys.clientKey] = issued.keyPem;
    }
  }
  return { data: changes.length === 0 ? (current ?? data) : data, changes };
}

function servingProblem(
  leaf: X509Certificate | undefined,
  keyPem: string | undefined,
  trusted: readonly X509Certificate[],
  policy: CertificatePolicy,
  fraction: number,
  now: number,
): string | undefined {
  if (!leaf) return 'missing';
  if (!keyMatches(leaf, keyPem)) return 'key missing or not the certificate’s';
  if (!trusted.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey)))
    return 'not signed by a trusted CA';
  for (const name of policy.dnsNames)
    if (leaf.checkHost(name, { wildcards: false }) === undefined) return `does not cover ${name}`;
  for (const ip of policy.ipAddresses) if (leaf.checkIP(ip) === undefined) return `does not cover ${ip}`;
  if (dueForRenewal(leaf, policy.servingValidityMs, fraction, now)) return 'due for renewal';
  return undefined;
}

function clientProblem(
  leaf: X509Certificate | undefined,
  keyPem: string | undefined,
  trusted: readonly X509Certificate[],
  policy: CertificatePolicy,
  fraction: number,
  now: number,
): string | undefined {
  if (!leaf) return 'missing';
  if (!keyMatches(leaf, keyPem)) return 'key missing or not the certificate’s';
  if (!trusted.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey)))
    return 'not signed by a trusted CA';
  if (commonNameOf(leaf) !== policy.client?.commonName) return 'names another client';
  if (dueForRenewal(leaf, policy.servingValidityMs, fraction, now)) return 'due for renewal';
  return undefined;
}

/** The subject's CN (Node prints the subject one attribute a line). */
export function commonNameOf(cert: X509Certificate): string | undefined {
  return /^CN=(.*)$/m.exec(cert.subject)?.[1];
}
