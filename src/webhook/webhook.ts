import { isIP } from 'node:net';
import type { VolumeDriver } from '../drivers/driver.js';
import type { ClaimLookups } from '../drivers/pod-claims.js';
import type { KubeApi } from '../k8s/api.js';
import type { Logger } from '../lib/log.js';
import { CertificateStore, type WebhookCertificates } from '../k8s/certificate-store.js';
import { decideMutation } from './decision.js';
import { desiredWebhook, ensureWebhookConfiguration, webhookConfigurationName } from './registration.js';
import { WebhookServer, type AdmissionOutcome } from './server.js';
import { loggingErrorSink } from '../lib/error-sink.js';
import { periodicRound } from '../lib/periodic-round.js';

const dayMs = 24 * 60 * 60 * 1000;

/** The webhook's settings (flags `--webhook-*`, `--scheduler-name`). */
export interface WebhookConfig {
  readonly port: number;
  readonly host: string;
  /** The scheduler pods with driver volumes are given. */
  readonly schedulerName: string;
  readonly skipAnnotation: string;
  /** The Service in front of stork (Stork: `stork-service`); its DNS names go into the certificate. */
  readonly serviceName: string;
  /** Where the Service and the certificate Secret live. */
  readonly namespace: string;
  /** Register this URL instead of the Service (stork running outside the cluster). */
  readonly url?: string;
  /** More names (DNS or IP) for the serving certificate. */
  readonly extraSans: readonly string[];
  readonly secretName: string;
  readonly caValidityMs: number;
  readonly certValidityMs: number;
  /** How often the Secret and the registration are checked (and rotation happens when due). */
  readonly certCheckIntervalMs: number;
  /** The API server's timeout for one call (`timeoutSeconds`, 1–30). */
  readonly timeoutSeconds: number;
  /** Namespaces whose pods the API server never sends (a `namespaceSelector` on the registration). */
  readonly excludedNamespaces: readonly string[];
}

export const defaultWebhookConfig: Omit<WebhookConfig, 'namespace'> = {
  port: 8443,
  host: '0.0.0.0',
  schedulerName: 'stork',
  skipAnnotation: 'stork.libopenstorage.org/disable-admission-controller',
  serviceName: 'stork-webhook',
  extraSans: [],
  secretName: 'stork-webhook-secret',
  caValidityMs: 10 * 365 * dayMs,
  certValidityMs: 365 * dayMs,
  certCheckIntervalMs: 60_000,
  timeoutSeconds: 5,
  excludedNamespaces: ['kube-system'],
};

export interface WebhookDependencies {
  readonly api: KubeApi;
  readonly driver: Pick<VolumeDriver, 'name' | 'ownsClaim'>;
  /** Cache lookups (informers): the admission path never calls the API server. */
  readonly lookups: ClaimLookups;
  readonly logger: Logger;
  readonly observe?: (status: number, seconds: number) => void;
  readonly onOutcome?: (outcome: AdmissionOutcome) => void;
  readonly onCertificates?: (certificates: WebhookCertificates) => void;
}

export interface RunningWebhook {
  readonly port: number;
  /** Runs one certificate/registration round now (rotation if due); resolves when it is done. */
  reconcile(): Promise<void>;
  stop(): Promise<void>;
}

/** The names the serving certificate covers: the Service's DNS names, the URL's host, extra SANs. */
export function certificateNames(config: WebhookConfig): { dnsNames: string[]; ipAddresses: string[] } {
  const svc = config.serviceName;
  const ns = config.namespace;
  const names = [
    svc,
    `${svc}.${ns}`,
    `${svc}.${ns}.svc`,
    `${svc}.${ns}.svc.cluster.local`,
    ...config.extraSans,
  ];
  if (config.url) names.push(new URL(config.url).hostname.replace(/^\[|\]$/g, ''));
  const unique = [...new Set(names)];
  return { dnsNames: unique.filter((n) => isIP(n) === 0), ipAddresses: unique.filter((n) => isIP(n) !== 0) };
}

/**
 * Starts the admission webhook on this replica: certificates from the shared Secret, the HTTPS server, and
 * the registration. Every replica does all three rather than the leader alone: each replica serves and so
 * needs the certificates anyway; the Secret and the registration are written only when they differ from
 * what they should be, with optimistic concurrency, so replicas agree instead of fighting; and the webhook
 * keeps working (and rotating) while leadership changes hands or with leader election off.
 */
export async function startWebhook(
  config: WebhookConfig,
  deps: WebhookDependencies,
): Promise<RunningWebhook> {
  const logger = deps.logger.child({ component: 'webhook' });
  const store = new CertificateStore({
    api: deps.api,
    namespace: config.namespace,
    secretName: config.secretName,
    logger,
    policy: {
      commonName: `${config.serviceName}.${config.namespace}.svc`,
      ...certificateNames(config),
      caValidityMs: config.caValidityMs,
      servingValidityMs: config.certValidityMs,
    },
  });
  let certificates = await store.reconcile();
  deps.onCertificates?.(certificates);
  const server = new WebhookServer({
    certificate: certificates,
    logger,
    decide: (request, final) => decideMutation(request, deps.driver, deps.lookups, config, final),
    ...(deps.observe ? { observe: deps.observe } : {}),
    onOutcome: (outcome, request) => {
      deps.onOutcome?.(outcome);
      if (outcome.outcome === 'patched' && logger.isLevelEnabled('debug')) {
        logger.debug(
          { namespace: request?.namespace, name: request?.name },
          `pod given schedulerName ${config.schedulerName}`,
        );
      }
    },
  });
  const port = await server.listen(config.port, config.host);
  logger.info({ port }, 'admission webhook listening');

  const register = async (): Promise<void> => {
    const result = await ensureWebhookConfiguration(
      deps.api,
      desiredWebhook({
        target: config.url
          ? { url: config.url }
          : { service: { namespace: config.namespace, name: config.serviceName, port: 443 } },
        caBundlePem: certificates.caBundlePem,
        excludedNamespaces: [...config.excludedNamespaces],
        timeoutSeconds: config.timeoutSeconds,
      }),
    );
    if (result !== 'unchanged')
      logger.info({ name: webhookConfigurationName, result }, 'webhook registration');
  };

  // One round: the Secret (rotating when due), then the registration's caBundle, then the served
  // certificate. Callers learn a new CA before they can meet a certificate it signed.
  const controller = new AbortController();
  // What the server presents now; apart from `certificates` so that a round that fails half-way (the
  // registration could not be written) still reloads the server in a later round.
  let served: WebhookCertificates = certificates;
  const round = async (): Promise<void> => {
    const next = await store.reconcile(controller.signal);
    const changed = next.certPem !== certificates.certPem || next.caBundlePem !== certificates.caBundlePem;
    certificates = next;
    if (changed) deps.onCertificates?.(next);
    await register();
    if (next.certPem !== served.certPem || next.keyPem !== served.keyPem) {
      server.setCertificate(next);
      served = next;
      logger.info('serving certificate reloaded');
    }
  };
  try {
    await register();
  } catch (error) {
    await server.close();
    throw error;
  }
  // Through the error sink, which keeps the stack.
  const sink = loggingErrorSink(logger);
  const rounds = periodicRound(round, {
    intervalMs: config.certCheckIntervalMs,
    onError: (error) => sink(error, 'webhook certificate round failed; retrying'),
  });
  return {
    port,
    reconcile: rounds.run,
    stop: async () => {
      controller.abort();
      await rounds.stop();
      await server.close();
    },
  };
}
