// Validation of the storage simulator's admin API request bodies (JSON from tests, scripts and people):
// every rejection names the field and the value, so a typo in a curl command is obvious.
import type { CreateVolumeInput, SimClusterFaults, SimNodeSpec } from './simulator-state.js';
import { SimulatorError } from './errors.js';
import { parseNodeStatus, type SimNodeStatusInput } from './node-status.js';
import { errorText } from '../lib/errors.js';

type Json = Record<string, unknown>;

function invalid(message: string): SimulatorError {
  return new SimulatorError('InvalidArgument', message);
}

function object(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${where} must be a JSON object, got ${JSON.stringify(value)}`);
  }
  return value as Json;
}

function only(body: Json, allowed: readonly string[], where: string): void {
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length > 0)
    throw invalid(`${where}: unknown field(s) ${unknown.join(', ')}; allowed: ${allowed.join(', ')}`);
}

function optionalString(body: Json, key: string, where: string): string | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw invalid(`${where}.${key} must be a string, got ${JSON.stringify(value)}`);
  return value;
}

function optionalStringMap(body: Json, key: string, where: string): Record<string, string> | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  const map = object(value, `${where}.${key}`);
  for (const [k, v] of Object.entries(map)) {
    if (typeof v !== 'string')
      throw invalid(`${where}.${key}["${k}"] must be a string, got ${JSON.stringify(v)}`);
  }
  return map as Record<string, string>;
}

function status(value: string, where: string): SimNodeStatusInput {
  try {
    parseNodeStatus(value);
  } catch (error) {
    throw invalid(`${where}: ${errorText(error)}`);
  }
  return value as SimNodeStatusInput;
}

const nodeFields = [
  'id',
  'hostname',
  'mgmtIp',
  'dataIp',
  'status',
  'schedulerNodeName',
  'topology',
  'labels',
];

/** A node; `id` may come from the URL instead of the body. */
export function parseNodeSpec(value: unknown, where: string, id?: string): SimNodeSpec {
  const body = object(value, where);
  only(body, nodeFields, where);
  const bodyId = optionalString(body, 'id', where);
  if (id !== undefined && bodyId !== undefined && bodyId !== id) {
    throw invalid(`${where}.id "${bodyId}" differs from the node id in the URL, "${id}"`);
  }
  const nodeId = id ?? bodyId;
  if (!nodeId) throw invalid(`${where}.id is required`);
  const spec: Record<string, unknown> = { id: nodeId };
  for (const key of ['hostname', 'mgmtIp', 'dataIp', 'schedulerNodeName'] as const) {
    const v = optionalString(body, key, where);
    if (v !== undefined) spec[key] = v;
  }
  const s = optionalString(body, 'status', where);
  if (s !== undefined) spec['status'] = status(s, `${where}.status`);
  for (const key of ['topology', 'labels'] as const) {
    const v = optionalStringMap(body, key, where);
    if (v !== undefined) spec[key] = v;
  }
  return spec as unknown as SimNodeSpec;
}

export function parseNodeSpecs(value: unknown, where: string): SimNodeSpec[] {
  if (!Array.isArray(value))
    throw invalid(`${where} must be a JSON array of nodes, got ${JSON.stringify(value)}`);
  return value.map((v, i) => parseNodeSpec(v, `${where}[${i}]`));
}

export function parseStatusBody(value: unknown): SimNodeStatusInput {
  const body = object(value, 'body');
  only(body, ['status'], 'body');
  const s = optionalString(body, 'status', 'body');
  if (s === undefined) throw invalid('body.status is required');
  return status(s, 'body.status');
}

export function parseResetBody(value: unknown): SimNodeSpec[] | undefined {
  if (value === undefined) return undefined;
  const body = object(value, 'body');
  only(body, ['nodes'], 'body');
  return body['nodes'] === undefined ? undefined : parseNodeSpecs(body['nodes'], 'body.nodes');
}

export function parseCreateVolume(value: unknown): CreateVolumeInput {
  const where = 'body';
  const body = object(value, where);
  only(body, ['id', 'name', 'sizeBytes', 'haLevel', 'replicaNodes', 'labels'], where);
  const name = optionalString(body, 'name', where);
  if (!name) throw invalid(`${where}.name is required`);
  const sizeBytes = body['sizeBytes'];
  if (typeof sizeBytes !== 'number')
    throw invalid(`${where}.sizeBytes must be a number, got ${JSON.stringify(sizeBytes)}`);
  const haLevel = body['haLevel'];
  if (haLevel !== undefined && typeof haLevel !== 'number') {
    throw invalid(`${where}.haLevel must be a number, got ${JSON.stringify(haLevel)}`);
  }
  const replicaNodes = body['replicaNodes'];
  if (
    replicaNodes !== undefined &&
    (!Array.isArray(replicaNodes) || !replicaNodes.every((n) => typeof n === 'string'))
  ) {
    throw invalid(`${where}.replicaNodes must be an array of node ids, got ${JSON.stringify(replicaNodes)}`);
  }
  const id = optionalString(body, 'id', where);
  const labels = optionalStringMap(body, 'labels', where);
  return {
    name,
    sizeBytes,
    ...(id !== undefined ? { id } : {}),
    ...(haLevel !== undefined ? { haLevel } : {}),
    ...(replicaNodes !== undefined ? { replicaNodes } : {}),
    ...(labels !== undefined ? { labels } : {}),
  };
}

/** `PUT /cluster`: `{quorumLost?: boolean, unreachable?: boolean}`. */
export function parseClusterBody(value: unknown): Partial<SimClusterFaults> {
  const body = object(value, 'body');
  only(body, ['quorumLost', 'unreachable'], 'body');
  const out: { quorumLost?: boolean; unreachable?: boolean } = {};
  for (const key of ['quorumLost', 'unreachable'] as const) {
    const v = body[key];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw invalid(`body.${key} must be true or false, got ${JSON.stringify(v)}`);
    out[key] = v;
  }
  return out;
}
