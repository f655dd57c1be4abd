import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withDirectoryLock } from '../lock.js';
import { ensureBaseImage } from './base-image.js';
import { buildah, containersDir, imageExists, imageSizeBytes } from './containers.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
/** The host's CA bundle: npm's registry traffic may go through a TLS-intercepting proxy that it signs. */
const hostCaBundle = '/etc/ssl/certs/ca-certificates.crt';
export const storkImageRepository = 'localhost/stork-ts';
/**
 * Source directories the image does not hold: the box is a development tool that imports the daemon,
 * never the other way round (tsconfig.build.json leaves it out too, and .dockerignore lists it), so a
 * change to the box must not rebuild the image.
 */
export const sourcesOutsideImage: readonly string[] = ['src/box'];
/**
 * How many stork-ts images stay in the project's container storage, by last use: checkouts that share
 * one cache (worktrees, a clone for CI) each keep theirs instead of rebuilding after one another.
 */
export const keptImages = 4;

export interface StorkImage {
  /** `localhost/stork-ts:<inputs hash>`: what a spec's `image:` is set to. */
  readonly name: string;
  readonly baseImage: string;
  readonly sizeBytes: number;
  /** Build time of this image, when it was built (a cached image keeps the time of its build). */
  readonly buildSeconds: number;
}

/**
 * The files the Dockerfile reads (its COPY lines, minus what .dockerignore leaves out), in a stable
 * order: the image is rebuilt exactly when one of them, the Dockerfile or the base image changes.
 */
export async function imageInputs(root = repo): Promise<string[]> {
  const files = [
    'Dockerfile',
    '.dockerignore',
    'package.json',
    'package-lock.json',
    '.npmrc',
    'tsconfig.json',
    'tsconfig.build.json',
  ];
  for (const dir of ['src', 'proto']) {
    for (const entry of await readdir(join(root, dir), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || entry.name.endsWith('.test.ts')) continue;
      const file = relative(root, join(entry.parentPath, entry.name));
      if (sourcesOutsideImage.some((dir) => file.startsWith(`${dir}/`))) continue;
      files.push(file);
    }
  }
  return files.sort();
}

export async function imageInputsHash(baseImage: string, root = repo): Promise<string> {
  const hash = createHash('sha256').update(`base ${baseImage}\n`);
  for (const file of await imageInputs(root)) {
    hash.update(`${file}\n`);
    hash.update(await readFile(join(root, file)));
    hash.update('\n');
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Builds the project's Dockerfile with buildah (as `docker build` would, with the base image as
 * NODE_IMAGE), unless an image of the same inputs is in the project's container storage. The build
 * fails if any step fails, including an `npm ci` that installed nothing (the Dockerfile checks with
 * `npm ls`). Once a new one is built, the least recently used beyond {@link keptImages} are removed.
 */
export async function ensureStorkImage(options: { log?: (line: string) => void } = {}): Promise<StorkImage> {
  const log = options.log ?? ((line: string) => console.error(line));
  const base = await ensureBaseImage({ log });
  const tag = await imageInputsHash(base.name);
  const name = `${storkImageRepository}:${tag}`;
  const record = join(containersDir(), `stork-image-${tag}.json`);
  const cached = async (): Promise<StorkImage | undefined> => {
    if (!(await imageExists(name))) return undefined;
    try {
      return JSON.parse(await readFile(record, 'utf8')) as StorkImage;
    } catch {
      return undefined;
    }
  };
  const hit = await cached();
  if (hit) {
    // The record's time is the image's last use, which decides what is removed first.
    const now = new Date();
    await utimes(record, now, now).catch(() => undefined);
    return hit;
  }
  await mkdir(containersDir(), { recursive: true });
  return withDirectoryLock(join(containersDir(), 'stork-image.lock'), log, async () => {
    const raced = await cached();
    if (raced) return raced;
    const image = await build(name, base.name, log);
    await writeFile(record, JSON.stringify(image, null, 2) + '\n');
    await removeUnusedImages(name, log);
    return image;
  });
}

async function build(name: string, baseImage: string, log: (line: string) => void): Promise<StorkImage> {
  const started = Date.now();
  const scratch = await mkdtemp(join(tmpdir(), 'stork-image-build-'));
  try {
    // The build runs as root; root's npmrc, mounted for the build only, points npm at the host's CA.
    const npmrc = join(scratch, 'npmrc');
    await writeFile(npmrc, 'cafile=/run/stork-build/ca.crt\nupdate-notifier=false\nfund=false\n');
    log(`[image] building ${name} from the Dockerfile on ${baseImage}`);
    await buildah(
      [
        'bud',
        '--isolation',
        'chroot',
        '--layers',
        '--pull=never',
        '--volume',
        `${hostCaBundle}:/run/stork-build/ca.crt:ro`,
        '--volume',
        `${npmrc}:/root/.npmrc:ro`,
        '--build-arg',
        `NODE_IMAGE=${baseImage}`,
        '--tag',
        name,
        '--file',
        join(repo, 'Dockerfile'),
        repo,
      ],
      { onLine: (line) => log(`[image]   ${line}`) },
    );
    const sizeBytes = await imageSizeBytes(name);
    const buildSeconds = Math.round((Date.now() - started) / 1000);
    log(`[image] ${name}: ${(sizeBytes / 1e6).toFixed(0)} MB, built in ${buildSeconds}s`);
    return { name, baseImage, sizeBytes, buildSeconds };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The images to remove: every stork-ts image but `keep` and the `kept - 1` most recently used others
 * (an image without a record of its use goes first).
 */
export function imagesToRemove(
  images: readonly { name: string; lastUsedMs: number | undefined }[],
  keep: string,
  kept = keptImages,
): string[] {
  const others = images
    .filter((image) => image.name.startsWith(`${storkImageRepository}:`) && image.name !== keep)
    .sort((a, b) => (b.lastUsedMs ?? -Infinity) - (a.lastUsedMs ?? -Infinity));
  return others.slice(Math.max(0, kept - 1)).map((image) => image.name);
}

async function removeUnusedImages(keep: string, log: (line: string) => void): Promise<void> {
  const names = (await buildah(['images', '--format', '{{.Name}}:{{.Tag}}']))
    .split('\n')
    .map((l) => l.trim())
    .filter((n) => n.startsWith(`${storkImageRepository}:`));
  const recordOf = (name: string): string =>
    join(containersDir(), `stork-image-${name.slice(storkImageRepository.length + 1)}.json`);
  const images = await Promise.all(
    names.map(async (name) => ({
      name,
      lastUsedMs: await stat(recordOf(name)).then(
        (s) => s.mtimeMs,
        () => undefined,
      ),
    })),
  );
  for (const old of imagesToRemove(images, keep)) {
    await buildah(['rmi', old]).catch((error: unknown) =>
      log(`[image] could not remove ${old}: ${String(error)}`),
    );
    await rm(recordOf(old), { force: true });
  }
}
