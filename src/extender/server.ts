import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Node, Pod } from '../drivers/k8s-types.js';
import type { Logger } from '../lib/log.js';
import type { ClusterState } from './cluster-state.js';
import type { DecisionOptions } from './decision-context.js';
import { filterNodes, type FilterDecision } from './filter.js';
import { prioritizeNodes, type PrioritizeDecision } from './prioritize.js';
import { parseExtenderArgs, WireError, type ExtenderFilterResult } from './wire.js';
import { close, HttpError, listen, readBody, send } from '../lib/http.js';

export type Verb = 'filter' | 'prioritize';

/** What the server reports about each answered request (for events, metrics and `explain`). */
export type DecisionRecord =
  | { readonly verb: 'filter'; readonly pod: Pod; readonly decision: FilterDecision }
  | { readonly verb: 'prioritize'; readonly pod: Pod; readonly decision: PrioritizeDecision };

export interface ExtenderServerOptions {
  /** The current view of the caches; called once per request. */
  readonly state: () => ClusterState;
  readonly decisionOptions: DecisionOptions;
  readonly logger: Logger;
  /** Volumes a decision found missing from the driver cache. */
  readonly requestVolumes?: (ids: readonly string[]) => void;
  readonly onDecision?: (record: DecisionRecord) => void;
  /** Request outcome and duration, for metrics. */
  readonly observe?: (verb: Verb | 'other', status: number, seconds: number) => void;
  /** `GET /readyz`: undefined when ready, else why not (503 with the reason). */
  readonly notReady?: () => string | undefined;
  /** Serves `GET /metrics` (Prometheus text format) on the extender's port, as Stork does. */
  readonly metrics?: () => Promise<{ contentType: string; body: string }>;
  /**
   * `GET /explain?namespace=N&pod=P`: what the extender would decide for that pod now (404 when the pod
   * is unknown). Read-only, from the caches.
   */
  readonly explain?: (namespace: string, pod: string) => unknown;
  /** `GET /hyperconvergence`: how well running pods with driver volumes are placed. */
  readonly hyperconvergence?: () => unknown;
  /** The largest body accepted (default 256 MiB: 5,000 full Node objects with many images fit). */
  readonly maxBodyBytes?: number;
}

/**
 * The scheduler extender's HTTP front door: validates the body, runs the pure decision over the caches and
 * writes kube-scheduler's wire format. It never calls the API server or the storage system. A malformed
 * body gets a 400 with the reason; nothing a client sends can crash it.
 */
export class ExtenderServer {
  private readonly server: Server;

  constructor(private readonly options: ExtenderServerOptions) {
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    // Go's HTTP client keeps idle connections for 90 s; closing ours sooner races with its reuse.
    this.server.keepAliveTimeout = 120_000;
    this.server.headersTimeout = 125_000;
  }

  listen(port: number, host = '0.0.0.0'): Promise<number> {
    return listen(this.server, port, host);
  }

  /** Stops accepting connections, lets in-flight requests finish (at most `graceMs`), then closes the rest. */
  close(graceMs?: number): Promise<void> {
    return close(this.server, graceMs);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const url = req.url ?? '/';
    // Like Stork, route by the verb anywhere in the path, so any urlPrefix works.
    const path = url.split('?', 1)[0] ?? url;
    const verb: Verb | undefined = path.includes('filter')
      ? 'filter'
      : path.includes('prioritize')
        ? 'prioritize'
        : undefined;
    let status = 200;
    try {
      if (url === '/healthz' && req.method === 'GET') {
        send(res, 200, 'ok', 'text/plain');
        return;
      }
      if (url === '/readyz' && req.method === 'GET') {
        const why = this.options.notReady?.();
        send(res, why ? 503 : 200, why ?? 'ok', 'text/plain');
        return;
      }
      if (req.method === 'GET' && this.readOnly(url, res)) return;
      if (url === '/metrics' && req.method === 'GET' && this.options.metrics) {
        const metrics = await this.options.metrics();
        send(res, 200, metrics.body, metrics.contentType);
        return;
      }
      if (!verb) throw new HttpError(404, `Unsupported request: ${req.method ?? ''} ${url}`);
      if (req.method !== 'POST') throw new HttpError(405, `${verb} needs POST, got ${req.method ?? ''}`);
      const text = await readBody(req, this.options.maxBodyBytes ?? 256 * 1024 * 1024);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (error) {
        throw new HttpError(400, `Decode error: ${(error as Error).message}`);
      }
      let args;
      try {
        args = parseExtenderArgs(body);
      } catch (error) {
        if (error instanceof WireError) throw new HttpError(400, `Decode error: ${error.message}`);
        throw error;
      }
      const state = this.options.state();
      const candidates: Candidates = args.nodes
        ? { nodes: args.nodes, unknown: [] }
        : resolveNames(args.nodeNames ?? [], state);
      if (verb === 'filter') {
        const decision = filterNodes(args.pod, candidates.nodes, state, this.options.decisionOptions);
        this.after({ verb, pod: args.pod, decision }, decision.requestVolumes);
        sendJson(res, filterResult(decision, args.nodes !== undefined, candidates));
      } else {
        const decision = prioritizeNodes(args.pod, candidates.nodes, state, this.options.decisionOptions);
        this.after({ verb, pod: args.pod, decision }, decision.requestVolumes);
        send(res, 200, hostPriorityList(decision), 'application/json');
      }
    } catch (error) {
      status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      if (status === 500) this.options.logger.error({ err: error, url }, 'extender request failed');
      else this.options.logger.debug({ url, status, reason: message }, 'rejected extender request');
      // The rest of an oversized body is never read, so this connection cannot be reused.
      if (status === 413) res.setHeader('Connection', 'close');
      if (!res.headersSent) send(res, status, message, 'text/plain');
      else res.destroy();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.options.observe?.(verb ?? 'other', status, seconds);
    }
  }

  /** The read-only documents for storkctl; true when the request was one of them (and answered). */
  private readOnly(url: string, res: ServerResponse): boolean {
    const parsed = new URL(url, 'http://extender');
    if (parsed.pathname === '/explain' && this.options.explain) {
      const namespace = parsed.searchParams.get('namespace') ?? 'default';
      const pod = parsed.searchParams.get('pod');
      if (!pod) throw new HttpError(400, 'explain needs ?pod=NAME (and ?namespace=NS)');
      const document = this.options.explain(namespace, pod);
      if (document === undefined) throw new HttpError(404, `pod ${namespace}/${pod} is not in stork's cache`);
      sendJson(res, document);
      return true;
    }
    if (parsed.pathname === '/hyperconvergence' && this.options.hyperconvergence) {
      sendJson(res, this.options.hyperconvergence());
      return true;
    }
    return false;
  }

  private after(record: DecisionRecord, wanted: readonly string[]): void {
    if (wanted.length > 0) this.options.requestVolumes?.(wanted);
    try {
      this.options.onDecision?.(record);
    } catch (error) {
      this.options.logger.error({ err: error }, 'decision hook failed');
    }
  }
}

interface Candidates {
  readonly nodes: readonly Node[];
  /** Names sent by the scheduler that the node cache does not have (yet). */
  readonly unknown: readonly string[];
}

function resolveNames(names: readonly string[], state: ClusterState): Candidates {
  const nodes: Node[] = [];
  const unknown: string[] = [];
  for (const name of names) {
    const node = state.getNode(name);
    if (node) nodes.push(node);
    else unknown.push(name);
  }
  return { nodes, unknown };
}

/**
 * HostPriorityList: `[{Host, Score}]`. kube-scheduler adds each listed host's score and treats a host
 * that is not listed as 0, so zero scores (most nodes of a large cluster: those far from every replica)
 * are left out; at 5,000 nodes that shrinks the answer from ~150 KB to a few entries.
 */
function hostPriorityList(decision: PrioritizeDecision): string {
  const entries: { Host: string; Score: number }[] = [];
  for (const s of decision.scores) if (s.score !== 0) entries.push({ Host: s.node, Score: s.score });
  return JSON.stringify(entries);
}

function filterResult(
  decision: FilterDecision,
  objects: boolean,
  candidates: Candidates,
): ExtenderFilterResult {
  const failed: Record<string, string> = { ...decision.failed };
  for (const name of candidates.unknown) failed[name] = 'node not yet in the extender’s node cache';
  const passed = new Set(decision.passed);
  return {
    // In object mode the scheduler uses the returned Node objects as they are, so they go back unchanged.
    Nodes: objects
      ? { metadata: {}, items: candidates.nodes.filter((n) => passed.has(n.metadata?.name ?? '')) }
      : null,
    NodeNames: objects ? null : [...decision.passed],
    FailedNodes: failed,
    FailedAndUnresolvableNodes: failed,
    Error: decision.error ?? '',
  };
}

function sendJson(res: ServerResponse, value: unknown): void {
  send(res, 200, JSON.stringify(value), 'application/json');
}
