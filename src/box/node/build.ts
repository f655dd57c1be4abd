import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubernetesLdflags, kubernetesWrapperModule, userCacheDir } from '../build.js';
import { runCommand } from '../command.js';
import { startGoBuild } from '../go-module.js';
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
  const scratch = await mkdtemp(join(tmpdir(), 'stork-box-build-node-'));
  const staging = `${dir}.partial`;
  const go = startGoBuild({ label: 'node', log });
  try {
    await rm(staging, { recursive: true, force: true });
    await mkdir(join(staging, 'bin'), { recursive: true });
    const cmds = ['kubelet', 'kube-proxy'].map((c) => `k8s.io/kubernetes/cmd/${c}`);
    go.say(`building kubelet and kube-proxy v${kubernetes} (a few minutes with the box's Go caches warm)`);
    go.begin(`resolving the Kubernetes v${kubernetes} module`);
    const k8sDir = join(scratch, 'k8s');
    await kubernetesWrapperModule(k8sDir, kubernetes, go.run, (s) => go.begin(s), cmds);
    go.begin('compiling kubelet and kube-proxy');
    await go.run(
      k8sDir,
      'build',
      '-trimpath',
      '-ldflags',
      kubernetesLdflags(kubernetes),
      '-o',
      join(staging, 'bin') + '/',
      ...cmds,
    );
    go.begin('compiling pause');
    const module = JSON.parse(
      await go.run(k8sDir, 'mod', 'download', '-json', `k8s.io/kubernetes@v${kubernetes}`),
    ) as { Dir: string };
    await runCommand('gcc', [
      '-Os',
      '-static',
      '-Wall',
      '-o',
      join(staging, 'bin', 'pause'),
      join(module.Dir, 'build', 'pause', 'linux', 'pause.c'),
    ]);
    const manifest = { kubernetes, seconds: go.seconds() };
    await writeFile(join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    go.say(`done in ${go.seconds()}s; cached in ${dir}`);
    return binariesIn(dir, manifest);
  } finally {
    go.stop();
    await rm(scratch, { recursive: true, force: true });
    await rm(staging, { recursive: true, force: true });
  }
}
