import { existsSync } from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './command.js';

/**
 * Building an upstream Go program whose `go.mod` has `replace` directives. `go install module@version`
 * and a wrapper module both ignore a dependency's replace lines, so the program is built inside a copy of
 * its own module, where its go.mod (replaces included) and go.sum are the ones in force.
 */

/** The machine's Go; the box never lets a go.mod download another toolchain. */
export function findGo(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'go'))) return join(dir, 'go');
  }
  if (existsSync('/usr/local/go/bin/go')) return '/usr/local/go/bin/go';
  throw new Error('Go (1.26 or newer) is needed to build from the Go module proxy, and none is on PATH');
}

/** Downloads a module into the Go module cache unless it is there, and returns its directory. */
export async function moduleDir(
  go: string,
  module: string,
  version: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const out = await runCommand(go, ['mod', 'download', '-json', `${module}@${version}`], {
    cwd,
    env: { ...env, GOFLAGS: '' },
  });
  const info = JSON.parse(out) as { Dir?: string; Error?: string };
  if (!info.Dir) throw new Error(`go mod download ${module}@${version}: ${info.Error ?? 'no directory'}`);
  return info.Dir;
}

/**
 * A writable copy of a module from the module cache, without its vendor directory (module zips keep
 * only `vendor/modules.txt`, which would make the go command insist on vendoring).
 */
export async function copyModule(source: string, target: string): Promise<void> {
  await cp(source, target, { recursive: true });
  // Module cache files are read-only; the copy must be writable, if only to be deleted.
  await runCommand('chmod', ['-R', 'u+w', target]);
  await rm(join(target, 'vendor'), { recursive: true, force: true });
}
