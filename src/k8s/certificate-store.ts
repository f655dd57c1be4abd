import type { Secret } from '../wire/k8s-types.js';
import type { KubeClient } from './client.js';
import { getOrUndefined } from './errors.js';
import { retryOnConflict } from './retry.js';
import { resources } from './paths.js';
import type { Logger } from '../lib/log.js';
import {
  planCertificates,
  secretKeys,
  type CertificateData,
  type CertificatePolicy,
} from '../lib/certificate-plan.js';

/** What a server presents and what its callers must trust, as stored in the Secret. */
export interface StoredCertificates {
  readonly caBundlePem: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** The client certificate, when the policy keeps one. */
  readonly clientCertPem?: string;
  readonly clientKeyPem?: string;
}

/** The webhook's certificates (no client certificate). */
export type WebhookCertificates = StoredCertificates;

export interface CertificateStoreOptions {
  readonly api: Pick<KubeClient, 'get' | 'create' | 'replace'>;
  readonly namespace: string;
  /** Stork: `stork-webhook-secret` for the webhook; `stork-extender-tls` for the extender. */
  readonly secretName: string;
  readonly policy: CertificatePolicy;
  readonly logger: Logger;
}

function decode(secret: Secret): CertificateData {
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret.data ?? {}))
    data[key] = Buffer.from(value, 'base64').toString('utf8');
  for (const [key, value] of Object.entries(secret.stringData ?? {})) data[key] = value;
  return data;
}

function encode(data: CertificateData): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) out[key] = Buffer.from(value, 'utf8').toString('base64');
  return out;
}

/** The Secret with its data replaced (stringData dropped: it was merged into what we decoded). */
function withData(secret: Secret, data: Record<string, string>): Secret {
  const { stringData: _merged, ...rest } = secret;
  return { ...rest, data };
}

function certificatesOf(data: CertificateData): StoredCertificates {
  const client = data[secretKeys.clientCert];
  const clientKey = data[secretKeys.clientKey];
  return {
    caBundlePem: data[secretKeys.caBundle] ?? '',
    certPem: data[secretKeys.cert] ?? '',
    keyPem: data[secretKeys.key] ?? '',
    ...(client !== undefined && clientKey !== undefined
      ? { clientCertPem: client, clientKeyPem: clientKey }
      : {}),
  };
}

/**
 * Keeps a CA and the certificates it issued (the webhook's, the extender's) in one Secret that every stork replica shares. Each round reads the
 * Secret, works out what it should hold ({@link planCertificates}) and writes only if that differs, with
 * the read's resourceVersion (or as a create): when two replicas act at once, one write wins and the
 * other gets a conflict, reads the winner's Secret, finds it good and adopts it. So replicas never
 * overwrite each other's certificates and all converge on what the Secret holds.
 */
export class CertificateStore {
  constructor(private readonly options: CertificateStoreOptions) {}

  async reconcile(signal?: AbortSignal): Promise<StoredCertificates> {
    const { api, namespace, secretName: name, policy, logger } = this.options;
    // Another replica may write first: then read what it wrote and judge that instead.
    return retryOnConflict(async (attempt) => {
      if (signal?.aborted) throw new Error('stopped');
      if (attempt > 0) {
        logger.debug(
          { secret: `${namespace}/${name}` },
          'certificate Secret changed under us; reading it again',
        );
      }
      const existing = await getOrUndefined(() => api.get<Secret>(resources.secrets, { namespace, name }));
      const current = existing ? decode(existing) : undefined;
      const plan = await planCertificates(current, policy);
      if (plan.changes.length === 0) return certificatesOf(plan.data);
      if (existing) {
        await api.replace<Secret>(
          resources.secrets,
          { namespace, name },
          withData(existing, encode(plan.data)),
        );
      } else {
        await api.create<Secret>(
          resources.secrets,
          {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'stork' } },
            type: 'Opaque',
            data: encode(plan.data),
          },
          namespace,
        );
      }
      logger.info({ secret: `${namespace}/${name}`, changes: plan.changes }, 'certificates updated');
      return certificatesOf(plan.data);
    });
  }
}
