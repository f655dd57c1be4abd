import type { NodeAddress } from '../wire/k8s-types.js';

/** A KWOK node of the box. */
export interface BoxNode {
  readonly name: string;
  /** Extra labels, e.g. `topology.kubernetes.io/zone` or `px/rack`. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  /** The node's InternalIP; by default a distinct loopback address, so that nothing can leave the host. */
  readonly ip?: string;
}

/**
 * The addresses a box node publishes: its own hostname and IP (what storage drivers match on), and
 * `localhost` as InternalDNS, which is the address the API server uses to reach KWOK for exec.
 */
export function boxNodeAddresses(node: BoxNode, index: number): NodeAddress[] {
  if (index < 0 || index >= 65_000) throw new RangeError(`node index out of range: ${index}`);
  const ip = node.ip ?? `127.1.${Math.floor((index + 1) / 250)}.${((index + 1) % 250) + 1}`;
  return [
    { type: 'InternalIP', address: ip },
    { type: 'Hostname', address: node.name },
    { type: 'InternalDNS', address: 'localhost' },
  ];
}

/**
 * `count` nodes spread over racks, zones and one region (node-1 … node-N), labelled the way Portworx and
 * Kubernetes label them, for trying things by hand and for tests that need a topology.
 */
export function topologyNodes(count: number, options: { racks?: number; zones?: number } = {}): BoxNode[] {
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`node count must be a positive integer, got ${count}`);
  const racks = options.racks ?? 3;
  const zones = options.zones ?? 2;
  return Array.from({ length: count }, (_, i) => ({
    name: `node-${i + 1}`,
    labels: {
      'px/rack': `rack-${(i % racks) + 1}`,
      'topology.kubernetes.io/zone': `zone-${String.fromCharCode(97 + (i % zones))}`,
      'topology.kubernetes.io/region': 'region-1',
    },
  }));
}
