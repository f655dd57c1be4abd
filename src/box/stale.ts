import { existsSync } from 'node:fs';
import { appendFile, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanUpRealNode } from './node/cleanup.js';
import { isProcessAlive } from './pids.js';

/** Notes a component's pid in its box directory, so a later run can clean up if this one is killed hard. */
export async function recordBoxProcess(boxDir: string, pid: number): Promise<void> {
  await appendFile(join(boxDir, 'pids'), `${pid}\n`);
}

/**
 * Kills what a box left behind when the process that owned it died without cleaning up (SIGKILL, a
 * crashed runner). A pid is only killed if its command line still names that box's directory, so a pid
 * the kernel has since reused is never touched.
 */
export async function reapStaleBoxes(log: (line: string) => void): Promise<void> {
  const root = tmpdir();
  const entries = await readdir(root).catch(() => [] as string[]);
  for (const entry of entries.filter(
    (e) => e.startsWith('stork-box-') && !e.startsWith('stork-box-build-'),
  )) {
    const dir = join(root, entry);
    const owner = Number(await readFile(join(dir, 'owner.pid'), 'utf8').catch(() => '0'));
    if (owner > 0 && isProcessAlive(owner)) continue;
    const pids = (await readFile(join(dir, 'pids'), 'utf8').catch(() => ''))
      .split('\n')
      .map(Number)
      .filter((p) => p > 0);
    let killed = 0;
    for (const pid of pids) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (!cmdline.includes(dir)) continue;
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        // Gone in the meantime.
      }
    }
    if (killed > 0) log(`[box] killed ${killed} process(es) left behind by a box whose owner died (${dir})`);
    // A real node leaves more: containers, mounts, its network namespace, cgroups.
    if (existsSync(join(dir, 'node')))
      await cleanUpRealNode(dir, log).catch((e: unknown) => log(`[box] ${String(e)}`));
    await rm(dir, { recursive: true, force: true });
  }
}
