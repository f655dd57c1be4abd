import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../command.js';
import { withDirectoryLock } from '../lock.js';
import { imageVersions } from '../versions.js';
import { buildah, containersDir, imageExists } from './containers.js';
import { ensureNodeDist } from './node-dist.js';

/** The numeric user the images run as (the official Node.js images' `node` user has the same ids). */
export const imageUser = { uid: 1000, gid: 1000, name: 'node' } as const;

/** Bumped when the recipe below changes, so a cached base image of the old recipe is not reused. */
const recipe = 1;

export interface BaseImage {
  /** e.g. `localhost/stork-ts-node:24.22.3-bookworm-r1`, usable as the Dockerfile's NODE_IMAGE. */
  readonly name: string;
  readonly versions: typeof imageVersions;
}

export function baseImageName(versions: typeof imageVersions = imageVersions): string {
  return `localhost/stork-ts-node:${versions.node}-npm${versions.npm}-${versions.debian}-r${recipe}`;
}

/**
 * A Node.js base image made without a registry: a Debian `minbase` root file system from debootstrap,
 * the official Node.js binary and npm under /usr/local, a `node` user with uid/gid 1000, committed with
 * buildah into the project's container storage. Built once per set of versions; later calls only check
 * that the image is there.
 */
export async function ensureBaseImage(options: { log?: (line: string) => void } = {}): Promise<BaseImage> {
  const log = options.log ?? ((line: string) => console.error(line));
  const name = baseImageName();
  const result = { name, versions: imageVersions };
  if (await imageExists(name)) return result;
  await mkdir(containersDir(), { recursive: true });
  return withDirectoryLock(join(containersDir(), 'base-image.lock'), log, async () => {
    if (await imageExists(name)) return result;
    await buildBaseImage(name, log);
    return result;
  });
}

async function buildBaseImage(name: string, log: (line: string) => void): Promise<void> {
  const started = Date.now();
  const dist = await ensureNodeDist({ log });
  const scratch = await mkdtemp(join(tmpdir(), 'stork-base-image-'));
  const rootfs = join(scratch, 'rootfs');
  const mirror = debianMirror(await aptSources());
  const heartbeat = setInterval(
    () => log(`[image] still building the base image (${Math.round((Date.now() - started) / 1000)}s)`),
    30_000,
  );
  let container: string | undefined;
  try {
    log(`[image] debootstrap --variant=minbase ${imageVersions.debian} from ${mirror} (about 2 minutes)`);
    await runCommand('debootstrap', ['--variant=minbase', imageVersions.debian, rootfs, mirror]);
    // What an image does not need: the downloaded packages and package lists.
    for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
      for (const entry of await readdir(join(rootfs, dir)).catch(() => [] as string[]))
        if (entry !== 'partial' && entry !== 'lock')
          await rm(join(rootfs, dir, entry), { recursive: true, force: true });
    }
    await cp(dist.dir, join(rootfs, 'usr', 'local'), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (source) => !source.endsWith('manifest.json'),
    });
    const { uid, gid, name: user } = imageUser;
    await runCommand('chroot', [rootfs, 'groupadd', '--gid', String(gid), user]);
    await runCommand('chroot', [
      rootfs,
      'useradd',
      '--uid',
      String(uid),
      '--gid',
      String(gid),
      '--create-home',
      '--shell',
      '/bin/bash',
      user,
    ]);
    log(`[image] committing ${name}`);
    container = (await buildah(['from', 'scratch'])).trim();
    const mount = (await buildah(['mount', container])).trim();
    await runCommand('cp', ['-a', `${rootfs}/.`, `${mount}/`]);
    await buildah([
      'config',
      '--env',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--env',
      `NODE_VERSION=${imageVersions.node}`,
      '--label',
      `org.opencontainers.image.description=Node.js ${imageVersions.node} on Debian ${imageVersions.debian} (minbase)`,
      '--cmd',
      'node',
      container,
    ]);
    await buildah(['commit', '--rm', container, name]);
    container = undefined;
    await writeFile(
      join(containersDir(), 'base-image.json'),
      JSON.stringify(
        { name, versions: imageVersions, seconds: Math.round((Date.now() - started) / 1000) },
        null,
        2,
      ) + '\n',
    );
    log(`[image] ${name} built in ${Math.round((Date.now() - started) / 1000)}s`);
  } finally {
    clearInterval(heartbeat);
    if (container) await buildah(['rm', container]).catch(() => '');
    await rm(scratch, { recursive: true, force: true });
  }
}

async function aptSources(): Promise<string> {
  const files = ['/etc/apt/sources.list'];
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) files.push(...(await readdir(dir)).map((f) => join(dir, f)));
  const texts = await Promise.all(files.map((f) => readFile(f, 'utf8').catch(() => '')));
  return texts.join('\n');
}

/**
 * The Debian mirror this machine's apt uses (one-line `deb URI suite` entries or deb822 `URIs:`), so
 * debootstrap goes where apt goes; the public mirror when none is configured.
 */
export function debianMirror(sources: string): string {
  for (const line of sources.split('\n')) {
    const oneLine = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/.exec(line);
    const deb822 = /^\s*URIs:\s*(\S+)/i.exec(line);
    const uri = oneLine?.[1] ?? deb822?.[1];
    if (uri && /\/debian\/?$/.test(uri)) return uri.replace(/\/$/, '');
  }
  return 'http://deb.debian.org/debian';
}
