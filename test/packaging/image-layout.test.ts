// The container image's layout, proven without a container engine: compile with the build's tsconfig
// into a directory laid out like the image's /app (package.json, dist/, proto/, node_modules), then run
// the compiled daemon from there, as the image's ENTRYPOINT does.
import { execFile } from 'node:child_process';
import { builtinModules } from 'node:module';
import { access, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImageLayout } from '../../src/box/image-layout.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

// These tests start the compiled daemon (a Node.js process each, several per test): seconds each on a busy
// machine, hence a timeout above vitest's 5 s default.
describe(
  'the image layout: compiled daemon beside proto/ and production dependencies',
  { timeout: 60_000 },
  () => {
    let app = '';
    const daemon = (): string => join(app, 'dist', 'daemon', 'main.js');

    beforeAll(async () => {
      app = (await buildImageLayout()).app;
    }, 120_000);
    afterAll(async () => {
      if (app) await rm(app, { recursive: true, force: true });
    });

    it('puts the entry point where the Dockerfile expects it', async () => {
      const dockerfile = await readFile(join(repo, 'Dockerfile'), 'utf8');
      expect(dockerfile).toContain('ENTRYPOINT ["node", "/app/dist/daemon/main.js"]');
      expect(dockerfile).toMatch(/COPY proto \.\/proto/);
      expect((await filesUnder(join(app, 'dist'))).map((f) => f.slice(app.length + 1))).toContain(
        join('dist', 'daemon', 'main.js'),
      );
    });

    it('copies into the image only files that exist and that .dockerignore leaves in the build context', async () => {
      const dockerfile = await readFile(join(repo, 'Dockerfile'), 'utf8');
      const ignored = (await readFile(join(repo, '.dockerignore'), 'utf8'))
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '' && !line.startsWith('#'));
      const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) =>
        (m[1] ?? '').split(/\s+/),
      );
      expect(sources).toEqual(
        expect.arrayContaining(['package.json', 'package-lock.json', '.npmrc', 'src', 'proto']),
      );
      for (const source of sources) {
        await expect(access(join(repo, source)), source).resolves.toBeUndefined();
        expect(ignored, source).not.toContain(source);
      }
    });

    it('compiles no test files and no box code into the image', async () => {
      const files = (await filesUnder(join(app, 'dist'))).map((f) => f.slice(app.length + 1));
      expect(files.filter((f) => f.endsWith('.test.js'))).toEqual([]);
      expect(files.filter((f) => f.startsWith(join('dist', 'box')))).toEqual([]);
    });

    it('imports only Node built-ins, its own files and production dependencies (npm ci --omit=dev)', async () => {
      const pkg = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as {
        dependencies: Record<string, string>;
      };
      const allowed = new Set(Object.keys(pkg.dependencies));
      const builtins = new Set(builtinModules);
      const offending: string[] = [];
      const seen = new Set<string>();
      for (const file of await filesUnder(join(app, 'dist'))) {
        if (!file.endsWith('.js')) continue;
        const text = await readFile(file, 'utf8');
        for (const match of text.matchAll(
          /(?:^|\s)(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm,
        )) {
          const specifier = match[1] ?? match[2] ?? '';
          if (specifier.startsWith('.') || specifier.startsWith('node:') || builtins.has(specifier)) continue;
          const name = specifier.startsWith('@')
            ? specifier.split('/').slice(0, 2).join('/')
            : (specifier.split('/')[0] ?? '');
          seen.add(name);
          if (!allowed.has(name)) offending.push(`${file.slice(app.length + 1)}: ${specifier}`);
        }
      }
      expect(offending).toEqual([]);
      // The scan itself works: the daemon's own dependencies were found.
      expect(seen).toContain('commander');
      expect(seen).toContain('@kubernetes/client-node');
    });

    it('runs the compiled daemon: --help lists the flags the specs use', async () => {
      const result = await run(process.execPath, [daemon(), '--help'], app);
      expect(result.code).toBe(0);
      for (const flag of ['--driver', '--driver-endpoint', '--leader-elect', '--verbose', '--extender-port'])
        expect(result.stdout).toContain(flag);
    });

    it('refuses a bad flag with a clear message and exit code 1', async () => {
      const unknown = await run(
        process.execPath,
        [daemon(), '--driver=pxd', '--driver-endpoint=127.0.0.1:9020', '--no-such-flag'],
        app,
      );
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain("unknown option '--no-such-flag'");

      const badValue = await run(
        process.execPath,
        [daemon(), '--driver=pxd', '--driver-endpoint=127.0.0.1:9020', '--leader-elect=maybe'],
        app,
      );
      expect(badValue.code).toBe(1);
      expect(badValue.stderr).toMatch(/--leader-elect.*expected true or false, got "maybe"/);

      const badDriver = await run(
        process.execPath,
        [daemon(), '--driver=nope', '--driver-endpoint=x:1'],
        app,
      );
      expect(badDriver.code).toBe(1);
      expect(badDriver.stderr).toMatch(/--driver.*nope/);
    });

    it('fails start-up cleanly (exit 1, a fatal log line saying why) when the cluster is unreachable', async () => {
      const kubeconfig = join(app, 'missing.kubeconfig');
      const result = await run(
        process.execPath,
        [daemon(), '--driver=pxd', '--driver-endpoint=127.0.0.1:9020', `--kubeconfig=${kubeconfig}`],
        app,
      );
      expect(result.code).toBe(1);
      const fatal = result.stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: number; msg: string; err?: { message?: string } })
        .find((entry) => entry.level === 60);
      expect(fatal?.msg).toBe('stork failed to start');
      expect(fatal?.err?.message).toContain(kubeconfig);
    });

    it('resolves proto/ from the compiled driver code, as the image lays it out', async () => {
      // Run from another directory: the path must follow the compiled file, not the working directory.
      const script = join(app, 'check-proto.mjs');
      await writeFile(
        script,
        `const m = await import(${JSON.stringify(join(app, 'dist', 'drivers', 'portworx', 'proto.js'))});
const methods = Object.keys(m.openStorageService('OpenStorageVolume'));
console.log(JSON.stringify({ path: m.openStorageProtoPath, methods }));`,
      );
      const result = await run(process.execPath, [script], tmpdir());
      expect(result.stderr).toBe('');
      const out = JSON.parse(result.stdout) as { path: string; methods: string[] };
      expect(out.path).toBe(join(app, 'proto', 'openstorage', 'api.proto'));
      expect(out.methods).toContain('Inspect');
    });
  },
);
