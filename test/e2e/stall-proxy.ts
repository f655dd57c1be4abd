import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of the API server for one stork replica. While `stalled`, it keeps every
 * connection open and forwards nothing in either direction, and new connections are accepted and held
 * the same way: to the replica, the API server went silent mid-conversation (a half-open connection, a
 * partitioned node), not refused. `resume` cuts the held connections so the client reconnects afresh.
 */
export class StallProxy {
  private stalled = false;
  private readonly pairs = new Set<{ client: Socket; upstream?: Socket }>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: URL): Promise<StallProxy> {
    const holder: { proxy?: StallProxy } = {};
    const server = createServer((client) => holder.proxy?.accept(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    holder.proxy = new StallProxy(server, (server.address() as AddressInfo).port);
    return holder.proxy;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  stall(): void {
    this.stalled = true;
  }

  resume(): void {
    this.stalled = false;
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream?.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.resume();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, target: URL): void {
    const pair: { client: Socket; upstream?: Socket } = { client };
    this.pairs.add(pair);
    const drop = (): void => {
      client.destroy();
      pair.upstream?.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', drop);
    client.on('close', drop);
    // Held without an upstream while stalled: bytes are read and dropped.
    if (this.stalled) {
      client.on('data', () => undefined);
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    pair.upstream = upstream;
    upstream.on('error', drop);
    upstream.on('close', drop);
    client.on('data', (chunk: Buffer) => {
      if (!this.stalled) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!this.stalled) client.write(chunk);
    });
  }
}
