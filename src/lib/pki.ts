import 'reflect-metadata';
import { webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import * as x509 from '@peculiar/x509';

// @peculiar/x509 needs a WebCrypto provider; Node's is complete.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const keyAlgorithm: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const signingAlgorithm: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const dayMs = 24 * 60 * 60 * 1000;
// Certificates start a little in the past so that a peer whose clock lags slightly accepts them.
const clockSkewMs = 5 * 60 * 1000;

/** A certificate authority that can issue certificates: PEM for files and Secrets, the key for signing. */
export interface CertificateAuthority {
  readonly certPem: string;
  readonly keyPem: string;
  readonly signingKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly subject: string;
}

/** A leaf certificate and its private key, both PEM. */
export interface IssuedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  readonly notAfter: Date;
}

export interface IssueOptions {
  readonly commonName: string;
  /** Subject organisations; Kubernetes reads them as the client's groups. */
  readonly organizations?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly usage: 'server' | 'client' | 'server-and-client';
  readonly validityDays: number;
  /** The time validity counts from (default: now); tests of rotation move it. */
  readonly now?: number;
}

async function generateKeyPair(): Promise<CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(keyAlgorithm, true, ['sign', 'verify']);
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function escapeDnValue(value: string): string {
  return value.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`);
}

function validity(validityDays: number, now = Date.now()): { notBefore: Date; notAfter: Date } {
  if (!(validityDays > 0)) throw new RangeError(`validityDays must be positive, got ${validityDays}`);
  return { notBefore: new Date(now - clockSkewMs), notAfter: new Date(now + validityDays * dayMs) };
}

/** Creates a self-signed CA (EC P-256) that may sign leaf certificates only. */
export async function createCertificateAuthority(
  commonName: string,
  validityDays: number,
  /** The time validity counts from (default: now); tests of rotation move it. */
  now?: number,
): Promise<CertificateAuthority> {
  const keys = await generateKeyPair();
  const subject = `CN=${escapeDnValue(commonName)}`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: subject,
    keys,
    signingAlgorithm,
    ...validity(validityDays, now),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    certPem: cert.toString('pem'),
    keyPem: await privateKeyPem(keys.privateKey),
    signingKey: keys.privateKey,
    publicKey: keys.publicKey,
    subject,
  };
}

/** Issues a leaf certificate signed by `ca`. */
export async function issueCertificate(
  ca: CertificateAuthority,
  options: IssueOptions,
): Promise<IssuedCertificate> {
  const keys = await generateKeyPair();
  const subject = [
    `CN=${escapeDnValue(options.commonName)}`,
    ...(options.organizations ?? []).map((o) => `O=${escapeDnValue(o)}`),
  ].join(', ');
  const usages: string[] = [];
  if (options.usage !== 'client') usages.push(x509.ExtendedKeyUsage.serverAuth);
  if (options.usage !== 'server') usages.push(x509.ExtendedKeyUsage.clientAuth);
  const sans: x509.JsonGeneralName[] = [
    ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension(usages, false),
    await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
  const { notBefore, notAfter } = validity(options.validityDays, options.now);
  const cert = await x509.X509CertificateGenerator.create({
    subject,
    issuer: ca.subject,
    publicKey: keys.publicKey,
    signingKey: ca.signingKey,
    signingAlgorithm,
    notBefore,
    notAfter,
    extensions,
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey), notAfter };
}

/** A bare key pair (PEM), e.g. for signing service-account tokens. */
export async function createSigningKeyPair(): Promise<{ privateKeyPem: string; publicKeyPem: string }> {
  const keys = await generateKeyPair();
  const spki = await webcrypto.subtle.exportKey('spki', keys.publicKey);
  return {
    privateKeyPem: await privateKeyPem(keys.privateKey),
    publicKeyPem: x509.PemConverter.encode(spki, 'PUBLIC KEY'),
  };
}

/**
 * A CA read back from PEM (e.g. from a Secret), able to sign again. The key must be an EC P-256 PKCS#8
 * key, as {@link createCertificateAuthority} writes; anything else is rejected with the reason.
 */
export async function loadCertificateAuthority(
  certPem: string,
  keyPem: string,
): Promise<CertificateAuthority> {
  const cert = new x509.X509Certificate(certPem);
  const signingKey = await webcrypto.subtle.importKey(
    'pkcs8',
    x509.PemConverter.decodeFirst(keyPem),
    keyAlgorithm,
    true,
    ['sign'],
  );
  const publicKey = await webcrypto.subtle.importKey('spki', cert.publicKey.rawData, keyAlgorithm, true, [
    'verify',
  ]);
  return { certPem: cert.toString('pem'), keyPem, signingKey, publicKey, subject: cert.subject };
}

/** Splits a PEM bundle into its certificates (other blocks are ignored). */
export function splitPemCertificates(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
