import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startGoBuild } from './go-module.js';

// A stand-in `go` first on PATH: prints its environment's Go settings and two stderr lines.
let dir = '';
let path: string | undefined;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'go-module-test-'));
  const script = [
    '#!/bin/sh',
    'echo "go: downloading example.com/m v1.0.0" >&2',
    'echo "compile error: $1" >&2',
    'echo "$GOTOOLCHAIN $CGO_ENABLED $GOFLAGS ${GOBIN:-none} $*"',
  ].join('\n');
  await writeFile(join(dir, 'go'), script + '\n');
  await chmod(join(dir, 'go'), 0o755);
  path = process.env.PATH;
  process.env.PATH = `${dir}:${path ?? ''}`;
});
afterAll(async () => {
  process.env.PATH = path;
  await rm(dir, { recursive: true, force: true });
});

describe('startGoBuild', () => {
  it('runs the machine’s go with the local toolchain only, without cgo, and the settings given', async () => {
    const lines: string[] = [];
    const go = startGoBuild({ label: 't', log: (l) => lines.push(l), env: { GOFLAGS: '-mod=readonly' } });
    try {
      expect(go.go).toBe(join(dir, 'go'));
      expect(await go.run(dir, 'build', './x')).toBe('local 0 -mod=readonly none build ./x');
      expect(await go.runWith({ GOBIN: '/b', GOFLAGS: '' }, dir, 'install')).toBe('local 0  /b install');
    } finally {
      go.stop();
    }
    // Module downloads are left out; anything else the go command says is logged under the label.
    expect(lines).toEqual(['[t build]   compile error: build', '[t build]   compile error: install']);
  });

  it('says which step it is at, and keeps saying so until stopped', () => {
    vi.useFakeTimers();
    try {
      const lines: string[] = [];
      const go = startGoBuild({ label: 't', log: (l) => lines.push(l), heartbeatMs: 1000 });
      go.begin('compiling', ' (the long part)');
      vi.advanceTimersByTime(2500);
      go.stop();
      vi.advanceTimersByTime(5000);
      expect(lines).toEqual([
        '[t build] compiling (the long part)',
        '[t build] still compiling (1s so far)',
        '[t build] still compiling (2s so far)',
      ]);
    } finally {
      vi.useRealTimers();
    }
  });
});
