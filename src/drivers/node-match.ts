import type { DriverNode, DriverNodeStatus } from './driver.js';
import type { Node } from '../wire/k8s-types.js';

const statusPreference: Record<DriverNodeStatus, number> = {
  Online: 0,
  StorageDown: 1,
  Degraded: 2,
  Maintenance: 3,
  Initializing: 4,
  NotInQuorum: 5,
  Unknown: 6,
  Offline: 7,
};

function address(node: Node, type: string): string[] {
  return (node.status?.addresses ?? []).filter((a) => a.type === type).map((a) => a.address.toLowerCase());
}

/** `name` and each of its dot-prefixes: `a.b.c` → `a`, `a.b`, `a.b.c`, for Stork's host matching. */
function hostPrefixes(name: string): string[] {
  const parts = name.toLowerCase().split('.');
  return parts.map((_, i) => parts.slice(0, i + 1).join('.'));
}

/**
 * Finds the storage node behind each Kubernetes node, as Stork does: the driver's scheduler node name
 * equals the node's name; or its id or hostname equals the node's name or Hostname address, or is a
 * dot-prefix of it (`node1` matches `node1.example.com`); or one of the node's InternalIPs is the
 * driver node's. When several driver entries match one node (a stale entry left behind by a reinstall,
 * say), the healthiest wins, so a stale Offline duplicate never condemns a healthy node.
 */
export class NodeMatcher {
  private readonly bySchedulerName = new Map<string, DriverNode[]>();
  private readonly byIdOrHostname = new Map<string, DriverNode[]>();
  private readonly byIp = new Map<string, DriverNode[]>();
  /**
   * What each Node object matched (null: nothing). Cached objects are never changed in place (an informer
   * replaces the object on every change), so a Node object matches the same for this matcher's lifetime.
   * The health monitor matches every node again whenever any Node changes: with this, only the changed
   * ones pay for the matching itself.
   */
  private readonly matched = new WeakMap<Node, DriverNode | null>();

  constructor(driverNodes: readonly DriverNode[]) {
    const add = (map: Map<string, DriverNode[]>, key: string | undefined, node: DriverNode): void => {
      if (!key) return;
      const k = key.toLowerCase();
      const list = map.get(k);
      if (list) list.push(node);
      else map.set(k, [node]);
    };
    for (const node of driverNodes) {
      add(this.bySchedulerName, node.schedulerNodeName, node);
      add(this.byIdOrHostname, node.id, node);
      add(this.byIdOrHostname, node.hostname, node);
      for (const ip of node.ips) add(this.byIp, ip, node);
    }
  }

  /** The driver node running on this Kubernetes node, if any. */
  match(node: Node): DriverNode | undefined {
    const known = this.matched.get(node);
    if (known !== undefined) return known ?? undefined;
    const found = this.find(node);
    this.matched.set(node, found ?? null);
    return found;
  }

  private find(node: Node): DriverNode | undefined {
    const name = node.metadata?.name ?? '';
    const candidates = new Set<DriverNode>();
    for (const d of this.bySchedulerName.get(name.toLowerCase()) ?? []) candidates.add(d);
    for (const host of [name, ...address(node, 'Hostname')]) {
      for (const prefix of hostPrefixes(host)) {
        for (const d of this.byIdOrHostname.get(prefix) ?? []) candidates.add(d);
      }
    }
    for (const ip of address(node, 'InternalIP')) {
      for (const d of this.byIp.get(ip) ?? []) candidates.add(d);
    }
    let best: DriverNode | undefined;
    for (const d of candidates) {
      if (!best || statusPreference[d.status] < statusPreference[best.status]) best = d;
    }
    return best;
  }
}

const matchers = new WeakMap<readonly DriverNode[], NodeMatcher>();

/**
 * The matcher for one storage node list, built once per list: the driver cache keeps the same array
 * while the storage nodes stay the same, so every reader of one driver state shares one index.
 */
export function nodeMatcherFor(driverNodes: readonly DriverNode[]): NodeMatcher {
  let matcher = matchers.get(driverNodes);
  if (!matcher) {
    matcher = new NodeMatcher(driverNodes);
    matchers.set(driverNodes, matcher);
  }
  return matcher;
}

/** A Kubernetes node and the storage node running on it. */
export interface NodeMatch {
  readonly node: Node;
  readonly driverNode: DriverNode;
}

/**
 * Every Kubernetes node that runs a storage node, with it, in list order. `match` is the matcher's
 * `match` or a memoised form of it.
 */
export function matchNodes(
  nodes: Iterable<Node>,
  match: (node: Node) => DriverNode | undefined,
): NodeMatch[] {
  const out: NodeMatch[] = [];
  for (const node of nodes) {
    const driverNode = match(node);
    if (driverNode) out.push({ node, driverNode });
  }
  return out;
}

/**
 * The Kubernetes node each storage node runs on, by storage node id. When several Kubernetes nodes
 * match one storage node, the first in list order keeps it.
 */
export function kubeNodesByStorageId(matches: Iterable<NodeMatch>): Map<string, Node> {
  const map = new Map<string, Node>();
  for (const { node, driverNode } of matches) if (!map.has(driverNode.id)) map.set(driverNode.id, node);
  return map;
}
