import { bool, commaList, port, positiveInt } from './flag-values.js';
import { type Command, InvalidArgumentError } from 'commander';
import { defaultExtenderCertificateConfig } from '../extender/certificates.js';
import { defaultMaxNamesBodyBytes, defaultMaxNodes, defaultMaxObjectsBodyBytes } from '../extender/server.js';
import { defaultExtenderServingConfig, type ExtenderServingConfig } from '../extender/serving.js';
import { defaultServerLimits } from '../lib/http.js';

/** The flags of the extender's transport, its bounds, the status port and the webhook's exclusions. */
export interface ServingFlags {
  extenderInsecureHttp: boolean;
  extenderAcceptNodeObjects: boolean;
  extenderMaxRequestBytes?: number;
  extenderMaxNodes: number;
  extenderMaxConnections: number;
  extenderRequestTimeout: number;
  extenderCertSans: string[];
  extenderCertValidity: number;
  extenderCaValidity: number;
  statusPort: number;
  statusAddress: string;
  webhookExcludedNamespaces?: string[];
}

/** Adds the serving flags to stork's command. */
export function addServingFlags(command: Command): Command {
  return command
    .option(
      '--extender-insecure-http [bool]',
      'serve the extender over plain HTTP to anyone, as Stork does (insecure; default: HTTPS, mutual TLS)',
      bool,
      defaultExtenderServingConfig.insecureHttp,
    )
    .option(
      '--extender-accept-node-objects [bool]',
      'accept full Node objects (nodeCacheCapable: false); default: node names only',
      bool,
      defaultExtenderServingConfig.acceptNodeObjects,
    )
    .option(
      '--extender-max-request-bytes <bytes>',
      `largest extender request body (default ${defaultMaxNamesBodyBytes}; ${defaultMaxObjectsBodyBytes} with node objects)`,
      positiveInt('--extender-max-request-bytes'),
    )
    .option(
      '--extender-max-nodes <count>',
      'most nodes one extender request may offer',
      positiveInt('--extender-max-nodes'),
      defaultMaxNodes,
    )
    .option(
      '--extender-max-connections <count>',
      'open connections at most, per server (extender, status port)',
      positiveInt('--extender-max-connections'),
      defaultServerLimits.maxConnections,
    )
    .option(
      '--extender-request-timeout <seconds>',
      'a request (headers and body) must arrive within this',
      positiveInt('--extender-request-timeout'),
      defaultServerLimits.requestTimeoutMs / 1000,
    )
    .option(
      '--extender-cert-sans <names>',
      "more names (DNS or IP, comma-separated) for the extender's serving certificate",
      commaList,
      [] as string[],
    )
    .option(
      '--extender-cert-validity <seconds>',
      "validity of the extender's serving and the scheduler's client certificate; renewed when a third remains",
      positiveInt('--extender-cert-validity'),
      defaultExtenderCertificateConfig.certValidityMs / 1000,
    )
    .option(
      '--extender-ca-validity <seconds>',
      "validity of the extender's CA; must exceed the certificates'",
      positiveInt('--extender-ca-validity'),
      defaultExtenderCertificateConfig.caValidityMs / 1000,
    )
    .option(
      '--status-port <port>',
      'HTTPS port of /metrics, /explain and /hyperconvergence (Kubernetes authentication and authorization)',
      port,
      defaultExtenderServingConfig.statusPort,
    )
    .option(
      '--status-address <ip>',
      'address the status port listens on',
      defaultExtenderServingConfig.statusHost,
    )
    .option(
      '--webhook-excluded-namespaces <namespaces>',
      "namespaces whose pods the webhook never sees (comma-separated; default: kube-system and stork's own)",
      commaList,
    );
}

/** The serving configuration from its flags; `namespace` is stork's own (where its Secrets live). */
export function servingConfigFromFlags(flags: ServingFlags, namespace: string): ExtenderServingConfig {
  if (flags.extenderCaValidity <= flags.extenderCertValidity)
    throw new InvalidArgumentError('--extender-ca-validity must be longer than --extender-cert-validity');
  const requestTimeoutMs = flags.extenderRequestTimeout * 1000;
  const certValidityMs = flags.extenderCertValidity * 1000;
  return {
    insecureHttp: flags.extenderInsecureHttp,
    acceptNodeObjects: flags.extenderAcceptNodeObjects,
    ...(flags.extenderMaxRequestBytes !== undefined
      ? { maxRequestBytes: flags.extenderMaxRequestBytes }
      : {}),
    maxNodes: flags.extenderMaxNodes,
    limits: {
      maxConnections: flags.extenderMaxConnections,
      requestTimeoutMs,
      headersTimeoutMs: Math.min(defaultServerLimits.headersTimeoutMs, requestTimeoutMs),
    },
    certificates: {
      ...defaultExtenderCertificateConfig,
      namespace,
      extraSans: flags.extenderCertSans,
      certValidityMs,
      caValidityMs: flags.extenderCaValidity * 1000,
      // Renewal happens when a third remains, at one of the checks: they come at least six times as often.
      checkIntervalMs: Math.min(defaultExtenderCertificateConfig.checkIntervalMs, certValidityMs / 6),
    },
    statusPort: flags.statusPort,
    statusHost: flags.statusAddress,
  };
}

/** The webhook's excluded namespaces: the flag's, else kube-system and stork's own. */
export function excludedNamespacesFromFlags(flags: ServingFlags, namespace: string): string[] {
  return flags.webhookExcludedNamespaces ?? [...new Set(['kube-system', namespace])];
}
