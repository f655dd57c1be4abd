import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { reapStaleBoxes } from '../../src/box/stale.js';
import { waitFor } from '../../src/lib/wait.js';

const root = new URL('../..', import.meta.url).pathname;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts `npm run box` as a separate process and resolves once its box is up, with the box's pids. */
async function startBoxProcess(): Promise<{ child: ReturnType<typeof spawn>; dir: string; pids: number[] }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/box/cli/box-main.ts'), '--nodes', '1'],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines = createInterface({ input: child.stdout });
  const output: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => output.push(line));
  const kubeconfig = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      output.push(line);
      const match = /export KUBECONFIG=(\S+)/.exec(line);
      if (match?.[1]) resolve(match[1]);
    });
    child.on('exit', () => reject(new Error(`box process exited early:\n${output.join('\n')}`)));
  });
  const dir = dirname(kubeconfig);
  const pids = (await readFile(join(dir, 'pids'), 'utf8')).split('\n').filter(Boolean).map(Number);
  return { child, dir, pids };
}

describe('box lifetime', () => {
  it('leaves no process or directory behind after Ctrl-C', async () => {
    const { child, dir, pids } = await startBoxProcess();
    expect(pids.length).toBeGreaterThanOrEqual(5);
    expect(pids.every(alive)).toBe(true);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGINT');
    await exited;
    await waitFor('box processes to end', () => pids.every((p) => !alive(p)), { timeoutMs: 10_000 });
    expect(existsSync(dir)).toBe(false);
  });

  it('cleans up after an owner that was killed outright', async () => {
    const { child, dir, pids } = await startBoxProcess();
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    // Nothing could run in the owner: its components are orphans now.
    expect(pids.some(alive)).toBe(true);
    const messages: string[] = [];
    await reapStaleBoxes((line) => messages.push(line));
    await waitFor('orphans to end', () => pids.every((p) => !alive(p)), { timeoutMs: 10_000 });
    expect(existsSync(dir)).toBe(false);
    expect(messages.join('\n')).toContain(dir);
  });
});
