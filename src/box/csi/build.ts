import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userCacheDir } from '../build.js';
import { runCommand } from '../command.js';
import { copyModule, findGo, moduleDir } from '../go-module.js';
import { withDirectoryLock } from '../lock.js';
import { csiVersions } from '../versions.js';

const provisionerModule = 'github.com/kubernetes-csi/external-provisioner/v6';
const snapshotterModule = 'github.com/kubernetes-csi/external-snapshotter/v8';
const snapshotClientModule = 'github.com/kubernetes-csi/external-snapshotter/client/v8';
const specModule = 'github.com/container-storage-interface/spec';

/** The upstream CSI sidecars and controllers the box runs, and the files that come with them. */
export interface CsiBinaries {
  readonly dir: string;
  readonly csiProvisioner: string;
  readonly csiSnapshotter: string;
  readonly snapshotController: string;
  /** The snapshot and group-snapshot CRDs of the snapshotter's client module (`*.yaml`). */
  readonly crdDir: string;
  /** `csi.proto` of the CSI spec module. */
  readonly csiProto: string;
  readonly manifest: CsiManifest;
}

export interface CsiManifest {
  readonly externalProvisioner: string;
  readonly externalSnapshotter: string;
  readonly csiSpec: string;
  readonly go: string;
  /** Seconds each step took on the machine that built it (docs/box.md quotes them). */
  readonly seconds: Readonly<Record<string, number>>;
}

export interface CsiBuildOptions {
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

const quietGoLine = /^go: (downloading|added|finding|extracting) /;

function cacheDir(): string {
  const v = csiVersions;
  return join(
    userCacheDir(),
    'stork-ts',
    'csi',
    `provisioner-v${v.externalProvisioner}-snapshotter-v${v.externalSnapshotter}-spec-v${v.csiSpec}`,
  );
}

function binariesIn(dir: string, manifest: CsiManifest): CsiBinaries {
  const bin = join(dir, 'bin');
  return {
    dir,
    csiProvisioner: join(bin, 'csi-provisioner'),
    csiSnapshotter: join(bin, 'csi-snapshotter'),
    snapshotController: join(bin, 'snapshot-controller'),
    crdDir: join(dir, 'crds'),
    csiProto: join(dir, 'csi.proto'),
    manifest,
  };
}

async function readManifest(dir: string): Promise<CsiManifest | undefined> {
  // Written last: its presence means everything beside it is complete.
  try {
    return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as CsiManifest;
  } catch {
    return undefined;
  }
}

function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-mod=mod' };
}

/**
 * The box's CSI parts, built from the Go module proxy on first use and cached under the user's cache
 * directory. Only tests that start a box with CSI storage call this, so no other test pays for it.
 */
export async function ensureCsiBinaries(options: CsiBuildOptions = {}): Promise<CsiBinaries> {
  const dir = cacheDir();
  const cached = await readManifest(dir);
  if (cached) return binariesIn(dir, cached);
  await mkdir(join(dir, '..'), { recursive: true });
  return withDirectoryLock(`${dir}.lock`, options.log, async () => {
    const raced = await readManifest(dir);
    return binariesIn(dir, raced ?? (await build(dir, options)));
  });
}

async function build(dir: string, options: CsiBuildOptions): Promise<CsiManifest> {
  const log = options.log ?? ((line: string) => console.error(line));
  const go = findGo();
  const env = goEnv();
  const started = Date.now();
  let stepStarted = started;
  const seconds: Record<string, number> = {};
  let step = 'preparing';
  const heartbeat = setInterval(
    () => log(`[csi build] still ${step} (${Math.round((Date.now() - started) / 1000)}s so far)`),
    30_000,
  );
  const begin = (name: string): void => {
    seconds[step] = Math.round((Date.now() - stepStarted) / 1000);
    step = name;
    stepStarted = Date.now();
    log(`[csi build] ${name}`);
  };
  const scratch = await mkdtemp(join(tmpdir(), 'stork-csi-build-'));
  const staging = `${dir}.partial`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, 'bin'), { recursive: true });
  await mkdir(join(staging, 'crds'), { recursive: true });
  const goRun = (cwd: string, ...args: string[]): Promise<string> =>
    runCommand(go, args, {
      cwd,
      env,
      onLine: (line) => {
        if (!quietGoLine.test(line)) log(`[csi build]   ${line}`);
      },
      ...(options.signal ? { signal: options.signal } : {}),
    });
  const v = csiVersions;
  try {
    log('[csi build] building the CSI sidecars from the Go module proxy (several minutes when cold)');

    begin(`building csi-provisioner v${v.externalProvisioner}`);
    const provisionerSrc = join(scratch, 'external-provisioner');
    await copyModule(
      await moduleDir(go, provisionerModule, `v${v.externalProvisioner}`, scratch, env),
      provisionerSrc,
    );
    await goRun(
      provisionerSrc,
      'build',
      '-trimpath',
      '-ldflags',
      `-s -w -X main.version=v${v.externalProvisioner}`,
      '-o',
      join(staging, 'bin', 'csi-provisioner'),
      './cmd/csi-provisioner',
    );

    begin(`building csi-snapshotter and snapshot-controller v${v.externalSnapshotter}`);
    const snapshotterSrc = join(scratch, 'external-snapshotter');
    await copyModule(
      await moduleDir(go, snapshotterModule, `v${v.externalSnapshotter}`, scratch, env),
      snapshotterSrc,
    );
    // The module replaces its client module with `./client`, a nested module that its zip leaves out;
    // the published client module of the same version is that directory.
    await goRun(
      snapshotterSrc,
      'mod',
      'edit',
      `-replace=${snapshotClientModule}=${snapshotClientModule}@v${v.externalSnapshotter}`,
    );
    await goRun(
      snapshotterSrc,
      'build',
      '-trimpath',
      '-ldflags',
      `-s -w -X main.version=v${v.externalSnapshotter}`,
      '-o',
      join(staging, 'bin') + '/',
      './cmd/csi-snapshotter',
      './cmd/snapshot-controller',
    );

    begin('copying the snapshot CRDs and csi.proto');
    const client = await moduleDir(go, snapshotClientModule, `v${v.externalSnapshotter}`, scratch, env);
    for (const file of await readdir(join(client, 'config', 'crd'))) {
      if (!file.endsWith('.yaml') || file === 'kustomization.yaml') continue;
      await copyFile(join(client, 'config', 'crd', file), join(staging, 'crds', file));
    }
    const spec = await moduleDir(go, specModule, `v${v.csiSpec}`, scratch, env);
    await copyFile(join(spec, 'csi.proto'), join(staging, 'csi.proto'));
    begin('done');

    const manifest: CsiManifest = {
      externalProvisioner: v.externalProvisioner,
      externalSnapshotter: v.externalSnapshotter,
      csiSpec: v.csiSpec,
      go: (await goRun(scratch, 'env', 'GOVERSION')).trim(),
      seconds,
    };
    await writeFile(join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    log(`[csi build] done in ${Math.round((Date.now() - started) / 1000)}s; cached in ${dir}`);
    return manifest;
  } finally {
    clearInterval(heartbeat);
    await rm(scratch, { recursive: true, force: true });
  }
}
