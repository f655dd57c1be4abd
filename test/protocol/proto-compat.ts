// Compares our subset of a .proto (proto/openstorage/api.proto) with the upstream definition it was
// written from, to prove wire compatibility: whatever we kept must mean the same bytes on the wire.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import protobuf from 'protobufjs';
import type { Enum, Field, MapField, Namespace, ReflectionObject, Root, Service, Type } from 'protobufjs';

/**
 * Loads a .proto file into a resolved protobufjs Root. Imports under `google/api/` (the REST gateway's
 * http annotations, which upstream imports) are skipped: protobufjs cannot find them without the
 * googleapis files, and they only define method options, which carry no wire meaning. protobufjs keeps
 * such options as plain key/value pairs without resolving them, so skipping the file is harmless;
 * google/protobuf/* imports (Timestamp) are bundled with protobufjs and still resolve.
 */
export function loadProto(file: string): Root {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) =>
    target.startsWith('google/api/') ? null : protobuf.util.path.resolve(origin, target);
  root.loadSync(file, { keepCase: true });
  root.resolveAll();
  return root;
}

/** The `package` statement of a .proto source. */
export function protoPackage(source: string): string | undefined {
  return protobuf.parse(source, { keepCase: true }).package;
}

/** Go, from PATH or its usual install location; the project needs it anyway (the box builds with it). */
export function findGo(): string {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'go'))) return join(dir, 'go');
  }
  if (existsSync('/usr/local/go/bin/go')) return '/usr/local/go/bin/go';
  throw new Error('Go not found on PATH nor at /usr/local/go/bin/go; the protocol test needs it');
}

/**
 * Downloads a module through the Go module proxy (or takes it from the module cache) and returns its
 * directory. Runs in the temp directory so that no go.mod around the caller is consulted.
 */
export function goModuleDir(modulePath: string, version: string): string {
  const out = execFileSync(findGo(), ['mod', 'download', '-json', `${modulePath}@${version}`], {
    cwd: tmpdir(),
    env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000,
  });
  const info = JSON.parse(out) as { Dir?: string; Error?: string };
  if (info.Error) throw new Error(`go mod download ${modulePath}@${version}: ${info.Error}`);
  if (!info.Dir) throw new Error(`go mod download ${modulePath}@${version} printed no Dir: ${out}`);
  return info.Dir;
}

export function readText(file: string): string {
  return readFileSync(file, 'utf8');
}

function isType(o: ReflectionObject): o is Type {
  return o instanceof protobuf.Type;
}
function isEnum(o: ReflectionObject): o is Enum {
  return o instanceof protobuf.Enum;
}
function isService(o: ReflectionObject): o is Service {
  return o instanceof protobuf.Service;
}
function isNamespace(o: ReflectionObject): o is Namespace {
  return o instanceof protobuf.Namespace;
}
function isMapField(f: Field): f is Field & MapField {
  return f instanceof protobuf.MapField;
}

/** Every object nested under a namespace, depth first (messages, enums, services, nested types). */
function allNested(ns: Namespace): ReflectionObject[] {
  const out: ReflectionObject[] = [];
  for (const child of ns.nestedArray) {
    out.push(child);
    if (isNamespace(child)) out.push(...allNested(child));
  }
  return out;
}

/** How a field looks on the wire: its type (fully qualified for messages and enums), rule and map key. */
function fieldShape(f: Field): string {
  const type = f.resolvedType ? f.resolvedType.fullName : f.type;
  if (isMapField(f)) return `map<${f.keyType}, ${type}>`;
  return `${f.repeated ? 'repeated ' : ''}${type}`;
}

function compareEnum(ours: Enum, theirs: Enum): string[] {
  const problems: string[] = [];
  for (const [name, number] of Object.entries(ours.values)) {
    const upstream = theirs.values[name];
    if (upstream === undefined) problems.push(`enum ${ours.fullName}: value ${name} does not exist upstream`);
    else if (upstream !== number)
      problems.push(`enum ${ours.fullName}: value ${name} is ${number}, upstream ${upstream}`);
  }
  // A value we lack would reach us as a bare number instead of its name, and the driver maps by name.
  for (const name of Object.keys(theirs.values)) {
    if (!(name in ours.values)) problems.push(`enum ${ours.fullName}: lacks upstream value ${name}`);
  }
  return problems;
}

function compareType(ours: Type, theirs: Type): string[] {
  const problems: string[] = [];
  for (const field of ours.fieldsArray) {
    const where = `message ${ours.fullName} field ${field.name}`;
    const upstream = theirs.fields[field.name];
    if (!upstream) {
      problems.push(`${where} does not exist upstream`);
      continue;
    }
    if (upstream.id !== field.id) problems.push(`${where} has number ${field.id}, upstream ${upstream.id}`);
    if (fieldShape(upstream) !== fieldShape(field))
      problems.push(`${where} is ${fieldShape(field)}, upstream ${fieldShape(upstream)}`);
  }
  return problems;
}

function compareService(ours: Service, theirs: Service): string[] {
  const problems: string[] = [];
  for (const method of ours.methodsArray) {
    const where = `service ${ours.fullName} method ${method.name}`;
    const upstream = theirs.methods[method.name];
    if (!upstream) {
      problems.push(`${where} does not exist upstream`);
      continue;
    }
    const shape = (m: typeof method) =>
      `(${m.requestStream ? 'stream ' : ''}${m.resolvedRequestType?.fullName ?? m.requestType}) returns ` +
      `(${m.responseStream ? 'stream ' : ''}${m.resolvedResponseType?.fullName ?? m.responseType})`;
    if (shape(method) !== shape(upstream))
      problems.push(`${where} is ${shape(method)}, upstream ${shape(upstream)}`);
  }
  return problems;
}

/**
 * Every way in which `ours` is not a faithful subset of `upstream` under `pkg`, one line each, naming
 * the message, field, enum value or method; empty when compatible.
 */
export function compareProtos(ours: Root, upstream: Root, pkg: string): string[] {
  const ourPackage = ours.lookup(pkg);
  if (!ourPackage || !isNamespace(ourPackage)) return [`our file has no package ${pkg}`];
  const problems: string[] = [];
  // Definitions outside the package would escape the checks below; google.protobuf is upstream's too.
  for (const top of ours.nestedArray) {
    if (top.name !== pkg.split('.')[0] && top.name !== 'google')
      problems.push(`our file defines ${top.fullName} outside package ${pkg}`);
  }
  for (const object of allNested(ourPackage)) {
    const theirs = upstream.lookup(object.fullName);
    const kind = isType(object) ? 'message' : isEnum(object) ? 'enum' : isService(object) ? 'service' : '';
    if (!kind) continue;
    if (!theirs) {
      problems.push(`${kind} ${object.fullName} does not exist upstream`);
    } else if (isType(object)) {
      problems.push(
        ...(isType(theirs) ? compareType(object, theirs) : [`${object.fullName} is not a message upstream`]),
      );
    } else if (isEnum(object)) {
      problems.push(
        ...(isEnum(theirs) ? compareEnum(object, theirs) : [`${object.fullName} is not an enum upstream`]),
      );
    } else if (isService(object)) {
      problems.push(
        ...(isService(theirs)
          ? compareService(object, theirs)
          : [`${object.fullName} is not a service upstream`]),
      );
    }
  }
  return problems;
}
