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

/** Module resolution prints hundreds of these; progress is carried by the step lines and the heartbeat. */
const quietGoLine = /^go: (downloading|added|creating new go\.mod|finding|upgraded|found|extracting) /;

export interface GoBuildOptions {
  /** Names the build in every line it logs: `[<label> build] …`. */
  readonly label: string;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
  /** Settings over the default environment (the machine's toolchain only, no cgo, `-mod=mod`). */
  readonly env?: NodeJS.ProcessEnv;
  /** How often a long build says it is still at work (default 30 s). */
  readonly heartbeatMs?: number;
}

/** One cold build of Go programs: the go command, its environment, progress lines and a heartbeat. */
export interface GoBuild {
  readonly go: string;
  readonly env: NodeJS.ProcessEnv;
  /** Runs `go args…` in `cwd` and resolves with its stdout; its noteworthy stderr lines are logged. */
  readonly run: (cwd: string, ...args: string[]) => Promise<string>;
  /** {@link GoBuild.run} with more environment settings (e.g. `GOBIN`). */
  readonly runWith: (env: NodeJS.ProcessEnv, cwd: string, ...args: string[]) => Promise<string>;
  /** Names the step the heartbeat reports, and logs it with `note` after it. */
  readonly begin: (step: string, note?: string) => void;
  /** Logs a line under the build's label. */
  readonly say: (text: string) => void;
  /** Whole seconds since the build started. */
  readonly seconds: () => number;
  /** Stops the heartbeat; call it in a `finally`. */
  readonly stop: () => void;
}

/** Starts a Go build; a cold build takes many minutes and never looks hung. */
export function startGoBuild(options: GoBuildOptions): GoBuild {
  const { label, log, signal } = options;
  const go = findGo();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Never let a go.mod trigger a toolchain download: the machine's Go is the one we have.
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
    GOFLAGS: '-mod=mod',
    ...options.env,
  };
  const started = Date.now();
  const seconds = (): number => Math.round((Date.now() - started) / 1000);
  let step = 'preparing';
  const say = (text: string): void => log(`[${label} build] ${text}`);
  const heartbeat = setInterval(
    () => say(`still ${step} (${seconds()}s so far)`),
    options.heartbeatMs ?? 30_000,
  );
  const runWith = (extra: NodeJS.ProcessEnv, cwd: string, ...args: string[]): Promise<string> =>
    runCommand(go, args, {
      cwd,
      env: { ...env, ...extra },
      onLine: (line) => {
        if (!quietGoLine.test(line)) say(`  ${line}`);
      },
      ...(signal ? { signal } : {}),
    });
  return {
    go,
    env,
    run: (cwd, ...args) => runWith({}, cwd, ...args),
    runWith,
    begin: (name, note = '') => {
      step = name;
      say(`${name}${note}`);
    },
    say,
    seconds,
    stop: () => clearInterval(heartbeat),
  };
}
