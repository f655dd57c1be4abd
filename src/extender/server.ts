import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { TLSSocket } from 'node:tls';
import type { Node, Pod } from '../wire/k8s-types.js';
import type { Logger } from '../lib/log.js';
import type { ClusterState } from './cluster-state.js';
import type { DecisionOptions } from './decision-context.js';
import { filterNodes, type FilterDecision } from './filter.js';
import { prioritizeNodes, type PrioritizeDecision } from './prioritize.js';
import type { ExtenderFilterResult } from './wire.js';
import { readExtenderArgs } from './read-args.js';
import { schedulingIndexes, type CandidateFacts, type NodeFacts } from './indexes.js';
import {
  applyServerLimits,
  close,
  HttpError,
  listen,
  readBody,
  send,
  sendError,
  serverCreateOptions,
  truncate,
  type ServerLimits,
} from '../lib/http.js';
import { errorText } from '../lib/errors.js';

export type Verb = 'filter' | 'prioritize';

/** What the server reports about each answered request (for events, metrics and `explain`). */
export type DecisionRecord =
  | { readonly verb: 'filter'; readonly pod: Pod; readonly decision: FilterDecision }
  | { readonly verb: 'prioritize'; readonly pod: Pod; readonly decision: PrioritizeDecision };

/**
 * The extender's request body limit when only node names come over the wire. A 5,000-node names-only
 * request with 63-character node names and a 20 KB pod is about 370 KB (measured in server.test.ts); 1 MiB
 * leaves room for longer names and larger pods.
 */
export const defaultMaxNamesBodyBytes = 1024 * 1024;
/** With full Node objects (`nodeCacheCapable: false`): 5,000 kubelet-reported nodes are ~12.5 MB. */
export const defaultMaxObjectsBodyBytes = 16 * 1024 * 1024;
/** Twice the 5,000 nodes Kubernetes supports in one cluster. */
export const defaultMaxNodes = 10_000;

/** The extender's transport security: its serving certificate and the CA its one client (the scheduler) has. */
export interface ExtenderTls {
  readonly certPem: string;
  readonly keyPem: string;
  /** Client certificates must be signed by one of these CAs... */
  readonly clientCaPem: string;
  /** ...and name this common name (the scheduler's certificate). */
  readonly clientName: string;
}

export interface ExtenderServerOptions {
  /** The current view of the caches; called once per request. */
  readonly state: () => ClusterState;
  readonly decisionOptions: DecisionOptions;
  readonly logger: Logger;
  /**
   * Serve HTTPS and answer filter/prioritize only for a client presenting a certificate issued to
   * `clientName` by `clientCaPem` (mutual TLS). Without it: plain HTTP, anyone who reaches the port may ask.
   */
  readonly tls?: ExtenderTls;
  /** Volumes a decision found missing from the driver cache. */
  readonly requestVolumes?: (ids: readonly string[]) => void;
  readonly onDecision?: (record: DecisionRecord) => void;
  /** Request outcome and duration, for metrics. */
  readonly observe?: (verb: Verb | 'other', status: number, seconds: number) => void;
  /** `GET /readyz`: undefined when ready, else why not (503 with the reason). */
  readonly notReady?: () => string | undefined;
  /**
   * Accept full Node objects (`nodeCacheCapable: false`, Stork's older scheduler configurations). Off:
   * such requests get a 400 and the body limit is sized for node names.
   */
  readonly acceptNodeObjects?: boolean;
  /** The largest body accepted (default {@link defaultMaxNamesBodyBytes} or, with node objects, {@link defaultMaxObjectsBodyBytes}). */
  readonly maxBodyBytes?: number;
  /** The most nodes one request may offer (default {@link defaultMaxNodes}). */
  readonly maxNodes?: number;
  readonly limits?: Partial<ServerLimits>;
}

/**
 * The scheduler extender's front door: validates the body, runs the pure decision over the caches and
 * writes kube-scheduler's wire format. It never calls the API server or the storage system, and it keeps
 * nothing a request carried once the answer is sent. A malformed body gets a 400 with a short reason;
 * nothing a client sends can crash it. `/healthz` and `/readyz` answer anyone (kubelet probes present no
 * client certificate).
 */
export class ExtenderServer {
  private readonly server: ReturnType<typeof createHttpServer> | ReturnType<typeof createHttpsServer>;
  private readonly maxBodyBytes: number;
  private readonly maxNodes: number;
  private clientName: string | undefined;

  constructor(private readonly options: ExtenderServerOptions) {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      void this.handle(req, res);
    };
    const { tls } = options;
    this.clientName = tls?.clientName;
    this.server = tls
      ? createHttpsServer(
          { ...serverCreateOptions, ...secureContextOptions(tls), handshakeTimeout: 5_000 },
          handler,
        )
      : createHttpServer(serverCreateOptions, handler);
    applyServerLimits(this.server, options.limits);
    this.maxBodyBytes =
      options.maxBodyBytes ??
      (options.acceptNodeObjects ? defaultMaxObjectsBodyBytes : defaultMaxNamesBodyBytes);
    this.maxNodes = options.maxNodes ?? defaultMaxNodes;
  }

  /** Swaps the serving certificate and the trusted client CAs (rotation): new connections get them. */
  setTls(tls: ExtenderTls): void {
    if (!('setSecureContext' in this.server)) throw new Error('the extender serves plain HTTP');
    this.server.setSecureContext(secureContextOptions(tls));
    this.clientName = tls.clientName;
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
      if (path === '/healthz' && req.method === 'GET') {
        send(res, 200, 'ok', 'text/plain');
        return;
      }
      if (path === '/readyz' && req.method === 'GET') {
        const why = this.options.notReady?.();
        send(res, why ? 503 : 200, why ?? 'ok', 'text/plain');
        return;
      }
      if (!verb) throw new HttpError(404, `Unsupported request: ${req.method ?? ''} ${path}`);
      this.authenticate(req);
      if (req.method !== 'POST') throw new HttpError(405, `${verb} needs POST, got ${req.method ?? ''}`);
      const args = readExtenderArgs(await readBody(req, this.maxBodyBytes));
      const offered = args.nodes?.length ?? args.nodeNames?.length ?? 0;
      if (offered > this.maxNodes)
        throw new HttpError(
          400,
          `${String(offered)} nodes offered; at most ${String(this.maxNodes)} accepted`,
        );
      if (args.nodes && !this.options.acceptNodeObjects) {
        throw new HttpError(
          400,
          'full Node objects are not accepted: set nodeCacheCapable: true in the scheduler configuration ' +
            '(or run stork with --extender-accept-node-objects)',
        );
      }
      const state = this.options.state();
      const candidates = args.nodes
        ? resolveObjects(args.nodes, state)
        : resolveNames(args.nodeNames ?? [], state);
      if (verb === 'filter') {
        const decision = filterNodes(
          args.pod,
          candidates.nodes,
          state,
          this.options.decisionOptions,
          candidates.known,
        );
        this.after({ verb, pod: args.pod, decision }, decision.requestVolumes);
        sendJson(res, filterResult(decision, candidates));
      } else {
        const decision = prioritizeNodes(
          args.pod,
          candidates.nodes,
          state,
          this.options.decisionOptions,
          candidates.known,
        );
        this.after({ verb, pod: args.pod, decision }, decision.requestVolumes);
        send(res, 200, hostPriorityList(decision), 'application/json');
      }
    } catch (error) {
      status = error instanceof HttpError ? error.status : 500;
      const message = errorText(error);
      if (status === 500)
        this.options.logger.error({ err: error, path: truncate(path) }, 'extender request failed');
      else
        this.options.logger.debug(
          { path: truncate(path), status, reason: truncate(message) },
          'rejected extender request',
        );
      sendError(res, status, message);
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.options.observe?.(verb ?? 'other', status, seconds);
    }
  }

  /** With mutual TLS, only the scheduler's certificate may ask for decisions. */
  private authenticate(req: IncomingMessage): void {
    if (!this.options.tls) return;
    const socket = req.socket;
    if (!(socket instanceof TLSSocket) || !socket.authorized)
      throw new HttpError(401, 'a client certificate issued by stork is required');
    const subject = socket.getPeerCertificate().subject as Record<string, string | string[]> | undefined;
    const cn = subject?.CN;
    if (cn !== this.clientName) throw new HttpError(403, 'this client certificate may not ask the extender');
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

function secureContextOptions(tls: ExtenderTls) {
  return {
    cert: tls.certPem,
    key: tls.keyPem,
    ca: tls.clientCaPem,
    // Asked for, verified, but not required at the handshake: kubelet probes /healthz without one.
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2' as const,
  };
}

export interface Candidates {
  /** The nodes decided on: stork's cached objects, never those the request carried. */
  readonly nodes: readonly Node[];
  /** Their facts, found with them by name. */
  readonly known: CandidateFacts;
  /** In object mode, what the scheduler sent for each cached node (it gets its own objects back). */
  readonly sent?: ReadonlyMap<string, Node>;
  /** Names sent by the scheduler that the node cache does not have (yet). */
  readonly unknown: readonly string[];
}

export function resolveNames(names: readonly string[], state: ClusterState): Candidates {
  const indexes = schedulingIndexes(state);
  const nodes: Node[] = [];
  const facts: NodeFacts[] = [];
  const unknown: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const entry = indexes.entry(name, state);
    if (entry) {
      nodes.push(entry.node);
      facts.push(entry.facts);
    } else unknown.push(name);
  }
  return { nodes, known: { indexes, facts }, unknown };
}

/**
 * Full Node objects are looked up by name and decided on from the cache, so that nothing a request
 * carried is remembered by the indexes (which memoise per node object) after the answer.
 */
function resolveObjects(sent: readonly Node[], state: ClusterState): Candidates {
  const byName = new Map<string, Node>();
  for (const node of sent) byName.set(node.metadata?.name ?? '', node);
  const resolved = resolveNames([...byName.keys()], state);
  return { ...resolved, sent: byName };
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

function filterResult(decision: FilterDecision, candidates: Candidates): ExtenderFilterResult {
  // The decision's own lists go out as they are (it is not kept or changed after the answer); a copy
  // only when names unknown to the cache must be added.
  let failed = decision.failed;
  if (candidates.unknown.length > 0) {
    const all: Record<string, string> = { ...decision.failed };
    for (const name of candidates.unknown) all[name] = 'node not yet in the extender’s node cache';
    failed = all;
  }
  const { sent } = candidates;
  return {
    // In object mode the scheduler uses the returned Node objects as they are, so its own go back.
    Nodes: sent
      ? {
          metadata: {},
          items: decision.passed.map((name) => sent.get(name)).filter((n): n is Node => n !== undefined),
        }
      : null,
    NodeNames: sent ? null : decision.passed,
    FailedNodes: failed,
    FailedAndUnresolvableNodes: failed,
    Error: decision.error ?? '',
  };
}

function sendJson(res: ServerResponse, value: unknown): void {
  send(res, 200, JSON.stringify(value), 'application/json');
}
