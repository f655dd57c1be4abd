import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userCacheDir } from '../build.js';
import { copyModule, moduleDir, startGoBuild } from '../go-module.js';
import { withDirectoryLock } from '../lock.js';
import { csiVersions } from '../versions.js';

const provisionerModule = 'github.com/kubernetes-csi/external-provisioner/v6';
const snapshotterModule = 'github.com/kubernetes-csi/external-snapshotter/v8';
const snapshotClientModule = 'github.com/kubernetes-csi/external-snapshotter/client/v8';
const specModule = 'github.com/container-storage-interface/spec';

/**
 * The box's CSI parts come in two cached halves, so a test pays only for what it uses: the provisioner
 * (with `csi.proto` for the box's plugins) and the snapshotter (csi-snapshotter, snapshot-controller and
 * the snapshot CRDs).
 */
export type CsiPart = 'provisioner' | 'snapshotter';

/** The upstream CSI sidecars and controllers the box runs, and the files that come with them. */
export interface CsiProvisionerBinaries {
  readonly dir: string;
  readonly csiProvisioner: string;
  /** `csi.proto` of the CSI spec module. */
  readonly csiProto: string;
  readonly manifest: CsiManifest;
}

export interface CsiSnapshotterBinaries {
  readonly dir: string;
  readonly csiSnapshotter: string;
  readonly snapshotController: string;
  /** The snapshot and group-snapshot CRDs (VolumeGroupSnapshot v1 included) of the client module. */
  readonly crdDir: string;
  readonly manifest: CsiManifest;
}

export interface CsiManifest {
  readonly part: CsiPart;
  readonly module: string;
  readonly version: string;
  readonly go: string;
  /** Seconds the build took on the machine that built it (docs/box.md quotes them). */
  readonly seconds: number;
}

export interface CsiBuildOptions {
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

function cacheDir(part: CsiPart): string {
  const v = csiVersions;
  const name =
    part === 'provisioner'
      ? `external-provisioner-v${v.externalProvisioner}-spec-v${v.csiSpec}`
      : `external-snapshotter-v${v.externalSnapshotter}`;
  return join(userCacheDir(), 'stork-ts', 'csi', name);
}

async function readManifest(dir: string): Promise<CsiManifest | undefined> {
  // Written last: its presence means everything beside it is complete.
  try {
    return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as CsiManifest;
  } catch {
    return undefined;
  }
}

/**
 * The CSI provisioner (and `csi.proto`), built from the Go module proxy on first use and cached under the
 * user's cache directory. Only tests that start a box with CSI storage call this.
 */
export async function ensureCsiProvisioner(options: CsiBuildOptions = {}): Promise<CsiProvisionerBinaries> {
  const dir = await ensurePart('provisioner', options);
  return {
    dir,
    csiProvisioner: join(dir, 'bin', 'csi-provisioner'),
    csiProto: join(dir, 'csi.proto'),
    manifest: (await readManifest(dir)) as CsiManifest,
  };
}

/** The snapshot sidecar, controller and CRDs, built on first use (only tests of CSI snapshots ask). */
export async function ensureCsiSnapshotter(options: CsiBuildOptions = {}): Promise<CsiSnapshotterBinaries> {
  const dir = await ensurePart('snapshotter', options);
  return {
    dir,
    csiSnapshotter: join(dir, 'bin', 'csi-snapshotter'),
    snapshotController: join(dir, 'bin', 'snapshot-controller'),
    crdDir: join(dir, 'crds'),
    manifest: (await readManifest(dir)) as CsiManifest,
  };
}

async function ensurePart(part: CsiPart, options: CsiBuildOptions): Promise<string> {
  const dir = cacheDir(part);
  if (await readManifest(dir)) return dir;
  await mkdir(join(dir, '..'), { recursive: true });
  return withDirectoryLock(`${dir}.lock`, options.log, async () => {
    if (!(await readManifest(dir))) await build(part, dir, options);
    return dir;
  });
}

async function build(part: CsiPart, dir: string, options: CsiBuildOptions): Promise<void> {
  const log = options.log ?? ((line: string) => console.error(line));
  const scratch = await mkdtemp(join(tmpdir(), 'stork-csi-build-'));
  const staging = `${dir}.partial`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, 'bin'), { recursive: true });
  const {
    go,
    env,
    begin,
    run: goRun,
    seconds: elapsed,
    stop,
  } = startGoBuild({ label: 'csi', log, ...(options.signal ? { signal: options.signal } : {}) });
  const v = csiVersions;
  try {
    let module: string;
    let version: string;
    if (part === 'provisioner') {
      module = provisionerModule;
      version = v.externalProvisioner;
      begin(`building csi-provisioner v${version} (several minutes when cold)`);
      const src = join(scratch, 'external-provisioner');
      await copyModule(await moduleDir(go, module, `v${version}`, scratch, env), src);
      await goRun(
        src,
        'build',
        '-trimpath',
        '-ldflags',
        `-s -w -X main.version=v${version}`,
        '-o',
        join(staging, 'bin', 'csi-provisioner'),
        './cmd/csi-provisioner',
      );
      const spec = await moduleDir(go, specModule, `v${v.csiSpec}`, scratch, env);
      await copyFile(join(spec, 'csi.proto'), join(staging, 'csi.proto'));
    } else {
      module = snapshotterModule;
      version = v.externalSnapshotter;
      begin(`building csi-snapshotter and snapshot-controller v${version} (several minutes when cold)`);
      const src = join(scratch, 'external-snapshotter');
      await copyModule(await moduleDir(go, module, `v${version}`, scratch, env), src);
      // The module replaces its client module with `./client`, a nested module that its zip leaves out;
      // the published client module of the same version is that directory.
      await goRun(src, 'mod', 'edit', `-replace=${snapshotClientModule}=${snapshotClientModule}@v${version}`);
      await goRun(
        src,
        'build',
        '-trimpath',
        '-ldflags',
        `-s -w -X main.version=v${version}`,
        '-o',
        join(staging, 'bin') + '/',
        './cmd/csi-snapshotter',
        './cmd/snapshot-controller',
      );
      const client = await moduleDir(go, snapshotClientModule, `v${version}`, scratch, env);
      await mkdir(join(staging, 'crds'));
      for (const file of await readdir(join(client, 'config', 'crd'))) {
        if (!file.endsWith('.yaml') || file === 'kustomization.yaml') continue;
        await copyFile(join(client, 'config', 'crd', file), join(staging, 'crds', file));
      }
    }
    const manifest: CsiManifest = {
      part,
      module,
      version,
      go: (await goRun(scratch, 'env', 'GOVERSION')).trim(),
      seconds: elapsed(),
    };
    await writeFile(join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    log(`[csi build] ${part} done in ${elapsed()}s; cached in ${dir}`);
  } finally {
    stop();
    await rm(scratch, { recursive: true, force: true });
  }
}
