import type { KubeApi } from '../k8s/api.js';
import { AccessReviewer } from '../k8s/access-review.js';
import type { Clock } from '../lib/clock.js';
import type { ServerLimits } from '../lib/http.js';
import type { Logger } from '../lib/log.js';
import {
  defaultExtenderCertificateConfig,
  extenderTls,
  startExtenderCertificates,
  type ExtenderCertificateConfig,
  type RunningExtenderCertificates,
} from './certificates.js';
import { ExtenderServer, type ExtenderServerOptions } from './server.js';
import { StatusServer, type StatusServerOptions } from './status-server.js';

/** How the extender and the status documents are served (flags `--extender-*`, `--status-*`). */
export interface ExtenderServingConfig {
  /** Plain HTTP on the extender port, as Stork serves it: anyone who reaches the port may ask. Insecure. */
  readonly insecureHttp: boolean;
  readonly acceptNodeObjects: boolean;
  /** Undefined: sized for the node mode (see server.ts). */
  readonly maxRequestBytes?: number;
  readonly maxNodes?: number;
  readonly limits?: Partial<ServerLimits>;
  readonly certificates: ExtenderCertificateConfig;
  /** The authenticated port for /metrics, /explain and /hyperconvergence; undefined: not served. */
  readonly statusPort?: number;
  readonly statusHost: string;
}

export const defaultExtenderServingConfig: ExtenderServingConfig = {
  insecureHttp: false,
  acceptNodeObjects: false,
  certificates: { ...defaultExtenderCertificateConfig, namespace: 'kube-system' },
  statusPort: 8098,
  statusHost: '0.0.0.0',
};

export interface ExtenderServingDependencies {
  readonly api: KubeApi;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The extender server's options apart from transport and bounds. */
  readonly extender: Omit<
    ExtenderServerOptions,
    'tls' | 'acceptNodeObjects' | 'maxBodyBytes' | 'maxNodes' | 'limits'
  >;
  readonly status: Omit<StatusServerOptions, 'certificate' | 'reviewer' | 'logger' | 'limits'>;
}

export interface RunningExtenderServing {
  readonly extenderPort: number;
  readonly statusPort: number | undefined;
  /** One certificate round now (rotation if due). */
  reconcileCertificates(): Promise<void>;
  /** Closes the servers, letting requests in flight finish for up to `drainMs`, then the certificate rounds. */
  stop(drainMs?: number): Promise<void>;
}

/**
 * Starts the extender (mutual TLS unless configured for Stork's plain HTTP), its certificates, and the
 * authenticated status port. Stopping closes the servers (finishing requests in flight), then the
 * certificate rounds.
 */
export async function startExtenderServing(
  config: ExtenderServingConfig,
  port: number,
  host: string,
  deps: ExtenderServingDependencies,
): Promise<RunningExtenderServing> {
  let extender: ExtenderServer | undefined;
  let status: StatusServer | undefined;
  const certificates: RunningExtenderCertificates = await startExtenderCertificates(config.certificates, {
    api: deps.api,
    logger: deps.logger,
    onChange: (next) => {
      if (!config.insecureHttp) extender?.setTls(extenderTls(next));
      status?.setCertificate(next);
    },
  });
  const stoppers: ((drainMs?: number) => Promise<void>)[] = [() => certificates.stop()];
  const stop = async (drainMs?: number): Promise<void> => {
    for (const s of stoppers.reverse()) await s(drainMs).catch(() => undefined);
    stoppers.length = 0;
  };
  try {
    extender = new ExtenderServer({
      ...deps.extender,
      ...(config.insecureHttp ? {} : { tls: extenderTls(certificates.current()) }),
      acceptNodeObjects: config.acceptNodeObjects,
      ...(config.maxRequestBytes !== undefined ? { maxBodyBytes: config.maxRequestBytes } : {}),
      ...(config.maxNodes !== undefined ? { maxNodes: config.maxNodes } : {}),
      ...(config.limits ? { limits: config.limits } : {}),
    });
    const extenderPort = await extender.listen(port, host);
    const started = extender;
    stoppers.push((drainMs) => started.close(drainMs));
    deps.logger.info(
      { port: extenderPort, transport: config.insecureHttp ? 'http (insecure)' : 'https, mutual TLS' },
      'scheduler extender listening',
    );
    let statusPort: number | undefined;
    if (config.statusPort !== undefined) {
      status = new StatusServer({
        ...deps.status,
        certificate: certificates.current(),
        reviewer: new AccessReviewer({ client: deps.api, clock: deps.clock }),
        logger: deps.logger,
        ...(config.limits ? { limits: config.limits } : {}),
      });
      statusPort = await status.listen(config.statusPort, config.statusHost);
      const s = status;
      stoppers.push((drainMs) => s.close(drainMs));
      deps.logger.info({ port: statusPort }, 'status documents listening (https, Kubernetes authentication)');
    }
    return { extenderPort, statusPort, reconcileCertificates: () => certificates.reconcile(), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
