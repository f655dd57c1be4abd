import { parse, parseAllDocuments } from 'yaml';

/** The client certificate, its key and the CA that signed the extender's certificate, as files. */
export interface ExtenderTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

/** How the stork kube-scheduler calls the extender; the fields of `KubeSchedulerConfiguration.extenders[]`. */
export interface ExtenderRegistration {
  readonly urlPrefix: string;
  readonly weight?: number;
  readonly nodeCacheCapable?: boolean;
  readonly ignorable?: boolean;
  /** A Go duration, e.g. `5s`. */
  readonly httpTimeout?: string;
  /** Mutual TLS (an https `urlPrefix`); without it the extender is called over plain HTTP. */
  readonly tls?: ExtenderTlsFiles;
  /**
   * Use the configuration shipped in specs/stork-scheduler.yaml (only `urlPrefix` is taken from here),
   * so that what users install is what is tested.
   */
  readonly shipped?: boolean;
}

/**
 * A `kubescheduler.config.k8s.io/v1` configuration for one profile. JSON is valid YAML, and the scheduler
 * reads it either way. Leader election is off: each box runs one replica of each scheduler.
 */
export function schedulerConfiguration(options: {
  schedulerName: string;
  kubeconfig: string;
  extender?: ExtenderRegistration;
}): string {
  const config: Record<string, unknown> = {
    apiVersion: 'kubescheduler.config.k8s.io/v1',
    kind: 'KubeSchedulerConfiguration',
    clientConnection: { kubeconfig: options.kubeconfig, qps: 500, burst: 1000 },
    leaderElection: { leaderElect: false },
    // Score every feasible node, so that replica nodes are never left out of the extender's view.
    percentageOfNodesToScore: 100,
    profiles: [{ schedulerName: options.schedulerName }],
  };
  if (options.extender) {
    const e = options.extender;
    config.extenders = [
      {
        urlPrefix: e.urlPrefix,
        filterVerb: 'filter',
        prioritizeVerb: 'prioritize',
        weight: e.weight ?? 5,
        enableHTTPS: e.tls !== undefined,
        ...(e.tls ? { tlsConfig: { ...e.tls } } : {}),
        nodeCacheCapable: e.nodeCacheCapable ?? false,
        ignorable: e.ignorable ?? false,
        httpTimeout: e.httpTimeout ?? '5s',
      },
    ];
  }
  return JSON.stringify(config, null, 2) + '\n';
}

/**
 * The stork scheduler configuration shipped in specs/stork-scheduler.yaml, adapted to run here: the
 * extender at `urlPrefix`, the given kubeconfig, no leader election, and the client certificate files
 * where the box keeps them (or, for a stork run with --extender-insecure-http, plain HTTP). Everything
 * else (weight, node mode, timeout, percentageOfNodesToScore) is exactly what users install, so the box
 * tests what ships.
 */
export function shippedStorkSchedulerConfiguration(
  specText: string,
  options: { urlPrefix: string; kubeconfig: string; tls?: ExtenderTlsFiles },
): string {
  const configMap = parseAllDocuments(specText)
    .map(
      (doc) => doc.toJS() as { kind?: string; metadata?: { name?: string }; data?: Record<string, string> },
    )
    .find((object) => object.kind === 'ConfigMap' && object.metadata?.name === 'stork-config');
  const text = configMap?.data?.['stork-config.yaml'];
  if (!text)
    throw new Error('specs/stork-scheduler.yaml has no stork-config ConfigMap with stork-config.yaml');
  const config = parse(text) as Record<string, unknown> & { extenders?: Record<string, unknown>[] };
  const extender = config.extenders?.[0];
  if (!extender) throw new Error('the shipped scheduler configuration registers no extender');
  extender.urlPrefix = options.urlPrefix;
  if (options.tls) {
    extender.tlsConfig = { ...(extender.tlsConfig as object), ...options.tls };
  } else {
    extender.enableHTTPS = false;
    delete extender.tlsConfig;
  }
  config.clientConnection = { kubeconfig: options.kubeconfig, qps: 500, burst: 1000 };
  config.leaderElection = { leaderElect: false };
  return JSON.stringify(config, null, 2) + '\n';
}

/** The path of the shipped stork scheduler spec. */
export const shippedStorkSchedulerSpec = new URL('../../specs/stork-scheduler.yaml', import.meta.url);
