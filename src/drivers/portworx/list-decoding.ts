// The two answers the driver cache asks for on every refresh (every storage node; every volume) read
// straight from the wire into what the mapping reads. The proto's full codec builds a message object for
// each message and then a plain copy of it with every absent field filled in (proto-loader's `toObject`
// with defaults), node labels and volume states included, which the mapping then drops: at 2,000 nodes
// every 2 s and 10,000 volumes every 10 s that garbage was most of an idle stork's CPU. Here only the
// fields the mapping reads become strings; everything else (including fields newer than our proto, and
// what a real Portworx adds such as CPU and memory usage) is skipped over, as any proto3 reader does.
import protobuf from 'protobufjs';
import { openStorageDefinition, openStoragePackage } from './proto.js';
import type { NodeFields, VolumeFields } from './mapping.js';
import type { SdkStatus } from './sdk-types.js';

type Reader = protobuf.Reader;

const varint = 0;
const lengthDelimited = 2;
const key = (field: number, wireType: number): number => (field << 3) | wireType;

let statusNames: ReadonlyMap<number, SdkStatus> | undefined;

/**
 * `openstorage.api.Status` by number, from the same proto file the full codec uses. A number the proto
 * does not name stays a number, as the full codec leaves it (the mapping reads it as Unknown).
 */
function statusName(value: number): SdkStatus | number {
  statusNames ??= enumValues('Status') as ReadonlyMap<number, SdkStatus>;
  return statusNames.get(value) ?? value;
}

function enumValues(name: string): ReadonlyMap<number, string> {
  const definition = openStorageDefinition()[`${openStoragePackage}.${name}`] as
    { type?: { value?: { name: string; number: number }[] } } | undefined;
  const values = definition?.type?.value;
  if (!values) throw new Error(`enum ${name} is not in the OpenStorage proto`);
  return new Map(values.map((v) => [v.number, v.name]));
}

/** Where the length-delimited field the reader is at ends. */
function end(reader: Reader): number {
  const length = reader.uint32();
  return reader.pos + length;
}

/** One `map<string, string>` entry into `into`; an own property even for `__proto__`. */
function readEntry(reader: Reader, into: Record<string, string>): void {
  const stop = end(reader);
  let name = '';
  let value = '';
  while (reader.pos < stop) {
    const tag = reader.uint32();
    if (tag === key(1, lengthDelimited)) name = reader.string();
    else if (tag === key(2, lengthDelimited)) value = reader.string();
    else reader.skipType(tag & 7);
  }
  // Assigning `__proto__` would set the prototype instead; defining every key would be slow.
  if (name === '__proto__') {
    Object.defineProperty(into, name, { value, enumerable: true, writable: true, configurable: true });
  } else into[name] = value;
}

/** A message whose only field read is a `map<string, string>` at field 1 (SchedulerTopology). */
function readLabelsMessage(reader: Reader): Record<string, string> {
  const stop = end(reader);
  const labels: Record<string, string> = {};
  while (reader.pos < stop) {
    const tag = reader.uint32();
    if (tag === key(1, lengthDelimited)) readEntry(reader, labels);
    else reader.skipType(tag & 7);
  }
  return labels;
}

/** StorageNode: id 1, status 7, mgmt_ip 11, data_ip 12, hostname 15, scheduler_node_name 17, topology 20. */
function readNode(reader: Reader): NodeFields {
  const stop = end(reader);
  let id = '';
  let status: SdkStatus | number = statusName(0);
  let mgmtIp = '';
  let dataIp = '';
  let hostname = '';
  let schedulerNodeName = '';
  let topology: Record<string, string> | undefined;
  while (reader.pos < stop) {
    const tag = reader.uint32();
    switch (tag) {
      case key(1, lengthDelimited):
        id = reader.string();
        break;
      case key(7, varint):
        status = statusName(reader.int32());
        break;
      case key(11, lengthDelimited):
        mgmtIp = reader.string();
        break;
      case key(12, lengthDelimited):
        dataIp = reader.string();
        break;
      case key(15, lengthDelimited):
        hostname = reader.string();
        break;
      case key(17, lengthDelimited):
        schedulerNodeName = reader.string();
        break;
      case key(20, lengthDelimited):
        // Sent twice, the last one counts, as with the full codec (protobufjs replaces, not merges).
        topology = readLabelsMessage(reader);
        break;
      default:
        reader.skipType(tag & 7);
    }
  }
  return {
    id,
    status,
    mgmt_ip: mgmtIp,
    data_ip: dataIp,
    hostname,
    scheduler_node_name: schedulerNodeName,
    scheduler_topology: topology ? { labels: topology } : null,
  };
}

/** The nodes of an SdkNodeEnumerateWithFiltersResponse (field 1, repeated StorageNode). */
export function decodeNodeList(bytes: Uint8Array): NodeFields[] {
  return decodeRepeated(bytes, readNode);
}

/** The messages of a response's repeated field 1, each read by `read`; any other field is skipped. */
function decodeRepeated<T>(bytes: Uint8Array, read: (reader: Reader) => T): T[] {
  const reader = protobuf.Reader.create(bytes);
  const items: T[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === key(1, lengthDelimited)) items.push(read(reader));
    else reader.skipType(tag & 7);
  }
  return items;
}

/** A uint64 as a number (beyond 2^53 it loses precision, which a byte count can afford). */
function uint64(reader: Reader): number {
  // A Long where long.js is installed, else already a number (protobufjs chooses at load time).
  const value = reader.uint64() as unknown as number | { toNumber(): number };
  return typeof value === 'number' ? value : value.toNumber();
}

/** Volume: id 1, source 2 (parent 1), locator 5 (name 1, labels 2), spec 7 (size 2), replica_sets 19. */
function readVolume(reader: Reader): VolumeFields {
  const stop = end(reader);
  let id = '';
  let parent = '';
  let name = '';
  let labels: Record<string, string> | undefined;
  let size = 0;
  let sawLocator = false;
  let sawSource = false;
  let sawSpec = false;
  const replicaSets: { nodes: string[] }[] = [];
  while (reader.pos < stop) {
    const tag = reader.uint32();
    switch (tag) {
      case key(1, lengthDelimited):
        id = reader.string();
        break;
      case key(2, lengthDelimited): {
        sawSource = true;
        parent = '';
        const sourceEnd = end(reader);
        while (reader.pos < sourceEnd) {
          const inner = reader.uint32();
          if (inner === key(1, lengthDelimited)) parent = reader.string();
          else reader.skipType(inner & 7);
        }
        break;
      }
      case key(5, lengthDelimited): {
        sawLocator = true;
        name = '';
        labels = undefined;
        const locatorEnd = end(reader);
        while (reader.pos < locatorEnd) {
          const inner = reader.uint32();
          if (inner === key(1, lengthDelimited)) name = reader.string();
          else if (inner === key(2, lengthDelimited)) readEntry(reader, (labels ??= {}));
          else reader.skipType(inner & 7);
        }
        break;
      }
      case key(7, lengthDelimited): {
        sawSpec = true;
        size = 0;
        const specEnd = end(reader);
        while (reader.pos < specEnd) {
          const inner = reader.uint32();
          if (inner === key(2, varint)) size = uint64(reader);
          else reader.skipType(inner & 7);
        }
        break;
      }
      case key(19, lengthDelimited): {
        const setEnd = end(reader);
        const nodes: string[] = [];
        while (reader.pos < setEnd) {
          const inner = reader.uint32();
          if (inner === key(1, lengthDelimited)) nodes.push(reader.string());
          else reader.skipType(inner & 7);
        }
        replicaSets.push({ nodes });
        break;
      }
      default:
        reader.skipType(tag & 7);
    }
  }
  return {
    id,
    source: sawSource ? { parent } : null,
    locator: sawLocator ? { name, volume_labels: labels ?? {} } : null,
    spec: sawSpec ? { size } : null,
    replica_sets: replicaSets,
  };
}

/** One volume of a listing with what its Inspect answer carries beside it (name, labels). */
export interface ListedVolume {
  readonly volume: VolumeFields | null;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** SdkVolumeInspectResponse: volume 1, name 2, labels 3. */
function readInspected(reader: Reader): ListedVolume {
  const stop = end(reader);
  let volume: VolumeFields | null = null;
  let name = '';
  const labels: Record<string, string> = {};
  while (reader.pos < stop) {
    const tag = reader.uint32();
    if (tag === key(1, lengthDelimited)) volume = readVolume(reader);
    else if (tag === key(2, lengthDelimited)) name = reader.string();
    else if (tag === key(3, lengthDelimited)) readEntry(reader, labels);
    else reader.skipType(tag & 7);
  }
  return { volume, name, labels };
}

/** The volumes of an SdkVolumeInspectWithFiltersResponse (field 1, repeated SdkVolumeInspectResponse). */
export function decodeVolumeList(bytes: Uint8Array): ListedVolume[] {
  return decodeRepeated(bytes, readInspected);
}
