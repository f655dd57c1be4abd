import type { DriverNode } from './driver.js';

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether two listings of a storage node say the same thing (every field of a DriverNode). Written out
 * field by field, like sameVolume: the driver cache compares every node on every refresh (2,000 nodes
 * every 2 s), where a JSON fingerprint of the whole list cost more than the comparison it stood for.
 */
export function sameNode(a: DriverNode, b: DriverNode): boolean {
  return (
    a.id === b.id &&
    a.status === b.status &&
    a.hostname === b.hostname &&
    a.schedulerNodeName === b.schedulerNodeName &&
    a.rack === b.rack &&
    a.zone === b.zone &&
    a.region === b.region &&
    sameList(a.ips, b.ips)
  );
}

/** Whether two node lists say the same thing, node by node in the same order. */
export function sameNodes(a: readonly DriverNode[], b: readonly DriverNode[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (!x || !y || !sameNode(x, y)) return false;
  }
  return true;
}
