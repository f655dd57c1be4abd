import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * The kernel's ephemeral port range (the local ports it gives outgoing connections and `listen(0)`).
 * A port we hand out must lie outside it: the box's components open hundreds of client connections
 * between the moment a port is chosen and the moment its server binds it, and any of them may take it.
 */
export function ephemeralPortRange(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low !== undefined && high !== undefined && low > 0 && high >= low) return { low, high };
  } catch {
    // Not Linux: fall through to the IANA default range.
  }
  return { low: 49152, high: 65535 };
}

/** The range we choose from: below the ephemeral range and above the well-known service ports. */
export function candidateRange(ephemeral = ephemeralPortRange()): { low: number; high: number } | undefined {
  const low = 10_000;
  const high = ephemeral.low - 1;
  if (high - low >= 1000) return { low, high };
  if (ephemeral.high <= 64_535) return { low: ephemeral.high + 1, high: 65_535 };
  return undefined;
}

/** Ports this process has handed out, so two callers in one process never get the same one. */
const handedOut = new Set<number>();

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const bound = address !== null && typeof address !== 'string' ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * `count` distinct ports on loopback that were free a moment ago, chosen at random outside the kernel's
 * ephemeral range. They are released before use, so another process that binds explicitly could still take
 * one in between; with thousands of candidates and a random pick that is rare, and a component that fails
 * to bind says so in its log.
 */
export async function freePorts(count: number): Promise<number[]> {
  const range = candidateRange();
  const ports: number[] = [];
  for (let attempts = 0; ports.length < count; attempts++) {
    if (attempts > count * 200) throw new Error(`could not find ${String(count)} free ports`);
    const wanted = range ? range.low + Math.floor(Math.random() * (range.high - range.low + 1)) : 0;
    if (wanted !== 0 && handedOut.has(wanted)) continue;
    const port = await tryListen(wanted);
    if (port === undefined || handedOut.has(port)) continue;
    handedOut.add(port);
    ports.push(port);
  }
  return ports;
}

/** Free ports by name, e.g. `await freeNamedPorts(['etcd', 'apiserver'])`. */
export async function freeNamedPorts<const N extends string>(
  names: readonly N[],
): Promise<Record<N, number>> {
  const ports = await freePorts(names.length);
  const named = {} as Record<N, number>;
  names.forEach((name, i) => {
    const port = ports[i];
    if (port === undefined) throw new Error('fewer ports than names');
    named[name] = port;
  });
  return named;
}
