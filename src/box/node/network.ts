/**
 * The addresses of the box's real node. Every one is in 198.18.0.0/15, the block reserved for network
 * benchmarks (RFC 2544), so nothing here can collide with a site's 10/8, 172.16/12 or 192.168/16:
 *
 * - 198.18.0.0/17: one /30 per running box, the link between this host and the node's network namespace
 *   (`.1` the host's end, `.2` the node's: its InternalIP, where the API server reaches the kubelet);
 * - 198.18.128.0/17: the IPs KWOK writes into its pods' status (never used on the wire);
 * - 198.19.0.0/17: the Service range (ClusterIPs live in the node's iptables only);
 * - 198.19.128.0/24: the node's pod range, behind its bridge, inside its network namespace, so every box
 *   can use the same one.
 */
export const serviceCidr = '198.19.0.0/17';
/** The `kubernetes` Service's ClusterIP: the first address of the Service range. */
export const kubernetesServiceIp = '198.19.0.1';
export const podCidr = '198.19.128.0/24';
export const podGateway = '198.19.128.1';
export const kwokPodCidr = '198.18.128.1/17';
const linkBlocks = 2 ** 15 / 4;

export interface NodeLink {
  readonly index: number;
  /** This host's end of the link: where the node reaches the API server (through a forwarder). */
  readonly hostIp: string;
  /** The node's end: its InternalIP. */
  readonly nodeIp: string;
  readonly prefixLength: 30;
}

/** The link of block `index` (1 … 8191; 0 is left unused). */
export function nodeLink(index: number): NodeLink {
  if (!Number.isInteger(index) || index < 1 || index >= linkBlocks)
    throw new RangeError(`link index out of range: ${index}`);
  const base = index * 4;
  const address = (offset: number): string =>
    `198.18.${Math.floor((base + offset) / 256)}.${(base + offset) % 256}`;
  return { index, hostIp: address(1), nodeIp: address(2), prefixLength: 30 };
}

/** A link index whose addresses no interface of this host has yet (`ip -4 -o addr` lines given). */
export function freeLinkIndex(addrOutput: string, random: () => number = Math.random): number {
  const used = new Set([...addrOutput.matchAll(/inet (198\.18\.\d+\.\d+)\//g)].map((m) => m[1]));
  for (let attempt = 0; attempt < 64; attempt++) {
    const index = 1 + Math.floor(random() * (linkBlocks - 1));
    const link = nodeLink(index);
    if (!used.has(link.hostIp) && !used.has(link.nodeIp)) return index;
  }
  throw new Error('no free 198.18.0.0/17 link block found');
}

/** Whether an IPv4 address is in 198.18.0.0/15. */
export function inBenchmarkRange(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number);
  return a === 198 && (b === 18 || b === 19);
}
