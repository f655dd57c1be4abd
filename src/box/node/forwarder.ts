import net from 'node:net';

/**
 * A TCP forwarder from an address the node's namespace can reach (this host's end of the link) to a
 * loopback port of this host: how the kubelet, kube-proxy and pods reach the API server (and tests' own
 * servers) without those listening beyond loopback. Connections are bounded.
 */
export class TcpForwarder {
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly host: string,
    readonly port: number,
  ) {}

  static async start(options: {
    host: string;
    port: number;
    targetPort: number;
    targetHost?: string;
    maxConnections?: number;
  }): Promise<TcpForwarder> {
    const server = net.createServer();
    server.maxConnections = options.maxConnections ?? 512;
    const forwarder = new TcpForwarder(server, options.host, options.port);
    server.on('connection', (client) => {
      const upstream = net.connect(options.targetPort, options.targetHost ?? '127.0.0.1');
      for (const socket of [client, upstream]) {
        forwarder.sockets.add(socket);
        socket.on('close', () => forwarder.sockets.delete(socket));
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
    return forwarder;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
