import { statusError } from '../errors.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, Json> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** RFC 7386 JSON merge patch: objects merge key by key, `null` deletes, anything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) Reflect.deleteProperty(result, key);
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

interface Operation {
  readonly op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  readonly path: string;
  readonly from?: string;
  readonly value?: unknown;
}

function invalid(message: string): Error {
  return statusError(422, 'Invalid', `json patch: ${message}`);
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw invalid(`path "${path.slice(0, 100)}" does not start with /`);
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(document: unknown, path: string): { parent: unknown; key: string } {
  const parts = pointer(path);
  const key = parts.pop();
  if (key === undefined) throw invalid('the whole document cannot be the target');
  let parent: unknown = document;
  for (const part of parts) {
    if (Array.isArray(parent)) parent = parent[Number(part)];
    else if (isObject(parent)) parent = parent[part];
    else parent = undefined;
    if (parent === undefined) throw invalid(`path "${path.slice(0, 100)}" does not exist`);
  }
  return { parent, key };
}

function read(document: unknown, path: string): unknown {
  const { parent, key } = parentOf(document, path);
  const value: unknown = Array.isArray(parent)
    ? (parent as unknown[])[Number(key)]
    : isObject(parent)
      ? parent[key]
      : undefined;
  if (value === undefined) throw invalid(`path "${path.slice(0, 100)}" does not exist`);
  return value;
}

function arrayIndex(parent: unknown[], key: string, forAdd: boolean): number {
  if (forAdd && key === '-') return parent.length;
  const index = Number(key);
  const limit = forAdd ? parent.length : parent.length - 1;
  if (!/^\d+$/.test(key) || index > limit) throw invalid(`array index "${key}" out of range`);
  return index;
}

function add(document: unknown, path: string, value: unknown): void {
  const { parent, key } = parentOf(document, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true), 0, structuredClone(value));
  else if (isObject(parent)) parent[key] = structuredClone(value) as Json;
  else throw invalid(`cannot add at "${path.slice(0, 100)}"`);
}

function remove(document: unknown, path: string): unknown {
  const value = read(document, path);
  const { parent, key } = parentOf(document, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, false), 1);
  else if (isObject(parent)) Reflect.deleteProperty(parent, key);
  return value;
}

/** RFC 6902 JSON patch, all six operations; any failing operation fails the whole patch (422). */
export function applyJsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw invalid('the patch must be an array of operations');
  const document = { root: structuredClone(target) };
  const at = (path: string): string => `/root${path}`;
  for (const operation of patch as Operation[]) {
    switch (operation.op) {
      case 'add':
        add(document, at(operation.path), operation.value);
        break;
      case 'remove':
        remove(document, at(operation.path));
        break;
      case 'replace':
        remove(document, at(operation.path));
        add(document, at(operation.path), operation.value);
        break;
      case 'move':
        add(document, at(operation.path), remove(document, at(operation.from ?? '')));
        break;
      case 'copy':
        add(document, at(operation.path), read(document, at(operation.from ?? '')));
        break;
      case 'test':
        if (JSON.stringify(read(document, at(operation.path))) !== JSON.stringify(operation.value)) {
          throw invalid(`test failed at "${operation.path.slice(0, 100)}"`);
        }
        break;
      default:
        throw invalid(`unknown operation "${String((operation as { op: unknown }).op).slice(0, 20)}"`);
    }
  }
  return document.root;
}
