import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubernetesLdflags, kubernetesWrapperModule, userCacheDir } from '../build.js';
import { runCommand } from '../command.js';
import { findGo } from '../go-module.js';
import { withDirectoryLock } from '../lock.js';
import { boxVersions } from '../versions.js';

/** What a real node of the box runs besides containerd and runc (Debian's): built from the box's Kubernetes. */
export interface NodeBinaries {
  readonly dir: string;
  readonly kubelet: string;
  readonly kubeProxy: string;
  /** The pause program of the pod sandboxes, from `build/pause/linux/pause.c` of the same module. */
  readonly pause: string;
  readonly manifest: { readonly kubernetes: string; readonly seconds: number };
}

const quietGoLine = /^go: (downloading|added|creating new go\.mod|finding|upgraded|found) /;

function binariesIn(dir: string, manifest: NodeBinaries['manifest']): NodeBinaries {
  return {
    dir,
    kubelet: join(dir, 'bin', 'kubelet'),
    kubeProxy: join(dir, 'bin', 'kube-proxy'),
    pause: join(dir, 'bin', 'pause'),
    manifest,
  };
}

async function readManifest(dir: string): Promise<NodeBinaries['manifest'] | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as NodeBinaries['manifest'];
  } catch {
    return undefined;
  }
}

/**
 * kubelet, kube-proxy and pause at the box's Kubernetes version, built with the box's recipe (a wrapper
 * module pinning the staging modules) on first use and cached under `~/.cache/stork-ts/real-node/`.
 */
export async function ensureNodeBinaries(
  options: { log?: (line: string) => void } = {},
): Promise<NodeBinaries> {
  const { kubernetes } = boxVersions;
  const dir = join(userCacheDir(), 'stork-ts', 'real-node', `k8s-v${kubernetes}`);
  const cached = await readManifest(dir);
  if (cached) return binariesIn(dir, cached);
  await mkdir(join(dir, '..'), { recursive: true });
  const log = options.log ?? ((line: string) => console.error(line));
  return withDirectoryLock(`${dir}.lock`, log, async () => {
    const raced = await readManifest(dir);
    if (raced) return binariesIn(dir, raced);
    return build(dir, kubernetes, log);
  });
}

async function build(dir: string, kubernetes: string, log: (line: string) => void): Promise<NodeBinaries> {
  const go = findGo();
  const started = Date.now();
  const elapsed = (): string => `${Math.round((Date.now() - started) / 1000)}s`;
  let step = 'preparing';
  const heartbeat = setInterval(() => log(`[node build] still ${step} (${elapsed()} so far)`), 30_000);
  const scratch = await mkdtemp(join(tmpdir(), 'stork-box-build-node-'));
  const staging = `${dir}.partial`;
  const goEnv: NodeJS.ProcessEnv = {
    ...process.env,
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
    GOFLAGS: '-mod=mod',
  };
  const goRun = (cwd: string, ...args: string[]): Promise<string> =>
    runCommand(go, args, {
      cwd,
      env: goEnv,
      onLine: (line) => {
        if (!quietGoLine.test(line)) log(`[node build]   ${line}`);
      },
    });
  try {
    await rm(staging, { recursive: true, force: true });
    await mkdir(join(staging, 'bin'), { recursive: true });
    const cmds = ['kubelet', 'kube-proxy'].map((c) => `k8s.io/kubernetes/cmd/${c}`);
    step = `resolving the Kubernetes v${kubernetes} module`;
    log(
      `[node build] building kubelet and kube-proxy v${kubernetes} (a few minutes with the box's Go caches warm)`,
    );
    const k8sDir = join(scratch, 'k8s');
    await kubernetesWrapperModule(k8sDir, kubernetes, goRun, (s) => (step = s), cmds);
    step = 'compiling kubelet and kube-proxy';
    await goRun(
      k8sDir,
      'build',
      '-trimpath',
      '-ldflags',
      kubernetesLdflags(kubernetes),
      '-o',
      join(staging, 'bin') + '/',
      ...cmds,
    );
    step = 'compiling pause';
    const module = JSON.parse(
      await goRun(k8sDir, 'mod', 'download', '-json', `k8s.io/kubernetes@v${kubernetes}`),
    ) as { Dir: string };
    await runCommand('gcc', [
      '-Os',
      '-static',
      '-Wall',
      '-o',
      join(staging, 'bin', 'pause'),
      join(module.Dir, 'build', 'pause', 'linux', 'pause.c'),
    ]);
    const manifest = { kubernetes, seconds: Math.round((Date.now() - started) / 1000) };
    await writeFile(join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    log(`[node build] done in ${elapsed()}; cached in ${dir}`);
    return binariesIn(dir, manifest);
  } finally {
    clearInterval(heartbeat);
    await rm(scratch, { recursive: true, force: true });
    await rm(staging, { recursive: true, force: true });
  }
}
