import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpsServer, type ServingKeyPair } from '../lib/https-server.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseJsonBody } from '../lib/json-body.js';
import type { Logger } from '../lib/log.js';
import {
  AdmissionDecodeError,
  admissionResponse,
  decodeAdmissionReview,
  type AdmissionRequest,
} from './admission-review.js';
import type { MutateDecision, SkipReason } from './decision.js';
import { HttpError, readBody, send, sendError, truncate, type ServerLimits } from '../lib/http.js';
import { errorText } from '../lib/errors.js';

/** What happened to one admission request (metric labels). */
export type AdmissionOutcome =
  | { readonly outcome: 'patched' }
  | { readonly outcome: 'skipped'; readonly reason: SkipReason }
  | { readonly outcome: 'error'; readonly reason: 'bad-request' | 'internal' };

export interface ServingCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface WebhookServerOptions {
  readonly certificate: ServingCertificate;
  /** The mutate decision; `final` asks for an answer on what is known now (no more waiting). */
  readonly decide: (request: AdmissionRequest, final: boolean) => MutateDecision;
  readonly logger: Logger;
  /** How long a request may wait for claims the caches have not seen yet (default 2 s). */
  readonly claimWaitMs?: number;
  readonly observe?: (status: number, seconds: number) => void;
  readonly onOutcome?: (outcome: AdmissionOutcome, request: AdmissionRequest | undefined) => void;
  /** The largest body accepted (default 8 MiB: the API server's objects are at most ~3 MiB). */
  readonly maxBodyBytes?: number;
  readonly limits?: Partial<ServerLimits>;
}

/**
 * The webhook's HTTPS front door: `POST /mutate` takes an AdmissionReview and answers with the decision.
 * It never rejects a pod (every answer is `allowed`), never calls the API server, and a malformed body gets
 * a 400 with the reason. The certificate can be replaced while it runs: new connections get the new one,
 * connections already open keep theirs.
 */
export class WebhookServer {
  private readonly server: HttpsServer;

  // The API server reuses connections to webhooks; the keep-alive limit stays above its idle timeout.
  constructor(private readonly options: WebhookServerOptions) {
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
  close(): Promise<void> {
    return this.server.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const url = (req.url ?? '/').split('?')[0] ?? '/';
    let status = 200;
    let request: AdmissionRequest | undefined;
    try {
      // The webhook's own health: it answers once it serves, whatever the storage system's state (the
      // extender's /readyz is the one that reports storage).
      if ((url === '/healthz' || url === '/readyz') && req.method === 'GET') {
        send(res, 200, 'ok', 'text/plain');
        return;
      }
      if (url !== '/mutate') throw new HttpError(404, `Unsupported request: ${req.method ?? ''} ${url}`);
      if (req.method !== 'POST') throw new HttpError(405, `/mutate needs POST, got ${req.method ?? ''}`);
      const text = await readBody(req, this.options.maxBodyBytes ?? 8 * 1024 * 1024);
      const body = parseJsonBody(text);
      try {
        request = decodeAdmissionReview(body);
      } catch (error) {
        if (error instanceof AdmissionDecodeError) throw new HttpError(400, `Decode error: ${error.message}`);
        throw error;
      }
      const decision = await this.decide(request);
      this.report(
        decision.action === 'patch'
          ? { outcome: 'patched' }
          : { outcome: 'skipped', reason: decision.reason },
        request,
      );
      send(
        res,
        200,
        JSON.stringify(admissionResponse(request.uid, decision.action === 'patch' ? decision.patch : [])),
        'application/json',
      );
    } catch (error) {
      status = error instanceof HttpError ? error.status : 500;
      const message = errorText(error);
      if (status === 500)
        this.options.logger.error({ err: error, url: truncate(url) }, 'admission request failed');
      else
        this.options.logger.info(
          { url: truncate(url), status, reason: truncate(message) },
          'rejected admission request',
        );
      if (url === '/mutate')
        this.report({ outcome: 'error', reason: status === 500 ? 'internal' : 'bad-request' }, request);
      sendError(res, status, message);
    } finally {
      this.options.observe?.(status, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /**
   * Decides; when claims of the pod are not in the caches yet (a StatefulSet creates them a moment before
   * the pod), waits for the informers to catch up, then decides on what is known.
   */
  private async decide(request: AdmissionRequest): Promise<Exclude<MutateDecision, { action: 'wait' }>> {
    const deadline = Date.now() + (this.options.claimWaitMs ?? 2000);
    for (;;) {
      const final = Date.now() >= deadline;
      const decision = this.options.decide(request, final);
      if (decision.action !== 'wait') return decision;
      if (final) throw new Error('the decision asked to wait after the final attempt');
      await sleep(50);
    }
  }

  private report(outcome: AdmissionOutcome, request: AdmissionRequest | undefined): void {
    try {
      this.options.onOutcome?.(outcome, request);
    } catch (error) {
      this.options.logger.error({ err: error }, 'admission outcome hook failed');
    }
  }
}
