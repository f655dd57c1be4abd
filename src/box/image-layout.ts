// The container image's /app, laid out on this machine without a container engine: what the Dockerfile's
// runtime stage holds (package.json, dist/ from `tsc -p tsconfig.build.json`, proto/, node_modules), so
// tests can run the compiled daemon exactly as the image's ENTRYPOINT does.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));

export interface ImageLayout {
  /** The stand-in for the image's /app. */
  readonly app: string;
  /** The ENTRYPOINT's script: <app>/dist/daemon/main.js. */
  readonly daemon: string;
}

/**
 * Compiles src/ with the build's tsconfig into a fresh directory and adds what the runtime stage copies.
 * node_modules is the repository's (a symlink): which packages the compiled code may import is checked
 * separately, against package.json's production dependencies.
 */
export async function buildImageLayout(): Promise<ImageLayout> {
  const app = await mkdtemp(join(tmpdir(), 'stork-image-'));
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  await new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      [tsc, '-p', join(repo, 'tsconfig.build.json'), '--outDir', join(app, 'dist')],
      { cwd: repo, timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`tsc failed: ${error.message}\n${stdout}${stderr}`));
        else resolve();
      },
    );
  });
  // package.json carries "type": "module", which Node needs to load dist/ as ES modules.
  await cp(join(repo, 'package.json'), join(app, 'package.json'));
  await cp(join(repo, 'proto'), join(app, 'proto'), { recursive: true });
  await symlink(join(repo, 'node_modules'), join(app, 'node_modules'), 'dir');
  return { app, daemon: join(app, 'dist', 'daemon', 'main.js') };
}
