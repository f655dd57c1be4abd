import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGoBuild } from './go-module.js';
import { withDirectoryLock } from './lock.js';
import { boxVersions } from './versions.js';

/** Paths of the upstream programs the box runs, all built from the Go module proxy. */
export interface BoxBinaries {
  readonly dir: string;
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
  readonly kubectl: string;
  readonly kwok: string;
  /** KWOK's stage definitions (node-initialize, heartbeats, pod lifecycle), copied from its module. */
  readonly stagesDir: string;
  readonly versions: { readonly kubernetes: string; readonly etcd: string; readonly kwok: string };
}

export interface BuildOptions {
  /** Progress lines; a cold build takes many minutes and should never look hung. */
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** The user's cache directory (XDG), where expensive artefacts survive between runs and CI jobs. */
export function userCacheDir(): string {
  return process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
}

function cacheDirFor(kubernetes: string, kwok: string): string {
  return join(userCacheDir(), 'stork-ts', 'box', `k8s-v${kubernetes}-kwok-v${kwok}`);
}

const k8sCommands = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'] as const;
const kwokStages = [
  'node/fast/node-initialize.yaml',
  'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
  'pod/fast/pod-ready.yaml',
  'pod/fast/pod-complete.yaml',
  'pod/fast/pod-delete.yaml',
] as const;

function binariesIn(dir: string, versions: BoxBinaries['versions']): BoxBinaries {
  const bin = join(dir, 'bin');
  return {
    dir,
    etcd: join(bin, 'etcd'),
    kubeApiserver: join(bin, 'kube-apiserver'),
    kubeControllerManager: join(bin, 'kube-controller-manager'),
    kubeScheduler: join(bin, 'kube-scheduler'),
    kubectl: join(bin, 'kubectl'),
    kwok: join(bin, 'kwok'),
    stagesDir: join(dir, 'stages'),
    versions,
  };
}

async function readManifest(dir: string): Promise<BoxBinaries['versions'] | undefined> {
  // The manifest is written last, so its presence means every binary in the directory is complete.
  try {
    return JSON.parse(await readFile(join(dir, 'versions.json'), 'utf8')) as BoxBinaries['versions'];
  } catch {
    return undefined;
  }
}

/**
 * Returns the box's binaries, building them first if this version is not cached yet. A cold build runs
 * `go build` on Kubernetes itself (15–25 minutes on two cores); a warm call only reads a manifest.
 */
export async function ensureBoxBinaries(options: BuildOptions = {}): Promise<BoxBinaries> {
  const { kubernetes, kwok } = boxVersions;
  const dir = cacheDirFor(kubernetes, kwok);
  const cached = await readManifest(dir);
  if (cached) return binariesIn(dir, cached);
  await mkdir(join(dir, '..'), { recursive: true });
  return withDirectoryLock(`${dir}.lock`, options.log, async () => {
    const raced = await readManifest(dir);
    if (raced) return binariesIn(dir, raced);
    return build(dir, options);
  });
}

async function build(dir: string, options: BuildOptions): Promise<BoxBinaries> {
  const log = options.log ?? ((line: string) => console.error(line));
  const { kubernetes, kwok } = boxVersions;
  const scratch = await mkdtemp(join(tmpdir(), 'stork-box-build-'));
  const staging = `${dir}.partial`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, 'bin'), { recursive: true });
  await mkdir(join(staging, 'stages'), { recursive: true });
  const go = startGoBuild({ label: 'box', log, ...(options.signal ? { signal: options.signal } : {}) });
  try {
    go.say(`building Kubernetes v${kubernetes}, etcd and KWOK v${kwok} from the Go module proxy`);
    go.say('a cold build takes 15–25 minutes on two cores; the result is cached for later runs');

    go.begin('resolving the Kubernetes module');
    const k8sDir = join(scratch, 'k8s');
    const cmds = k8sCommands.map((c) => `k8s.io/kubernetes/cmd/${c}`);
    const k8sGoMod = await kubernetesWrapperModule(k8sDir, kubernetes, go.run, (s) => go.begin(s), cmds);
    const etcdVersion = requiredVersion(k8sGoMod, 'go.etcd.io/etcd/client/v3');
    const ldflags = kubernetesLdflags(kubernetes);
    go.begin(`compiling ${k8sCommands.join(', ')}`, ' (the long part)');
    await go.run(
      k8sDir,
      'build',
      '-trimpath',
      '-ldflags',
      ldflags,
      '-o',
      join(staging, 'bin') + '/',
      ...cmds,
    );

    go.begin(`building etcd ${etcdVersion}`, ` (the version Kubernetes v${kubernetes} pins)`);
    const etcdDir = join(scratch, 'etcd');
    await mkdir(etcdDir);
    await go.run(etcdDir, 'mod', 'init', 'local/box-etcd');
    await go.run(etcdDir, 'get', '-tool', `go.etcd.io/etcd/server/v3@${etcdVersion}`);
    await go.run(
      etcdDir,
      'build',
      '-trimpath',
      '-ldflags',
      '-s -w',
      '-o',
      join(staging, 'bin', 'etcd'),
      'go.etcd.io/etcd/server/v3',
    );

    go.begin(`building KWOK v${kwok}`);
    await go.runWith(
      { GOBIN: join(staging, 'bin'), GOFLAGS: '' },
      scratch,
      'install',
      '-trimpath',
      '-ldflags',
      '-s -w',
      `sigs.k8s.io/kwok/cmd/kwok@v${kwok}`,
    );
    const kwokModule = JSON.parse(
      await go.run(scratch, 'mod', 'download', '-json', `sigs.k8s.io/kwok@v${kwok}`),
    ) as {
      Dir: string;
    };
    for (const stage of kwokStages) {
      await copyFile(
        join(kwokModule.Dir, 'kustomize', 'stage', stage),
        join(staging, 'stages', stage.split('/').pop() ?? stage),
      );
    }

    const versions = { kubernetes, etcd: etcdVersion.replace(/^v/, ''), kwok };
    await writeFile(join(staging, 'versions.json'), JSON.stringify(versions, null, 2) + '\n');
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    go.say(`done in ${go.seconds()}s; cached in ${dir}`);
    return binariesIn(dir, versions);
  } finally {
    go.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * A module in `dir` that builds commands of `k8s.io/kubernetes` at `kubernetes`: k8s.io/kubernetes maps its
 * staging modules with local replace directives, which a consumer's build ignores, so each is pinned to
 * the matching published version. The list is read, never hard-coded, because it changes between
 * releases. Returns Kubernetes' own go.mod.
 */
export async function kubernetesWrapperModule(
  dir: string,
  kubernetes: string,
  goRun: (cwd: string, ...args: string[]) => Promise<string>,
  progress: (step: string) => void,
  commands: readonly string[],
): Promise<string> {
  await mkdir(dir, { recursive: true });
  await goRun(dir, 'mod', 'init', 'local/box-kubernetes');
  const download = JSON.parse(
    await goRun(dir, 'mod', 'download', '-json', `k8s.io/kubernetes@v${kubernetes}`),
  ) as { GoMod: string };
  const goMod = await readFile(download.GoMod, 'utf8');
  const modules = stagingModules(goMod);
  const stagingVersion = `v0.${kubernetes.slice(kubernetes.indexOf('.') + 1)}`;
  for (const module of modules) {
    await goRun(dir, 'mod', 'edit', `-replace=${module}=${module}@${stagingVersion}`);
  }
  progress(
    `downloading the modules of Kubernetes v${kubernetes} (${modules.length} staging modules pinned at ${stagingVersion})`,
  );
  await goRun(dir, 'get', '-tool', ...commands.map((c) => `${c}@v${kubernetes}`));
  return goMod;
}

/** The version stamp an official Kubernetes build carries, so `--version` and the API report it. */
export function kubernetesLdflags(kubernetes: string): string {
  const minor = kubernetes.split('.')[1] ?? '0';
  return [
    '-s -w',
    `-X k8s.io/component-base/version.gitVersion=v${kubernetes}`,
    '-X k8s.io/component-base/version.gitMajor=1',
    `-X k8s.io/component-base/version.gitMinor=${minor}`,
    '-X k8s.io/component-base/version.gitTreeState=clean',
  ].join(' ');
}

/** Modules that k8s.io/kubernetes's go.mod maps to ./staging/src/... */
export function stagingModules(goMod: string): string[] {
  const modules = new Set<string>();
  for (const match of goMod.matchAll(
    /^\s*(?:replace\s+)?(k8s\.io\/[A-Za-z0-9._-]+)\s*=>\s*\.\/staging\//gm,
  )) {
    if (match[1]) modules.add(match[1]);
  }
  return [...modules].sort();
}

/** The version a go.mod requires of a module. */
export function requiredVersion(goMod: string, module: string): string {
  const escaped = module.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const match = new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v[^\\s]+)`, 'm').exec(goMod);
  if (!match?.[1]) throw new Error(`go.mod does not require ${module}`);
  return match[1];
}
