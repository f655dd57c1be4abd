import { isIP } from 'node:net';
import type { Secret } from '../wire/k8s-types.js';
import type { KubeClient } from '../k8s/client.js';
import { CertificateStore, type StoredCertificates } from '../k8s/certificate-store.js';
import { getOrUndefined } from '../k8s/errors.js';
import { retryOnConflict } from '../k8s/retry.js';
import { resources } from '../k8s/paths.js';
import type { Logger } from '../lib/log.js';
import type { ExtenderTls } from './server.js';
import { loggingErrorSink } from '../lib/error-sink.js';
import { periodicRound } from '../lib/periodic-round.js';

const dayMs = 24 * 60 * 60 * 1000;

/** The extender's certificates (flags `--extender-*`). */
export interface ExtenderCertificateConfig {
  /** Stork's namespace: both Secrets live there, as does the stork scheduler in the shipped specs. */
  readonly namespace: string;
  /** The Service the scheduler calls (`stork-service`); its DNS names go into the serving certificate. */
  readonly serviceName: string;
  /** More names (DNS or IP) for the serving certificate. */
  readonly extraSans: readonly string[];
  readonly caValidityMs: number;
  readonly certValidityMs: number;
  readonly checkIntervalMs: number;
}

/** Stork's own Secret: the CA and its key, the serving pair and the scheduler's client pair. */
export const extenderSecretName = 'stork-extender-tls';
/** What the stork scheduler mounts: the CA bundle and its client certificate, no CA key. */
export const schedulerSecretName = 'stork-scheduler-tls';
/** The common name of the scheduler's client certificate; the extender answers no other. */
export const schedulerClientName = 'stork-scheduler';

export const defaultExtenderCertificateConfig: Omit<ExtenderCertificateConfig, 'namespace'> = {
  serviceName: 'stork-service',
  extraSans: [],
  caValidityMs: 10 * 365 * dayMs,
  certValidityMs: 365 * dayMs,
  checkIntervalMs: 60_000,
};

export interface RunningExtenderCertificates {
  current(): StoredCertificates;
  /** One round now (rotation if due). */
  reconcile(): Promise<void>;
  stop(): Promise<void>;
}

/** What the extender server takes from the stored certificates. */
export function extenderTls(certificates: StoredCertificates): ExtenderTls {
  return {
    certPem: certificates.certPem,
    keyPem: certificates.keyPem,
    clientCaPem: certificates.caBundlePem,
    clientName: schedulerClientName,
  };
}

/**
 * Issues and rotates the extender's certificates as the webhook's are (the same store and plan; every
 * replica reconciles, optimistic concurrency makes them agree), and publishes the scheduler's half to
 * {@link schedulerSecretName}. `onChange` hears of every new set.
 */
export async function startExtenderCertificates(
  config: ExtenderCertificateConfig,
  deps: {
    api: Pick<KubeClient, 'get' | 'create' | 'replace'>;
    logger: Logger;
    onChange: (certificates: StoredCertificates) => void;
  },
): Promise<RunningExtenderCertificates> {
  const logger = deps.logger.child({ component: 'extender-certificates' });
  const svc = config.serviceName;
  const ns = config.namespace;
  const names = [
    ...new Set([
      svc,
      `${svc}.${ns}`,
      `${svc}.${ns}.svc`,
      `${svc}.${ns}.svc.cluster.local`,
      ...config.extraSans,
    ]),
  ];
  const store = new CertificateStore({
    api: deps.api,
    namespace: ns,
    secretName: extenderSecretName,
    logger,
    policy: {
      commonName: `${svc}.${ns}.svc`,
      dnsNames: names.filter((n) => isIP(n) === 0),
      ipAddresses: names.filter((n) => isIP(n) !== 0),
      caValidityMs: config.caValidityMs,
      servingValidityMs: config.certValidityMs,
      client: { commonName: schedulerClientName },
    },
  });
  const controller = new AbortController();
  let current = await store.reconcile(controller.signal);
  await publishSchedulerSecret(deps.api, ns, current, logger);
  const round = async (): Promise<void> => {
    const next = await store.reconcile(controller.signal);
    // The scheduler's Secret first: it must trust a new CA before stork serves a certificate it signed.
    await publishSchedulerSecret(deps.api, ns, next, logger);
    if (next.certPem !== current.certPem || next.caBundlePem !== current.caBundlePem) {
      current = next;
      deps.onChange(next);
      logger.info('extender certificates reloaded');
    }
  };
  // Through the error sink, which keeps the stack.
  const sink = loggingErrorSink(logger);
  const rounds = periodicRound(round, {
    intervalMs: config.checkIntervalMs,
    onError: (error) => sink(error, 'extender certificate round failed; retrying'),
  });
  return {
    current: () => current,
    reconcile: rounds.run,
    stop: async () => {
      controller.abort();
      await rounds.stop();
    },
  };
}

/** The scheduler's Secret in kubernetes.io/tls shape plus `ca.crt`; written only when it differs. */
async function publishSchedulerSecret(
  api: Pick<KubeClient, 'get' | 'create' | 'replace'>,
  namespace: string,
  certificates: StoredCertificates,
  logger: Logger,
): Promise<void> {
  if (!certificates.clientCertPem || !certificates.clientKeyPem)
    throw new Error('no client certificate was issued');
  const data = {
    'ca.crt': b64(certificates.caBundlePem),
    'tls.crt': b64(certificates.clientCertPem),
    'tls.key': b64(certificates.clientKeyPem),
  };
  const ref = { namespace, name: schedulerSecretName };
  await retryOnConflict(async () => {
    const existing = await getOrUndefined(() => api.get<Secret>(resources.secrets, ref));
    const same = existing && Object.entries(data).every(([k, v]) => existing.data?.[k] === v);
    if (same) return;
    if (existing)
      await api.replace<Secret>(resources.secrets, ref, {
        ...existing,
        data: { ...existing.data, ...data },
      });
    else
      await api.create<Secret>(
        resources.secrets,
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { ...ref, labels: { 'app.kubernetes.io/name': 'stork' } },
          type: 'Opaque',
          data,
        },
        namespace,
      );
    logger.info(
      { secret: `${namespace}/${schedulerSecretName}` },
      "scheduler's client certificate published",
    );
  });
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
