import type { Node, Pod } from '../wire/k8s-types.js';
import { maxNodeNameLength } from './names-body.js';

/**
 * kube-scheduler's extender wire format. Its Go types carry no JSON tags, so the keys are Go field names
 * (`Pod`, `Nodes`, `NodeNames`, `Host`, `Score`...) and Go decodes them case-insensitively; we read any
 * case and answer with Go's capitalisation. The Pod and the NodeList inside are ordinary Kubernetes JSON.
 */
export interface ExtenderArgs {
  readonly pod: Pod;
  /** Full Node objects (`nodeCacheCapable: false`). */
  readonly nodes?: readonly Node[];
  /** Node names only (`nodeCacheCapable: true`). */
  readonly nodeNames?: readonly string[];
}

export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a key the way Go's encoding/json does: exact match first, then case-insensitive. */
function field(object: Record<string, unknown>, name: string): unknown {
  if (name in object) return object[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(object)) if (key.toLowerCase() === lower) return object[key];
  return undefined;
}

/**
 * Validates an ExtenderArgs body; a malformed one throws {@link WireError} naming what is wrong.
 * `checkedNames`: the NodeNames list already taken out of the body and checked (see splitNodeNames).
 */
export function parseExtenderArgs(body: unknown, checkedNames?: string[]): ExtenderArgs {
  if (!isObject(body)) throw new WireError('the body must be a JSON object (ExtenderArgs)');
  const pod = field(body, 'Pod');
  if (!isObject(pod)) throw new WireError('Pod is missing or not an object');
  const metadata = pod.metadata;
  if (!isObject(metadata) || typeof metadata.name !== 'string') {
    throw new WireError('Pod.metadata.name is missing');
  }
  if (checkedNames) return { pod: pod, nodeNames: checkedNames };
  const nodes = field(body, 'Nodes');
  const nodeNames = field(body, 'NodeNames');
  if (nodeNames !== undefined && nodeNames !== null) {
    if (!Array.isArray(nodeNames)) throw new WireError('NodeNames must be a list of strings');
    // One pass (thousands of names per request). Names go back in the answer (FailedNodes): only what can
    // be a node's name, never unbounded text.
    for (let i = 0; i < nodeNames.length; i++) {
      const name: unknown = nodeNames[i];
      if (typeof name !== 'string') throw new WireError('NodeNames must be a list of strings');
      if (name.length > maxNodeNameLength)
        throw new WireError(`NodeNames[${i}] is longer than a node name (${maxNodeNameLength})`);
    }
    return { pod: pod, nodeNames: nodeNames as string[] };
  }
  if (nodes !== undefined && nodes !== null) {
    if (!isObject(nodes)) throw new WireError('Nodes must be a NodeList object');
    const items = field(nodes, 'items');
    if (items === null || items === undefined) return { pod: pod, nodes: [] };
    if (!Array.isArray(items)) throw new WireError('Nodes.items must be a list');
    items.forEach((item, i) => {
      if (!isObject(item) || !isObject(item.metadata) || typeof item.metadata.name !== 'string') {
        throw new WireError(`Nodes.items[${i}] has no metadata.name`);
      }
      if (item.metadata.name.length > maxNodeNameLength)
        throw new WireError(
          `Nodes.items[${i}].metadata.name is longer than a node name (${maxNodeNameLength})`,
        );
    });
    return { pod: pod, nodes: items as Node[] };
  }
  throw new WireError('neither Nodes nor NodeNames is set');
}

/** ExtenderFilterResult. `FailedAndUnresolvableNodes` tells the scheduler that preemption cannot help. */
export interface ExtenderFilterResult {
  Nodes: { metadata: Record<string, never>; items: Node[] } | null;
  NodeNames: readonly string[] | null;
  FailedNodes: Readonly<Record<string, string>>;
  FailedAndUnresolvableNodes: Readonly<Record<string, string>>;
  Error: string;
}
