// The nodes the storage simulator (a test and demo tool) starts with when none are given: they match the
// box's KWOK nodes from topologyNodes()/boxNodeAddresses() in src/box/nodes.ts (names node-1 … node-N,
// IPs 127.1.x.y, racks and zones), so the driver's nodes line up with the Kubernetes nodes by hostname,
// IP and scheduler node name. The simulator layer may not import the box, so the scheme is repeated here.
import type { SimNodeSpec } from './simulator-state.js';

export function defaultNodes(count: number, options: { racks?: number; zones?: number } = {}): SimNodeSpec[] {
  if (!Number.isInteger(count) || count < 1 || count > 5000) {
    throw new RangeError(`node count must be a whole number from 1 to 5000, got ${count}`);
  }
  const racks = options.racks ?? 3;
  const zones = options.zones ?? 2;
  return Array.from({ length: count }, (_, index) => {
    const name = `node-${index + 1}`;
    const ip = `127.1.${Math.floor((index + 1) / 250)}.${((index + 1) % 250) + 1}`;
    return {
      // Storage ids differ from host names on purpose, as on Portworx (where they are UUIDs): code that
      // confuses the two fails against the simulator.
      id: `px-${name}`,
      hostname: name,
      mgmtIp: ip,
      dataIp: ip,
      schedulerNodeName: name,
      topology: {
        'px/rack': `rack-${(index % racks) + 1}`,
        'topology.kubernetes.io/zone': `zone-${String.fromCharCode(97 + (index % zones))}`,
        'topology.kubernetes.io/region': 'region-1',
      },
    };
  });
}
