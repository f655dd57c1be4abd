import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userCacheDir } from '../build.js';
import { runCommand, type RunOptions } from '../command.js';

/**
 * buildah and podman with storage of the project's own: images live under `~/.cache/stork-ts/containers`
 * (so they survive like the box's binaries), never in the machine's shared `/var/lib/containers`.
 *
 * The host's cgroups are hybrid (v1 controllers, an almost empty cgroup2 mount), which crun refuses, so
 * podman runs runc with the cgroupfs manager; rlimits cannot be raised above the hard limits, so podman
 * gets explicit ulimits.
 */
export function containersDir(): string {
  return join(userCacheDir(), 'stork-ts', 'containers');
}

let prepared: Promise<NodeJS.ProcessEnv> | undefined;

/** The environment buildah and podman run with: `CONTAINERS_STORAGE_CONF` pointing at our storage. */
export function containersEnv(): Promise<NodeJS.ProcessEnv> {
  prepared ??= (async () => {
    const dir = containersDir();
    await mkdir(dir, { recursive: true });
    const conf = join(dir, 'storage.conf');
    await writeFile(conf, storageConf(join(dir, 'storage'), runRoot()));
    return { ...process.env, CONTAINERS_STORAGE_CONF: conf };
  })();
  return prepared;
}

/** Lock files and mount state: per boot, so they go to the temporary directory. */
function runRoot(): string {
  return join(tmpdir(), `stork-ts-containers-${process.getuid?.() ?? 0}`);
}

export function storageConf(graphRoot: string, runRootDir: string): string {
  return [
    '[storage]',
    'driver = "overlay"',
    `graphroot = ${JSON.stringify(graphRoot)}`,
    `runroot = ${JSON.stringify(runRootDir)}`,
    '',
  ].join('\n');
}

export async function buildah(args: readonly string[], options: RunOptions = {}): Promise<string> {
  return runCommand('buildah', args, { ...options, env: { ...(await containersEnv()), ...options.env } });
}

/** podman as this host allows it; `--network none` unless the caller asks otherwise (no bridge, no chains). */
export async function podman(args: readonly string[], options: RunOptions = {}): Promise<string> {
  const global = [
    '--runtime',
    'runc',
    '--cgroup-manager',
    'cgroupfs',
    '--events-backend',
    'file',
    '--tmpdir',
    join(runRoot(), 'libpod'),
  ];
  return runCommand('podman', [...global, ...args], {
    ...options,
    env: { ...(await containersEnv()), ...options.env },
  });
}

/** `podman run --rm` with the limits this host allows and no network. */
export function podmanRun(
  image: string,
  args: readonly string[],
  runArgs: readonly string[] = [],
): Promise<string> {
  return podman([
    'run',
    '--rm',
    '--network',
    'none',
    '--ulimit',
    'nofile=20000:20000',
    '--ulimit',
    'nproc=32768:32768',
    ...runArgs,
    image,
    ...args,
  ]);
}

/** Whether an image of that name is in our storage. */
export async function imageExists(name: string): Promise<boolean> {
  try {
    await buildah(['inspect', '--type', 'image', '--format', '{{.FromImageID}}', name]);
    return true;
  } catch {
    return false;
  }
}

/** The image's size as podman reports it (the sum of its layers, uncompressed). */
export async function imageSizeBytes(name: string): Promise<number> {
  return Number((await podman(['image', 'inspect', '--format', '{{.Size}}', name])).trim());
}
