import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpForwarder } from './tcp-forwarder.js';

/** An upper-casing echo server; returns how to reach it and how to close it. */
async function echo(listen: { port: 0; host: '127.0.0.1' } | { path: string }): Promise<{
  server: net.Server;
  port: number;
}> {
  const server = net.createServer((socket) =>
    socket.on('data', (d) => socket.write(d.toString().toUpperCase())),
  );
  await new Promise<void>((resolve) => server.listen(listen, resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0 };
}

/** Sends `text` through the forwarder and reads the answer; resolves with the open client too. */
async function roundTrip(port: number, text: string): Promise<{ answer: string; client: net.Socket }> {
  const client = net.connect(port, '127.0.0.1');
  const answer = await new Promise<string>((resolve, reject) => {
    client.once('error', reject);
    client.once('data', (d) => resolve(d.toString()));
    client.write(text);
  });
  return { answer, client };
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

describe('TcpForwarder', () => {
  it('forwards to a loopback port, on a port the system chose', async () => {
    const { server, port } = await echo({ port: 0, host: '127.0.0.1' });
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    const forwarder = await TcpForwarder.start({ host: '127.0.0.1', port: 0, target: { port } });
    cleanup.push(() => forwarder.stop());
    expect(forwarder.port).toBeGreaterThan(0);
    expect(forwarder.port).not.toBe(port);
    const { answer, client } = await roundTrip(forwarder.port, 'hello');
    client.destroy();
    expect(answer).toBe('HELLO');
  });

  it('forwards to a unix socket, and closes the open connections when stopped', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fwd-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const { server } = await echo({ path: join(dir, 's.sock') });
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    const forwarder = await TcpForwarder.start({
      host: '127.0.0.1',
      port: 0,
      target: { path: join(dir, 's.sock') },
    });
    const { answer, client } = await roundTrip(forwarder.port, 'unix');
    expect(answer).toBe('UNIX');
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    // stop() resolves only once the listener is closed, which needs the open connection gone.
    await forwarder.stop();
    await closed;
    await expect(roundTrip(forwarder.port, 'again')).rejects.toThrow(/ECONNREFUSED/);
  });
});
