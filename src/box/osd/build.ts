import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userCacheDir } from '../build.js';
import { copyModule, findGo, moduleDir as goModuleDir, startGoBuild } from '../go-module.js';
import { withDirectoryLock } from '../lock.js';

/**
 * The OpenStorage module `osd` is built from. The module publishes no usable tags (v1.0.0 predates the
 * SDK, v9.x and v10.x have no matching module path), so this is a pseudo-version of its main branch,
 * the one Portworx modules of Stork's era pin. SDK API 0.182.0.
 */
export const osdModule = {
  path: 'github.com/libopenstorage/openstorage',
  version: 'v1.0.1-0.20240416193513-1e07b4359307',
} as const;

/** Where the REST gateway's `google/api/*.proto`, which `api/api.proto` imports, come from. */
const googleapisModule = 'github.com/grpc-ecosystem/grpc-gateway';

export interface OsdBinary {
  /** The `osd` executable. */
  readonly path: string;
  /** The OpenStorage module version it was built from. */
  readonly version: string;
  /** The module's directory in the Go module cache; the SDK definition is `api/api.proto` in it. */
  readonly moduleDir: string;
  /** Include directories for loading `api/api.proto`: the module itself and the googleapis it imports. */
  readonly protoIncludeDirs: readonly string[];
}

export interface OsdBuildOptions {
  /** Progress lines; a cold build takes a few minutes. */
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

interface Manifest {
  readonly module: string;
  readonly version: string;
  readonly go: string;
  readonly googleapisModuleVersion: string;
}

function cacheDir(): string {
  return join(userCacheDir(), 'stork-ts', 'osd', osdModule.version);
}

/**
 * The environment of every Go command here. The sum database has never seen this pseudo-version of
 * OpenStorage, so checksum verification is waived for that one module (GONOSUMDB); everything it
 * depends on is still verified, against the go.sum OpenStorage ships, which the build must not change.
 */
const osdGoSettings: NodeJS.ProcessEnv = {
  GOFLAGS: '-mod=readonly',
  GONOSUMDB: osdModule.path,
  GOPRIVATE: '',
  GONOPROXY: '',
};

function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', ...osdGoSettings };
}

async function readManifest(dir: string): Promise<Manifest | undefined> {
  // Written last: its presence means the binary beside it is complete.
  try {
    return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

function moduleDir(go: string, module: string, version: string, cwd: string): Promise<string> {
  return goModuleDir(go, module, version, cwd, goEnv());
}

async function resolve(dir: string, manifest: Manifest): Promise<OsdBinary> {
  // The module cache may have been cleaned since the build; downloading again is quick and verified.
  const go = findGo();
  const osdDir = await moduleDir(go, manifest.module, manifest.version, dir);
  const googleapis = await moduleDir(go, googleapisModule, manifest.googleapisModuleVersion, dir);
  return {
    path: join(dir, 'bin', 'osd'),
    version: manifest.version,
    moduleDir: osdDir,
    protoIncludeDirs: [osdDir, join(googleapis, 'third_party', 'googleapis')],
  };
}

/**
 * Returns the OpenStorage `osd` daemon (the reference SDK server, with its `fake` volume driver), building
 * it from the Go module proxy first if this version is not cached yet. A cold build takes a few minutes
 * on two cores; a warm call reads a manifest and checks the module cache.
 */
export async function ensureOsdBinary(options: OsdBuildOptions = {}): Promise<OsdBinary> {
  const dir = cacheDir();
  const cached = await readManifest(dir);
  if (cached) return resolve(dir, cached);
  await mkdir(join(dir, '..'), { recursive: true });
  return withDirectoryLock(`${dir}.lock`, options.log, async () => {
    const raced = await readManifest(dir);
    return resolve(dir, raced ?? (await build(dir, options)));
  });
}

async function build(dir: string, options: OsdBuildOptions): Promise<Manifest> {
  const log = options.log ?? ((line: string) => console.error(line));
  const scratch = await mkdtemp(join(tmpdir(), 'stork-osd-build-'));
  const staging = `${dir}.partial`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, 'bin'), { recursive: true });
  const go = startGoBuild({
    label: 'osd',
    log,
    env: osdGoSettings,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  try {
    go.say(`building osd ${osdModule.version} from the Go module proxy (a few minutes when cold)`);
    go.begin(`downloading ${osdModule.path}@${osdModule.version}`);
    const source = await moduleDir(go.go, osdModule.path, osdModule.version, scratch);

    // Build inside a copy of the module, so that its own go.mod (with its replace directives, which a
    // consumer module would ignore) and go.sum are the ones in force. A wrapper module does not work:
    // the replacement for github.com/docker/docker is a pseudo-version of moby the sum database does
    // not know either. The module zip keeps only vendor/modules.txt, so the vendor directory goes.
    go.begin('copying the module');
    const src = join(scratch, 'src');
    await copyModule(source, src);

    // `-tags daemon` is how upstream builds its mock SDK server. checklinkname=0: the pinned
    // golang.org/x/net uses //go:linkname to reach syscall.recvmsg, which Go 1.23+ refuses to link.
    go.begin('downloading dependencies and compiling cmd/osd');
    await go.run(
      src,
      'build',
      '-trimpath',
      '-tags',
      'daemon',
      '-ldflags',
      '-s -w -checklinkname=0',
      '-o',
      join(staging, 'bin', 'osd'),
      './cmd/osd',
    );
    const googleapis = JSON.parse(await go.run(src, 'list', '-m', '-json', googleapisModule)) as {
      Version: string;
    };
    const manifest: Manifest = {
      module: osdModule.path,
      version: osdModule.version,
      go: (await go.run(scratch, 'env', 'GOVERSION')).trim(),
      googleapisModuleVersion: googleapis.Version,
    };
    await writeFile(join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    go.say(`done in ${go.seconds()}s; cached in ${dir}`);
    return manifest;
  } finally {
    go.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}
