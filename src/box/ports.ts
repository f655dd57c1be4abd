import { createServer } from 'node:net';

/**
 * Asks the kernel for `count` distinct free ports on loopback. They are released before use, so another
 * process could take one in between; on a test machine that is rare enough, and a component that fails to
 * bind says so in its log.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    if (address === null || typeof address === 'string') throw new Error('unexpected listen address');
    return address.port;
  });
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
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
