// The admin API over real HTTP on loopback.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type RunningSimulator } from './simulator.js';

let sim: RunningSimulator;

beforeAll(async () => {
  sim = await startSimulator({
    nodes: [
      { id: 'n1', hostname: 'host-1', mgmtIp: '198.18.0.1' },
      { id: 'n2', hostname: 'host-2', mgmtIp: '198.18.0.2' },
    ],
  });
});
afterAll(async () => {
  await sim.stop();
});
beforeEach(() => {
  sim.state.reset();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${sim.adminUrl}${path}`, {
    method,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

describe('admin API', () => {
  it('lists the state', async () => {
    const { status, body } = await call('GET', '/state');
    expect(status).toBe(200);
    expect(body).toMatchObject({ nodes: [{ id: 'n1', hostname: 'host-1' }, { id: 'n2' }], volumes: [] });
  });

  it('sets a node status by driver name or SDK name', async () => {
    expect(await call('PUT', '/nodes/n1/status', { status: 'Offline' })).toMatchObject({
      status: 200,
      body: { id: 'n1', status: 'STATUS_OFFLINE' },
    });
    await call('PUT', '/nodes/n2/status', { status: 'STATUS_MAINTENANCE' });
    expect(sim.state.node('n1').status).toBe('STATUS_OFFLINE');
    expect(sim.state.node('n2').status).toBe('STATUS_MAINTENANCE');
  });

  it('sets and reports cluster faults, rejecting anything but booleans', async () => {
    expect(await call('PUT', '/cluster', { quorumLost: true })).toEqual({
      status: 200,
      body: { quorumLost: true, unreachable: false },
    });
    expect(sim.state.cluster.quorumLost).toBe(true);
    expect(await call('PUT', '/cluster', { unreachable: 'yes' })).toMatchObject({
      status: 400,
      body: { error: expect.stringContaining('body.unreachable must be true or false') as unknown },
    });
    expect((await call('PUT', '/cluster', { quorum: false })).status).toBe(400);
    expect((await call('GET', '/state')).body).toMatchObject({ cluster: { quorumLost: true } });
  });

  it('rejects a bad status and an unknown node, naming them', async () => {
    expect(await call('PUT', '/nodes/n1/status', { status: 'Up' })).toMatchObject({
      status: 400,
      body: { error: expect.stringContaining('unknown node status "Up"') as unknown },
    });
    expect(await call('PUT', '/nodes/nx/status', { status: 'Online' })).toEqual({
      status: 404,
      body: { error: 'Id nx not found' },
    });
  });

  it('adds a node (201), then replaces it (200)', async () => {
    expect(await call('PUT', '/nodes/n3', { hostname: 'host-3', status: 'StorageDown' })).toMatchObject({
      status: 201,
      body: { id: 'n3', hostname: 'host-3', status: 'STATUS_STORAGE_DOWN' },
    });
    expect(await call('PUT', '/nodes/n3', { hostname: 'host-3b' })).toMatchObject({
      status: 200,
      body: { id: 'n3', hostname: 'host-3b', status: 'STATUS_OK' },
    });
    expect((await call('PUT', '/nodes/n3', { id: 'n4' })).status).toBe(400);
  });

  it('replaces the whole node set', async () => {
    const { status, body } = await call('PUT', '/nodes', [{ id: 'a' }, { id: 'b', topology: { zone: 'z' } }]);
    expect(status).toBe(200);
    expect((body as { nodes: { id: string }[] }).nodes.map((n) => n.id)).toEqual(['a', 'b']);
    expect(await call('PUT', '/nodes', [{ id: 'a', topology: { zone: 1 } }])).toEqual({
      status: 400,
      body: { error: 'body[0].topology["zone"] must be a string, got 1' },
    });
  });

  it('creates a volume with explicit replica nodes and id, and deletes it', async () => {
    const created = await call('POST', '/volumes', {
      id: 'vol-a',
      name: 'pvc-a',
      sizeBytes: 1024,
      replicaNodes: ['n2', '198.18.0.1'],
      labels: { app: 'db' },
    });
    expect(created).toEqual({
      status: 201,
      body: {
        id: 'vol-a',
        name: 'pvc-a',
        sizeBytes: 1024,
        haLevel: 2,
        replicaNodeIds: ['n2', 'n1'],
        labels: { app: 'db' },
        snapshot: false,
        createdAt: expect.any(Number) as number,
      },
    });
    expect((await call('POST', '/volumes', { name: 'pvc-a', sizeBytes: 1024 })).status).toBe(200);
    expect(await call('DELETE', '/volumes/vol-a')).toEqual({ status: 204, body: undefined });
    expect(await call('DELETE', '/volumes/vol-a')).toEqual({
      status: 404,
      body: { error: 'volume vol-a not found' },
    });
  });

  it('answers conflicts and capacity shortfalls with 409 and 503', async () => {
    await call('POST', '/volumes', { name: 'v', sizeBytes: 1024 });
    expect((await call('POST', '/volumes', { name: 'v', sizeBytes: 2048 })).status).toBe(409);
    expect(await call('POST', '/volumes', { name: 'w', sizeBytes: 1, haLevel: 3 })).toEqual({
      status: 503,
      body: { error: 'ha_level 3 needs 3 online nodes, but 2 are online (n1, n2)' },
    });
  });

  it('rejects malformed bodies, naming the field', async () => {
    expect(await call('POST', '/volumes', { name: 'v', sizeBytes: '1G' })).toEqual({
      status: 400,
      body: { error: 'body.sizeBytes must be a number, got "1G"' },
    });
    expect(await call('POST', '/volumes', { name: 'v', sizeBytes: 1, replicas: 2 })).toMatchObject({
      status: 400,
      body: { error: expect.stringContaining('unknown field(s) replicas') as unknown },
    });
    expect(await call('POST', '/volumes', '{not json')).toMatchObject({ status: 400 });
    expect(await call('POST', '/volumes')).toEqual({
      status: 400,
      body: { error: 'a JSON body is required' },
    });
  });

  it('resets to the initial nodes, or to new ones', async () => {
    await call('PUT', '/nodes/n1/status', { status: 'Offline' });
    await call('POST', '/volumes', { name: 'v', sizeBytes: 1 });
    expect(await call('POST', '/reset')).toMatchObject({
      status: 200,
      body: { nodes: [{ id: 'n1', status: 'STATUS_OK' }, { id: 'n2' }], volumes: [] },
    });
    const { body } = await call('POST', '/reset', { nodes: [{ id: 'x' }] });
    expect(body).toMatchObject({ nodes: [{ id: 'x' }], volumes: [] });
    sim.state.reset([
      { id: 'n1', hostname: 'host-1', mgmtIp: '198.18.0.1' },
      { id: 'n2', hostname: 'host-2', mgmtIp: '198.18.0.2' },
    ]);
  });

  it('answers 404 for unknown routes and 405 for wrong methods', async () => {
    expect((await call('GET', '/nope')).status).toBe(404);
    expect(await call('DELETE', '/state')).toEqual({
      status: 405,
      body: { error: 'DELETE /state: only GET is allowed here' },
    });
  });
});
