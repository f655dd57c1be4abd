// The storage simulator's share of OpenStorage's REST volume API (Portworx's management port): the group
// snapshot, the one call stork needs that the SDK lacks. It answers as osd's server does: the response
// JSON of src/drivers/portworx/osd-rest-types.ts on success, a plain-text reason with 400 when the
// request cannot be served, and the bearer token checked as on the SDK when one is configured.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { HttpError, readBody, send, truncate } from '../lib/http.js';
import { errorText } from '../lib/errors.js';
import {
  snapshotGroupPath,
  type GroupSnapCreateRequest,
  type GroupSnapCreateResponse,
} from '../drivers/portworx/osd-rest-types.js';
import { SimulatorError } from './errors.js';
import type { SimulatorState } from './simulator-state.js';

const maxBodyBytes = 1 << 20;
const maxVolumes = 4096;

export function createRestServer(state: SimulatorState, token?: string): Server {
  return createServer((req, res) => {
    handle(state, req, token)
      .then((body) => send(res, 200, `${JSON.stringify(body)}\n`, 'application/json'))
      .catch((error: unknown) => sendFailure(res, error));
  });
}

function sendFailure(res: ServerResponse, error: unknown): void {
  if (error instanceof HttpError) send(res, error.status, `${truncate(error.message)}\n`, 'text/plain');
  else if (error instanceof SimulatorError) send(res, 400, `${truncate(error.message)}\n`, 'text/plain');
  else send(res, 500, `internal error: ${truncate(errorText(error))}\n`, 'text/plain');
}

async function handle(
  state: SimulatorState,
  req: IncomingMessage,
  token: string | undefined,
): Promise<GroupSnapCreateResponse> {
  const path = new URL(req.url ?? '/', 'http://simulator').pathname;
  if (path !== snapshotGroupPath) throw new HttpError(404, `${path} is not served here`);
  if (req.method !== 'POST') throw new HttpError(405, `${req.method ?? ''} ${path}: only POST`);
  if (token !== undefined && req.headers.authorization !== `bearer ${token}`) {
    throw new HttpError(401, 'Access denied: missing or invalid authorization bearer token');
  }
  if (state.cluster.unreachable) throw new HttpError(503, 'storage API unreachable (simulated)');
  const request = parseRequest(await readBody(req, maxBodyBytes));
  if (request.id) throw new SimulatorError('InvalidArgument', 'volume groups by id are not simulated');
  const volumeIds = request.volume_ids ?? [];
  const snapshots = state.snapshotGroup(volumeIds, request.Labels ?? {});
  return {
    snapshots: Object.fromEntries(
      snapshots.map((snapshot, i) => [
        volumeIds[i] ?? '',
        { volume_create_response: { id: snapshot.id, volume_response: {} } },
      ]),
    ),
  };
}

function parseRequest(text: string): GroupSnapCreateRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'the body is not a JSON object');
  }
  const { id, Labels, volume_ids: volumeIds } = body as Record<string, unknown>;
  if (id !== undefined && typeof id !== 'string') throw new HttpError(400, 'id must be a string');
  if (
    volumeIds !== undefined &&
    (!Array.isArray(volumeIds) ||
      volumeIds.length > maxVolumes ||
      volumeIds.some((v) => typeof v !== 'string'))
  ) {
    throw new HttpError(400, `volume_ids must be at most ${maxVolumes} strings`);
  }
  if (
    Labels !== undefined &&
    (typeof Labels !== 'object' ||
      Labels === null ||
      Array.isArray(Labels) ||
      Object.values(Labels).some((v) => typeof v !== 'string'))
  ) {
    throw new HttpError(400, 'Labels must map strings to strings');
  }
  return body;
}
