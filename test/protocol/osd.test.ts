// The upstream OpenStorage SDK server (`osd` with its fake driver), built from the Go module proxy and
// run in its own namespaces, answering real SDK calls made with the upstream api/api.proto. This is the
// reference the project's OpenStorage client and simulator are held to. A cold run builds osd first (about
// 3–4 minutes on two cores); later runs reuse ~/.cache/stork-ts/osd.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import protobuf from 'protobufjs';
import { clusterStatus, startOsd, type OsdServer } from '../../src/box/osd/server.js';
import { waitFor } from '../../src/lib/wait.js';

function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'osd runs in Linux namespaces';
  const path = [...(process.env.PATH ?? '').split(':'), '/usr/local/go/bin', '/usr/sbin', '/sbin'];
  for (const tool of ['go', 'unshare', 'ip']) {
    if (!path.some((dir) => dir && existsSync(join(dir, tool)))) return `\`${tool}\` is not installed`;
  }
  return undefined;
}

const skipReason = unavailable();
// On CI nothing may be skipped silently: a missing tool is a broken install step.
if (skipReason && process.env.CI) throw new Error(`osd test cannot run: ${skipReason}`);
if (skipReason) console.warn(`[osd test] skipped: ${skipReason}`);

let osd: OsdServer;
let definition: protoLoader.PackageDefinition;

/** One unary SDK call, encoded and decoded with the upstream definition. */
function call(service: string, method: string, request: object): Promise<Record<string, unknown>> {
  const methods = definition[`openstorage.api.${service}`] as protoLoader.ServiceDefinition | undefined;
  const m = methods?.[method];
  if (!m) throw new Error(`upstream api.proto has no ${service}.${method}`);
  const client = new grpc.Client(osd.sdkEndpoint, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      m.path,
      m.requestSerialize,
      (bytes: Buffer) => m.responseDeserialize(bytes) as Record<string, unknown>,
      request,
      { deadline: Date.now() + 10_000 },
      (error, value) => {
        client.close();
        if (error) reject(error);
        else resolve(value ?? {});
      },
    );
  });
}

describe.skipIf(skipReason !== undefined)('upstream OpenStorage osd (fake driver)', () => {
  beforeAll(async () => {
    osd = await startOsd({ clusterId: 'proto-test', nodeId: 'osd-node-0', log: (l) => console.error(l) });
    definition = await protoLoader.load('api/api.proto', {
      includeDirs: [...osd.binary.protoIncludeDirs],
      longs: String,
      enums: String,
      defaults: true,
    });
  }, 1_200_000);

  afterAll(async () => {
    await osd.stop();
    expect(existsSync(osd.dir)).toBe(false);
  }, 30_000);

  it('serves the SDK on a loopback port', () => {
    expect(osd.sdkEndpoint).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('identifies itself as the fake driver', async () => {
    const answer = await call('OpenStorageIdentity', 'Version', {});
    const sdkVersion = answer['sdkVersion'] as { version?: string } | undefined;
    expect(sdkVersion?.version).toMatch(/^0\.\d+\.\d+$/);
    expect(answer['version']).toMatchObject({ driver: 'fake' });
  }, 30_000);

  it('reports the configured cluster with one node', async () => {
    // osd's one-node cluster can drop out of quorum for a moment when its gossip heartbeat is late (a
    // starved process on a busy machine) and comes back by itself: wait out such a moment.
    const cluster = await waitFor(
      'osd cluster in quorum',
      async () => {
        const answer = await call('OpenStorageCluster', 'InspectCurrent', {});
        return (answer['cluster'] as { status?: string } | undefined)?.status === 'STATUS_OK' && answer;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(cluster['cluster']).toMatchObject({
      id: osd.clusterUuid,
      name: 'proto-test',
      status: 'STATUS_OK',
    });
    const nodes = await call('OpenStorageNode', 'Enumerate', {});
    expect(nodes['nodeIds']).toEqual(['osd-node-0']);
    const node = await waitFor(
      'osd node up',
      async () => {
        const answer = await call('OpenStorageNode', 'Inspect', { nodeId: 'osd-node-0' });
        return (answer['node'] as { status?: string } | undefined)?.status === 'STATUS_OK' && answer;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(node['node']).toMatchObject({
      id: 'osd-node-0',
      schedulerNodeName: 'osd-node-0',
      mgmtIp: '127.0.0.1',
      status: 'STATUS_OK',
    });
  }, 30_000);

  it('creates and inspects a volume; the fake driver places no replicas', async () => {
    const created = await call('OpenStorageVolume', 'Create', {
      name: 'pvc-proto-test',
      spec: { size: String(1 << 30), haLevel: '2' },
    });
    const volumeId = created['volumeId'];
    expect(volumeId).toEqual(expect.stringMatching(/^.+$/));
    const inspected = await call('OpenStorageVolume', 'Inspect', { volumeId });
    expect(inspected['volume']).toMatchObject({
      id: volumeId,
      locator: { name: 'pvc-proto-test' },
      spec: { size: String(1 << 30), haLevel: '2' },
      replicaSets: [],
    });
  }, 30_000);

  it('answers an unknown volume with NOT_FOUND', async () => {
    await expect(call('OpenStorageVolume', 'Inspect', { volumeId: 'no-such-volume' })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  }, 30_000);
});

describe('clusterStatus (the readiness check, which reads the wire format without a .proto)', () => {
  const encode = (status: number | undefined): Uint8Array => {
    const cluster = protobuf.Writer.create();
    if (status !== undefined) cluster.uint32((1 << 3) | 0).int32(status);
    cluster.uint32((2 << 3) | 2).string('some-uuid');
    return protobuf.Writer.create()
      .uint32((1 << 3) | 2)
      .bytes(cluster.finish())
      .finish();
  };

  it('reads cluster.status, 0 when absent, undefined without a cluster', () => {
    expect(clusterStatus(encode(2))).toBe(2);
    expect(clusterStatus(encode(5))).toBe(5);
    expect(clusterStatus(encode(undefined))).toBe(0);
    expect(clusterStatus(new Uint8Array())).toBeUndefined();
  });
});
