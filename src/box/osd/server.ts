import { randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { TcpForwarder } from '../tcp-forwarder.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { ManagedProcess } from '../process.js';
import { ensureOsdBinary, type OsdBinary } from './build.js';
import { isProcessAlive } from '../pids.js';
import { errorText } from '../../lib/errors.js';

export interface OsdOptions {
  readonly log?: (line: string) => void;
  /** The fake cluster's id; default `stork-ts-osd`. */
  readonly clusterId?: string;
  /** The one node's id; default `osd-node-0`. */
  readonly nodeId?: string;
  /** The Kubernetes node name the node reports as its scheduler node name; default the node id. */
  readonly schedulerNodeName?: string;
  /** How long to wait for the SDK to answer; default 60 s. */
  readonly readyTimeoutMs?: number;
}

/** A running `osd` with the fake driver: one node, in-memory kvdb, no auth, no TLS. */
export interface OsdServer {
  /** The OpenStorage SDK gRPC API, `127.0.0.1:PORT` (plaintext). */
  readonly sdkEndpoint: string;
  /** The legacy REST volume API (what `--mgmtport` serves), `127.0.0.1:PORT`. */
  readonly mgmtEndpoint: string;
  /** The SDK's own unix socket, which {@link sdkEndpoint} forwards to. */
  readonly sdkSocket: string;
  /** The cluster's name; the SDK reports it as `cluster.name`. */
  readonly clusterId: string;
  /** A fresh UUID; the SDK reports it as `cluster.id`, as Portworx does. */
  readonly clusterUuid: string;
  readonly nodeId: string;
  /** Its temporary directory: config, log, and what it believes are /var/lib, /run and /var/log. */
  readonly dir: string;
  readonly logFile: string;
  readonly binary: OsdBinary;
  /** Kills osd, closes the forwarders and removes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

const dirPrefix = 'stork-osd-';
/**
 * Paths osd writes to and binds sockets under (hard-coded upstream: /var/lib/osd, /run/docker/plugins,
 * /var/log/openstorage-*.log). Inside its private mount namespace each is a bind mount of a directory
 * under {@link OsdServer.dir}.
 */
const maskedDirs = ['/var/lib', '/run', '/var/log'] as const;
/** The kernel's limit for a unix socket path is 108 bytes including the terminator. */
const maxSocketPath = 107;
const idPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

// Runs inside the new namespaces, as root there, with $1 = osd, $2 = ip, $3 = mount (absolute paths:
// a user's PATH often lacks /usr/sbin). Paths are relative to the working directory, which keeps pointing
// at the temporary directory even once something is mounted over one of its ancestors.
const namespaceScript = [
  'set -e',
  // A new network namespace has only a loopback, and it starts down.
  '"$2" link set lo up',
  ...maskedDirs.map((d) => `"$3" --bind ./root${d} ${d}`),
  'exec "$1" -d -f ./osd.yaml',
].join('\n');

function findTool(name: string): string {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(
    `osd runs in its own mount and network namespace, which needs \`${name}\` (util-linux / iproute2)`,
  );
}

function osdConfig(
  clusterId: string,
  clusterUuid: string,
  nodeId: string,
  schedulerNodeName: string,
): string {
  // yaml.v2 lower-cases Go field names: ClusterId → clusterid. Values are plain ids, checked above.
  return [
    'osd:',
    '  cluster:',
    `    clusterid: "${clusterId}"`,
    `    clusteruuid: "${clusterUuid}"`,
    `    nodeid: "${nodeId}"`,
    `    schedulernodename: "${schedulerNodeName}"`,
    '    mgmtip: "127.0.0.1"',
    '    dataip: "127.0.0.1"',
    '  drivers:',
    '    fake:',
    '',
  ].join('\n');
}

/**
 * Starts the upstream OpenStorage SDK server (`osd -d` with the `fake` driver), built by
 * {@link ensureOsdBinary}, and resolves once its SDK reports the cluster up (`STATUS_OK`).
 *
 * osd binds fixed ports (gossip 9002, a fake object store on 8085) and its SDK, REST gateway and REST
 * ports on every interface, and writes under /var/lib/osd, /run/docker and /var/log. So it runs in a new
 * network namespace (only its own loopback) and a new mount namespace whose /var/lib, /run and /var/log
 * are directories of its temporary directory. Nothing reaches the host's network or filesystem, and
 * several can run at once. The SDK and legacy REST APIs, which osd also serves on unix sockets, are
 * forwarded to 127.0.0.1 ports. Needs `unshare` and `ip`, and root or unprivileged user namespaces.
 */
export async function startOsd(options: OsdOptions = {}): Promise<OsdServer> {
  const log = options.log ?? ((line: string) => console.error(line));
  const clusterId = options.clusterId ?? 'stork-ts-osd';
  const nodeId = options.nodeId ?? 'osd-node-0';
  const schedulerNodeName = options.schedulerNodeName ?? nodeId;
  for (const id of [clusterId, nodeId, schedulerNodeName]) {
    if (!idPattern.test(id)) throw new Error(`startOsd: ${JSON.stringify(id)} is not a valid id`);
  }
  if (process.platform !== 'linux') throw new Error('startOsd needs Linux namespaces');
  const [unshare, ip, mount] = ['unshare', 'ip', 'mount'].map(findTool) as [string, string, string];
  const binary = await ensureOsdBinary({ log });
  for (const masked of maskedDirs) {
    if (binary.path.startsWith(`${masked}/`)) {
      throw new Error(`the osd binary ${binary.path} is under ${masked}, which osd's namespace hides`);
    }
  }
  await reapStaleOsds(log);

  const dir = await mkdtemp(join(tmpdir(), dirPrefix));
  const sdkSocket = join(dir, 'root', 'var', 'lib', 'osd', 'driver', 'fake-sdk.sock');
  const mgmtSocket = join(dir, 'root', 'var', 'lib', 'osd', 'driver', 'fake.sock');
  if (sdkSocket.length > maxSocketPath) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`the temporary directory ${dir} is too long for a unix socket path under it`);
  }
  await Promise.all(maskedDirs.map((d) => mkdir(join(dir, 'root', d), { recursive: true })));
  const clusterUuid = randomUUID();
  await writeFile(join(dir, 'osd.yaml'), osdConfig(clusterId, clusterUuid, nodeId, schedulerNodeName));
  await writeFile(join(dir, 'owner.pid'), String(process.pid));
  const logFile = join(dir, 'osd.log');

  const userns = process.getuid?.() === 0 ? [] : ['--user', '--map-root-user'];
  const osd = new ManagedProcess({
    name: 'osd',
    command: unshare,
    // unshare and sh both exec, so the pid is osd's own.
    args: [
      ...userns,
      '--mount',
      '--net',
      '--propagation',
      'private',
      'sh',
      '-c',
      namespaceScript,
      'osd',
      binary.path,
      ip,
      mount,
    ],
    logFile,
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: dir,
      // Its packr dependency runs `go env GOPATH` at start-up unless GOPATH is set.
      GOPATH: join(dir, 'gopath'),
    },
  });
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  process.on('exit', removeDir);
  if (osd.pid !== undefined) await writeFile(join(dir, 'osd.pid'), String(osd.pid));

  const forwarders: TcpForwarder[] = [];
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await Promise.all(forwarders.map((f) => f.stop()));
      await osd.stop();
      process.off('exit', removeDir);
      await rm(dir, { recursive: true, force: true });
    })());

  try {
    // TCP listeners on 127.0.0.1 that forward to osd's unix sockets.
    for (const path of [sdkSocket, mgmtSocket])
      forwarders.push(await TcpForwarder.start({ host: '127.0.0.1', port: 0, target: { path } }));
    const [sdk, mgmt] = forwarders;
    if (!sdk || !mgmt) throw new Error('forwarders missing');
    const sdkEndpoint = `127.0.0.1:${sdk.port}`;
    await waitUntilServing(sdkEndpoint, osd, options.readyTimeoutMs ?? 60_000);
    log(`[osd] ${binary.version} serving the SDK on ${sdkEndpoint} (pid ${osd.pid ?? '?'}, ${dir})`);
    return {
      sdkEndpoint,
      mgmtEndpoint: `127.0.0.1:${mgmt.port}`,
      sdkSocket,
      clusterId,
      clusterUuid,
      nodeId,
      dir,
      logFile,
      binary,
      stop,
    };
  } catch (error) {
    const tail = await osd.logTail(40);
    await stop();
    throw new Error(`osd did not come up: ${errorText(error)}\n--- osd log ---\n${tail}`, {
      cause: error,
    });
  }
}

/** `openstorage.api.Status.STATUS_OK`. */
const statusOk = 2;

/**
 * Polls OpenStorageCluster/InspectCurrent through the forwarder until the cluster is up: osd serves the
 * SDK a few seconds before its one node reaches quorum. The request is an empty message, and the answer
 * is read with protobufjs's wire reader, so no .proto is needed here.
 */
async function waitUntilServing(endpoint: string, osd: ManagedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const client = new grpc.Client(endpoint, grpc.credentials.createInsecure());
  let last = 'no answer yet';
  try {
    while (Date.now() < deadline) {
      if (!osd.running) {
        const exit = await osd.exited;
        throw new Error(`osd exited (code ${exit.code ?? 'none'}, signal ${exit.signal ?? 'none'})`);
      }
      const answer = await new Promise<Buffer | Error>((resolve) => {
        client.makeUnaryRequest(
          '/openstorage.api.OpenStorageCluster/InspectCurrent',
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.alloc(0),
          { deadline: Date.now() + 2000 },
          (error, value) => resolve(error ?? value ?? Buffer.alloc(0)),
        );
      });
      if (answer instanceof Error) {
        last = answer.message;
      } else {
        const status = clusterStatus(answer);
        if (status === statusOk) return;
        last = `cluster status ${status ?? 'missing'}`;
      }
      await sleep(250);
    }
    throw new Error(`the SDK on ${endpoint} was not ready within ${timeoutMs} ms (${last})`);
  } finally {
    client.close();
  }
}

/**
 * The `cluster.status` of an SdkClusterInspectCurrentResponse: field 1 (StorageCluster cluster), whose
 * field 1 is the Status enum. A proto3 zero value is absent from the wire, hence the default of 0.
 */
export function clusterStatus(bytes: Uint8Array): number | undefined {
  const outer = protobuf.Reader.create(bytes);
  while (outer.pos < outer.len) {
    const tag = outer.uint32();
    if (tag === ((1 << 3) | 2)) {
      const inner = protobuf.Reader.create(outer.bytes());
      while (inner.pos < inner.len) {
        const innerTag = inner.uint32();
        if (innerTag === ((1 << 3) | 0)) return inner.int32();
        inner.skipType(innerTag & 7);
      }
      return 0;
    }
    outer.skipType(tag & 7);
  }
  return undefined;
}

/**
 * Kills osd processes left behind by a test process that was killed too hard to stop them, and removes
 * their directories. A pid is killed only if its working directory is still that osd's directory.
 */
async function reapStaleOsds(log: (line: string) => void): Promise<void> {
  const root = tmpdir();
  for (const entry of await readdir(root).catch(() => [] as string[])) {
    if (!entry.startsWith(dirPrefix) || entry.startsWith('stork-osd-build-')) continue;
    const dir = join(root, entry);
    // No owner.pid yet means it is being set up right now.
    const owner = Number(await readFile(join(dir, 'owner.pid'), 'utf8').catch(() => '0'));
    if (!(owner > 0) || isProcessAlive(owner)) continue;
    const pid = Number(await readFile(join(dir, 'osd.pid'), 'utf8').catch(() => '0'));
    if (pid > 0 && (await readlink(`/proc/${pid}/cwd`).catch(() => '')) === dir) {
      try {
        process.kill(pid, 'SIGKILL');
        log(`[osd] killed osd ${pid}, left behind by process ${owner} (${dir})`);
      } catch {
        // Gone in the meantime.
      }
    }
    await rm(dir, { recursive: true, force: true });
  }
}
