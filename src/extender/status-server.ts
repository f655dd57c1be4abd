import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpsServer, type ServingKeyPair } from '../lib/https-server.js';
import type { AccessRequest, AccessReviewer } from '../k8s/access-review.js';
import { ReviewsBusyError } from '../k8s/access-review.js';
import { HttpError, send, sendError, truncate, type ServerLimits } from '../lib/http.js';
import type { Logger } from '../lib/log.js';
import { errorText } from '../lib/errors.js';

/**
 * The header storkctl also sends its token in: the API server's service proxy authenticates the user
 * and then removes `Authorization`, so through the proxy this one carries it to stork.
 */
export const forwardedTokenHeader = 'x-stork-authorization';

/** A report of running pods, filterable by namespace. */
export interface PodReport {
  readonly pods: readonly { readonly namespace: string }[];
}

export interface StatusServerOptions {
  readonly certificate: { readonly certPem: string; readonly keyPem: string };
  readonly reviewer: Pick<AccessReviewer, 'authenticate' | 'authorize'>;
  readonly logger: Logger;
  /** `GET /metrics` (Prometheus text format); callers need `get` on the non-resource URL `/metrics`. */
  readonly metrics?: () => Promise<{ contentType: string; body: string }>;
  /** `GET /explain?namespace=N&pod=P`; callers need `get pods` on that pod. Undefined: not in the cache. */
  readonly explain?: (namespace: string, pod: string) => unknown;
  /**
   * `GET /hyperconvergence`: callers need `list pods` cluster-wide, or with `?namespace=N` in N (then only
   * N's pods are reported).
   */
  readonly hyperconvergence?: () => PodReport;
  readonly limits?: Partial<ServerLimits>;
}

/**
 * Stork's read-only documents on a port of their own, over HTTPS, for authenticated and authorized callers
 * only: a bearer token checked with a TokenReview, then a SubjectAccessReview for what the path discloses.
 * What each path needs is in docs/operations.md. Nothing here changes state.
 */
export class StatusServer {
  private readonly server: HttpsServer;

  constructor(private readonly options: StatusServerOptions) {
    this.server = new HttpsServer(options.certificate, (req, res) => this.handle(req, res), options.limits);
  }

  /** Swaps the serving certificate in place (hot reload; no restart, no dropped connections). */
  setCertificate(certificate: ServingKeyPair): void {
    this.server.setCertificate(certificate);
  }

  listen(port: number, host = '0.0.0.0'): Promise<number> {
    return this.server.listen(port, host);
  }

  /** Stops accepting connections, lets in-flight requests finish, then closes idle ones. */
  close(graceMs?: number): Promise<void> {
    return this.server.close(graceMs);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://stork');
    try {
      if (url.pathname === '/healthz') {
        send(res, 200, 'ok', 'text/plain');
        return;
      }
      if (req.method !== 'GET') throw new HttpError(405, 'only GET is served here');
      const o = this.options;
      if (url.pathname === '/metrics' && o.metrics) {
        await this.admit(req, { verb: 'get', path: '/metrics' });
        const metrics = await o.metrics();
        send(res, 200, metrics.body, metrics.contentType);
        return;
      }
      if (url.pathname === '/explain' && o.explain) {
        const namespace = url.searchParams.get('namespace') ?? 'default';
        const pod = url.searchParams.get('pod');
        if (!pod) throw new HttpError(400, 'explain needs ?pod=NAME (and ?namespace=NS)');
        await this.admit(req, { verb: 'get', resource: 'pods', namespace, name: pod });
        const document = o.explain(namespace, pod);
        if (document === undefined)
          throw new HttpError(
            404,
            `pod ${truncate(namespace, 63)}/${truncate(pod, 253)} is not in stork's cache`,
          );
        send(res, 200, JSON.stringify(document), 'application/json');
        return;
      }
      if (url.pathname === '/hyperconvergence' && o.hyperconvergence) {
        const namespace = url.searchParams.get('namespace');
        await this.admit(req, { verb: 'list', resource: 'pods', ...(namespace ? { namespace } : {}) });
        const report = o.hyperconvergence();
        send(
          res,
          200,
          JSON.stringify(
            namespace ? { ...report, pods: report.pods.filter((p) => p.namespace === namespace) } : report,
          ),
          'application/json',
        );
        return;
      }
      throw new HttpError(404, `Unsupported request: ${req.method ?? ''} ${url.pathname}`);
    } catch (error) {
      const status =
        error instanceof HttpError ? error.status : error instanceof ReviewsBusyError ? 429 : 503;
      if (status === 503)
        this.options.logger.warn(
          { err: errorText(error), path: truncate(url.pathname) },
          'could not authenticate or authorize a status request',
        );
      // A failed review is the API server's trouble, not the caller's: say so without its details.
      sendError(res, status, status === 503 ? '' : errorText(error));
    }
  }

  private async admit(req: IncomingMessage, request: AccessRequest): Promise<void> {
    const header = req.headers.authorization ?? req.headers[forwardedTokenHeader];
    const value = Array.isArray(header) ? header[0] : header;
    const token = /^Bearer\s+(\S+)$/i.exec(value ?? '')?.[1];
    if (!token) throw new HttpError(401, 'a bearer token is required (Authorization: Bearer ...)');
    if (token.length > 16_384) throw new HttpError(401, 'the bearer token is too long');
    const caller = await this.options.reviewer.authenticate(token);
    if (!caller) throw new HttpError(401, 'the bearer token was not accepted by the API server');
    if (!(await this.options.reviewer.authorize(caller, request))) {
      const what =
        'path' in request
          ? `${request.verb} ${request.path}`
          : `${request.verb} ${request.resource}${request.namespace ? ` in namespace ${request.namespace}` : ' cluster-wide'}`;
      throw new HttpError(403, `${caller.user} may not ${what}`);
    }
  }
}
