// The storage simulator's admin API (a test and demo tool): plain JSON over HTTP on loopback, for
// changing the simulated cluster while the driver under test talks gRPC to it. docs/simulator.md has
// examples.
//
//   GET    /state                    → 200 {nodes: [...], volumes: [...]}
//   PUT    /nodes                    body [node, ...]        → 200 state; replaces every node (409 while
//                                                              a volume keeps a replica on a removed node)
//   PUT    /nodes/{id}               body node (id optional) → 201 node if new, 200 if replaced
//   PUT    /nodes/{id}/status        body {"status": S}      → 200 node
//   POST   /volumes                  body volume             → 201 volume (200 if the name exists with the
//                                                              same size: create is idempotent by name)
//   DELETE /volumes/{id}                                     → 204, or 404
//   PUT    /cluster                  body {"quorumLost"?: B, "unreachable"?: B} → 200 faults; quorumLost makes
//                                                              serving nodes report STATUS_NOT_IN_QUORUM,
//                                                              unreachable makes every SDK call UNAVAILABLE
//   POST   /reset                    body {} or {"nodes": [...]} → 200 state; no volumes, the initial
//                                                              nodes (or the ones given, which become initial)
//
// node:   {id, hostname?, mgmtIp?, dataIp?, status?, schedulerNodeName?, topology?: {k: v}, labels?: {k: v}}
// S:      Online | Offline | StorageDown | Degraded, or an SDK name such as STATUS_MAINTENANCE
// volume: {name, sizeBytes, id?, haLevel?, replicaNodes?: [node id or IP, ...], labels?: {k: v}}
//
// Errors answer {"error": "..."} with 400 (bad input), 404 (no such node, volume or route), 405 (wrong
// method), 409 (conflict) or 503 (no online nodes for a volume).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  parseClusterBody,
  parseCreateVolume,
  parseNodeSpec,
  parseNodeSpecs,
  parseResetBody,
  parseStatusBody,
} from './admin-input.js';
import type { SimulatorState } from './simulator-state.js';
import { SimulatorError, type SimulatorErrorKind } from './errors.js';
import { errorText } from '../lib/errors.js';

const maxBodyBytes = 1 << 20;

const httpStatusFor: Readonly<Record<SimulatorErrorKind, number>> = {
  InvalidArgument: 400,
  NotFound: 404,
  AlreadyExists: 409,
  FailedPrecondition: 409,
  ResourceExhausted: 503,
};

interface Reply {
  readonly status: number;
  readonly body?: unknown;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function createAdminServer(state: SimulatorState): Server {
  return createServer((req, res) => {
    handle(state, req)
      .then((reply) => {
        send(res, reply);
      })
      .catch((error: unknown) => {
        send(res, errorReply(error));
      });
  });
}

function errorReply(error: unknown): Reply {
  if (error instanceof SimulatorError)
    return { status: httpStatusFor[error.kind], body: { error: error.message } };
  if (error instanceof HttpError) return { status: error.status, body: { error: error.message } };
  return { status: 500, body: { error: errorText(error) } };
}

function send(res: ServerResponse, reply: Reply): void {
  if (reply.body === undefined) {
    res.writeHead(reply.status).end();
    return;
  }
  const text = `${JSON.stringify(reply.body, null, 2)}\n`;
  res.writeHead(reply.status, { 'content-type': 'application/json' }).end(text);
}

function stateBody(state: SimulatorState): unknown {
  return { nodes: state.nodes(), volumes: state.volumes(), cluster: state.cluster };
}

async function handle(state: SimulatorState, req: IncomingMessage): Promise<Reply> {
  const method = req.method ?? 'GET';
  const path = new URL(req.url ?? '/', 'http://simulator').pathname;
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const route = (allowed: string): void => {
    if (method !== allowed) throw new HttpError(405, `${method} ${path}: only ${allowed} is allowed here`);
  };

  if (parts.length === 1 && parts[0] === 'state') {
    route('GET');
    return { status: 200, body: stateBody(state) };
  }
  if (parts[0] === 'nodes') {
    const [, id, sub] = parts;
    if (id === undefined) {
      route('PUT');
      state.replaceNodes(parseNodeSpecs(await readJson(req), 'body'));
      return { status: 200, body: stateBody(state) };
    }
    if (sub === undefined && parts.length === 2) {
      route('PUT');
      const created = state.putNode(parseNodeSpec(await readJson(req), 'body', id));
      return { status: created ? 201 : 200, body: state.node(id) };
    }
    if (sub === 'status' && parts.length === 3) {
      route('PUT');
      return { status: 200, body: state.setNodeStatus(id, parseStatusBody(await readJson(req))) };
    }
  }
  if (parts[0] === 'volumes') {
    const [, id] = parts;
    if (id === undefined) {
      route('POST');
      const input = parseCreateVolume(await readJson(req));
      const existed = state.volumes().some((v) => v.name === input.name);
      return { status: existed ? 200 : 201, body: state.createVolume(input) };
    }
    if (parts.length === 2) {
      route('DELETE');
      if (!state.deleteVolume(id)) throw new SimulatorError('NotFound', `volume ${id} not found`);
      return { status: 204 };
    }
  }
  if (parts.length === 1 && parts[0] === 'cluster') {
    route('PUT');
    return { status: 200, body: state.setCluster(parseClusterBody(await readJson(req))) };
  }
  if (parts.length === 1 && parts[0] === 'reset') {
    route('POST');
    state.reset(parseResetBody(await readJson(req, true)));
    return { status: 200, body: stateBody(state) };
  }
  throw new HttpError(404, `no route ${method} ${path}; see the comment in src/simulator/admin-server.ts`);
}

/** The request body as JSON; an empty body is undefined when `optional`, else an error. */
async function readJson(req: IncomingMessage, optional = false): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) throw new HttpError(413, `request body over ${maxBodyBytes} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') {
    if (optional) return undefined;
    throw new HttpError(400, 'a JSON body is required');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(400, `the body is not JSON: ${errorText(error)}`);
  }
}
