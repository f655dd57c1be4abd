// The lean list decoders against the proto's full codec: for the same bytes, the mapping must read the
// same from both, whatever is present, absent, unknown to our proto or repeated.
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { decodeNodeList, decodeVolumeList } from './list-decoding.js';
import { toDriverNode, toDriverVolume } from './mapping.js';
import { openStorageMethod } from './proto.js';
import type { SdkMethod, SdkMethods } from './sdk-types.js';

function codec<M extends SdkMethod>(method: M) {
  const definition = openStorageMethod(method);
  return {
    encode: (response: object): Buffer => definition.responseSerialize(response),
    decode: (bytes: Buffer) => definition.responseDeserialize(bytes) as SdkMethods[M]['res'],
  };
}

const nodeCodec = codec('OpenStorageNode/EnumerateWithFilters');
const volumeCodec = codec('OpenStorageVolume/InspectWithFilters');

const fullNodes = (bytes: Buffer) => nodeCodec.decode(bytes).nodes.map(toDriverNode);
const leanNodes = (bytes: Buffer) => decodeNodeList(bytes).map((n) => toDriverNode(n));
const fullVolumes = (bytes: Buffer) =>
  volumeCodec.decode(bytes).volumes.flatMap((e) => (e.volume ? [toDriverVolume(e.volume, e)] : []));
const leanVolumes = (bytes: Buffer) =>
  decodeVolumeList(bytes).flatMap((e) => (e.volume ? [toDriverVolume(e.volume, e)] : []));

/** Field `field` of wire type `type` written by `write`, appended to a message's bytes. */
function withField(bytes: Uint8Array, field: number, type: number, write: (w: protobuf.Writer) => void) {
  const writer = protobuf.Writer.create();
  writer.uint32((field << 3) | type);
  write(writer);
  return Buffer.concat([bytes, writer.finish()]);
}

/** A list answer (field 1, repeated) made of the given element messages' bytes. */
function list(elements: readonly Uint8Array[]): Buffer {
  const writer = protobuf.Writer.create();
  for (const element of elements) writer.uint32((1 << 3) | 2).bytes(element);
  return Buffer.from(writer.finish());
}

/** One StorageNode's bytes, through the full codec. */
function nodeBytes(node: object): Uint8Array {
  const reader = protobuf.Reader.create(nodeCodec.encode({ nodes: [node] }));
  reader.uint32();
  return reader.bytes();
}

function volumeBytes(entry: object): Uint8Array {
  const reader = protobuf.Reader.create(volumeCodec.encode({ volumes: [entry] }));
  reader.uint32();
  return reader.bytes();
}

describe('decodeNodeList', () => {
  const nodes = [
    {
      id: 'n1',
      status: 'STATUS_OK',
      mgmt_ip: '198.18.0.1',
      data_ip: '198.18.1.1',
      hostname: 'Worker-1',
      node_labels: { a: 'b', c: 'd' },
      scheduler_node_name: 'worker-1',
      scheduler_topology: {
        labels: {
          'px/rack': 'r1',
          'topology.kubernetes.io/zone': 'z1',
          'topology.kubernetes.io/region': 'e',
        },
      },
    },
    // Every field absent but the id: proto3 defaults (status 0 is STATUS_NONE).
    { id: 'n2' },
    { id: 'n3', status: 'STATUS_OFFLINE', mgmt_ip: '198.18.0.3', data_ip: '198.18.0.3', hostname: 'w3' },
    {
      id: 'n4',
      status: 'STATUS_STORAGE_DOWN',
      scheduler_topology: { labels: { 'failure-domain.beta.kubernetes.io/zone': 'old' } },
    },
  ];

  it('reads every node as the full codec does', () => {
    const bytes = nodeCodec.encode({ nodes });
    const lean = leanNodes(bytes);
    expect(lean).toEqual(fullNodes(bytes));
    expect(lean.map((n) => n.status)).toEqual(['Online', 'Unknown', 'Offline', 'StorageDown']);
    expect(lean[0]).toMatchObject({ rack: 'r1', zone: 'z1', region: 'e', ips: ['198.18.0.1', '198.18.1.1'] });
    expect(lean[3]?.zone).toBe('old');
  });

  it('reads an empty answer as no nodes', () => {
    expect(decodeNodeList(Buffer.alloc(0))).toEqual([]);
  });

  it('keeps a status number our proto does not name as a number (Unknown), as the full codec does', () => {
    const bytes = list([withField(nodeBytes({ id: 'n9' }), 7, 0, (w) => w.int32(99))]);
    expect(decodeNodeList(bytes)[0]?.status).toBe(99);
    expect(leanNodes(bytes)).toEqual(fullNodes(bytes));
    expect(leanNodes(bytes)[0]?.status).toBe('Unknown');
  });

  it('skips fields our proto lacks (what a real Portworx adds: usage figures, disks, pools)', () => {
    let node = nodeBytes(nodes[0] ?? {});
    node = withField(node, 2, 1, (w) => w.double(37.5)); // cpu
    node = withField(node, 3, 0, (w) => w.uint64(17_179_869_184)); // mem_total
    node = withField(node, 13, 2, (w) => w.bytes(nodeBytes({ id: 'nested', hostname: 'x' }))); // a message
    node = withField(node, 27, 5, (w) => w.fixed32(7));
    const bytes = withField(list([node]), 9, 2, (w) => w.string('beside the list'));
    expect(leanNodes(bytes)).toEqual(fullNodes(bytes));
    expect(leanNodes(bytes)[0]?.id).toBe('n1');
  });

  it('takes the last of a message or a scalar sent twice, as the full codec does', () => {
    let node = nodeBytes({
      id: 'n5',
      hostname: 'first',
      scheduler_topology: { labels: { 'px/rack': 'r1' } },
    });
    node = withField(node, 15, 2, (w) => w.string('second'));
    node = Buffer.concat([
      node,
      nodeBytes({ scheduler_topology: { labels: { 'topology.kubernetes.io/zone': 'z2' } } }),
    ]);
    const bytes = list([node]);
    expect(leanNodes(bytes)).toEqual(fullNodes(bytes));
    expect(leanNodes(bytes)[0]).toMatchObject({ hostname: 'second', zone: 'z2' });
    expect(leanNodes(bytes)[0]?.rack).toBeUndefined();
  });

  it('keeps a label named __proto__ as a label, not as the object prototype', () => {
    const entry = protobuf.Writer.create().uint32(10).string('__proto__').uint32(18).string('x').finish();
    const topology = protobuf.Writer.create().uint32(10).bytes(entry).finish();
    const node = withField(nodeBytes({ id: 'n6' }), 20, 2, (w) => w.bytes(topology));
    const labels = decodeNodeList(list([node]))[0]?.scheduler_topology?.labels ?? {};
    expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
    expect(Object.keys(labels)).toEqual(['__proto__']);
  });

  it('refuses a truncated answer', () => {
    const bytes = nodeCodec.encode({ nodes });
    expect(() => decodeNodeList(bytes.subarray(0, bytes.length - 3))).toThrow();
  });
});

describe('decodeVolumeList', () => {
  const volumes = [
    {
      volume: {
        id: 'v1',
        source: { parent: '', seed: '' },
        readonly: false,
        locator: { name: 'pvc-1', volume_labels: { app: 'db', tier: 'gold' } },
        spec: { size: '1073741824', ha_level: '3', replica_set: { nodes: ['n1'] } },
        usage: '12345',
        status: 'VOLUME_STATUS_UP',
        state: 'VOLUME_STATE_ATTACHED',
        replica_sets: [{ nodes: ['n1', 'n2'] }, { nodes: ['n2', 'n3'] }],
      },
      name: 'pvc-1',
      labels: { app: 'db' },
    },
    // A snapshot, with no locator labels: the labels beside it stand in.
    {
      volume: { id: 'v2', source: { parent: 'v1' }, readonly: true, locator: { name: '' }, replica_sets: [] },
      name: 'snap-1',
      labels: { snap: 'yes' },
    },
    // Only an id: no locator, no spec, no source.
    { volume: { id: 'v3' } },
    // An entry without a volume is skipped by the driver.
    { name: 'orphan' },
    // A size beyond 2^32.
    { volume: { id: 'v4', spec: { size: '8796093022208' }, replica_sets: [{ nodes: ['n4'] }] } },
  ];

  it('reads every volume as the full codec does', () => {
    const bytes = volumeCodec.encode({ volumes });
    const lean = leanVolumes(bytes);
    expect(lean).toEqual(fullVolumes(bytes));
    expect(lean.map((v) => v.id)).toEqual(['v1', 'v2', 'v3', 'v4']);
    expect(lean[0]).toEqual({
      id: 'v1',
      name: 'pvc-1',
      sizeBytes: 1073741824,
      replicaNodeIds: ['n1', 'n2', 'n3'],
      labels: { app: 'db', tier: 'gold' },
    });
    expect(lean[1]).toMatchObject({ name: 'snap-1', labels: { snap: 'yes' }, parentId: 'v1' });
    expect(lean[3]?.sizeBytes).toBe(8796093022208);
  });

  it('skips fields our proto lacks, in the volume and beside it', () => {
    let entry = volumeBytes(volumes[0] ?? {});
    entry = withField(entry, 7, 0, (w) => w.uint64(1)); // an unknown field beside the volume
    entry = withField(entry, 4, 2, (w) => w.bytes(volumeBytes({ name: 'nested' })));
    const bytes = list([entry]);
    expect(leanVolumes(bytes)).toEqual(fullVolumes(bytes));
  });

  it('takes the last locator, source and spec sent twice, as the full codec does', () => {
    // One Volume message whose fields arrive twice (the bytes of two Volumes, one after the other).
    const volume = (fields: object) =>
      protobuf.Reader.create(volumeBytes({ volume: fields }))
        .skip(1)
        .bytes();
    const first = volume({
      id: 'v5',
      locator: { name: 'a', volume_labels: { x: '1' } },
      source: { parent: 'p' },
    });
    const again = volume({ locator: { volume_labels: { y: '2' } }, source: {}, spec: { size: '9' } });
    const entry = protobuf.Writer.create()
      .uint32(10)
      .bytes(Buffer.concat([first, again]))
      .finish();
    const bytes = list([entry]);
    expect(leanVolumes(bytes)).toEqual(fullVolumes(bytes));
    expect(leanVolumes(bytes)[0]).toEqual({
      id: 'v5',
      name: '',
      sizeBytes: 9,
      replicaNodeIds: [],
      labels: { y: '2' },
    });
  });

  it('refuses a truncated answer', () => {
    const bytes = volumeCodec.encode({ volumes });
    expect(() => decodeVolumeList(bytes.subarray(0, bytes.length - 2))).toThrow();
  });
});
