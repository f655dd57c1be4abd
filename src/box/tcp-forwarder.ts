import net from 'node:net';

/** Where a forwarder sends each connection: a TCP port (on loopback unless told) or a unix socket. */
export type ForwardTarget = { readonly port: number; readonly host?: string } | { readonly path: string };

/**
 * A TCP listener that forwards each connection to one target. The box uses it so that what it runs
 * listens only where it must: a real node's namespace reaches the API server (and tests' servers) on
 * this host's loopback ports through one, and the box's clients reach osd's unix sockets through
 * another. Connections are bounded, and stopping closes the open ones too.
 */
export class TcpForwarder {
  private constructor(
    private readonly server: net.Server,
    private readonly sockets: Set<net.Socket>,
    readonly host: string,
    /** The port listened on (the one the system chose, when asked for port 0). */
    readonly port: number,
  ) {}

  static async start(options: {
    readonly host: string;
    /** 0: any free port. */
    readonly port: number;
    readonly target: ForwardTarget;
    readonly maxConnections?: number;
  }): Promise<TcpForwarder> {
    const { target } = options;
    const server = net.createServer();
    server.maxConnections = options.maxConnections ?? 512;
    const sockets = new Set<net.Socket>();
    server.on('connection', (client) => {
      const upstream =
        'path' in target ? net.connect(target.path) : net.connect(target.port, target.host ?? '127.0.0.1');
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('unexpected listen address');
    return new TcpForwarder(server, sockets, options.host, address.port);
  }

  /** Stops listening and closes every forwarded connection. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
