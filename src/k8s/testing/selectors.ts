import { statusError } from '../errors.js';

/** One requirement of a label selector, as the API server parses `a=b,c!=d,e in (f,g),!h`. */
type Requirement =
  | { readonly key: string; readonly op: 'in' | 'notin'; readonly values: readonly string[] }
  | { readonly key: string; readonly op: 'exists' | 'notexists' };

export type Matcher = (object: unknown) => boolean;

const labelKey = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;

function badSelector(selector: string, why: string): Error {
  return statusError(400, 'BadRequest', `unable to parse requirement in "${selector.slice(0, 200)}": ${why}`);
}

/** Splits on commas that are not inside `( ... )`. */
function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function parseLabelSelector(selector: string): Requirement[] {
  return splitTopLevel(selector).map((part): Requirement => {
    const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part);
    if (set) {
      const [, key = '', op, list = ''] = set;
      const values = list
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      if (!labelKey.test(key)) throw badSelector(selector, `invalid label key "${key}"`);
      return { key, op: op === 'in' ? 'in' : 'notin', values };
    }
    const equality = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
    if (equality) {
      const [, key = '', op, value = ''] = equality;
      if (!labelKey.test(key)) throw badSelector(selector, `invalid label key "${key}"`);
      return { key, op: op === '!=' ? 'notin' : 'in', values: [value] };
    }
    const exists = /^(!?)([^=!\s()]+)$/.exec(part);
    if (exists) {
      const [, not, key = ''] = exists;
      if (!labelKey.test(key)) throw badSelector(selector, `invalid label key "${key}"`);
      return { key, op: not ? 'notexists' : 'exists' };
    }
    throw badSelector(selector, `cannot parse "${part.slice(0, 100)}"`);
  });
}

/** A label selector as the API server applies it; a malformed one is a 400 BadRequest. */
export function labelMatcher(selector: string | undefined): Matcher {
  if (!selector?.trim()) return () => true;
  const requirements = parseLabelSelector(selector);
  return (object) => {
    const labels = (object as { metadata?: { labels?: Record<string, string> } }).metadata?.labels ?? {};
    return requirements.every((r) => {
      const has = Object.hasOwn(labels, r.key);
      switch (r.op) {
        case 'exists':
          return has;
        case 'notexists':
          return !has;
        case 'in':
          return has && r.values.includes(labels[r.key] ?? '');
        case 'notin':
          return !has || !r.values.includes(labels[r.key] ?? '');
      }
    });
  };
}

/**
 * The fields each resource can be selected by (the API server refuses others with 400). Every resource
 * also takes `metadata.name` and `metadata.namespace`.
 */
const selectableFields: Record<string, readonly string[]> = {
  pods: [
    'spec.nodeName',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.restartPolicy',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
  events: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  nodes: ['spec.unschedulable'],
  secrets: ['type'],
  namespaces: ['status.phase'],
  persistentvolumeclaims: [],
  persistentvolumes: [],
};

function fieldValue(object: unknown, path: string): string {
  let value: unknown = object;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return '';
    value = (value as Record<string, unknown>)[part];
  }
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A field selector (`a=b`, `a==b`, `a!=b`, comma-separated) over the fields `resource` supports. */
export function fieldMatcher(resource: string, selector: string | undefined): Matcher {
  if (!selector?.trim()) return () => true;
  const allowed = ['metadata.name', 'metadata.namespace', ...(selectableFields[resource] ?? [])];
  const requirements = selector
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((part) => {
      const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(part);
      if (!m) throw statusError(400, 'BadRequest', `invalid field selector "${part.slice(0, 100)}"`);
      const [, field = '', op, value = ''] = m;
      if (!allowed.includes(field)) {
        throw statusError(400, 'BadRequest', `field label not supported: ${field.slice(0, 100)}`);
      }
      return { field, negate: op === '!=', value };
    });
  return (object) => requirements.every((r) => (fieldValue(object, r.field) === r.value) !== r.negate);
}
