import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isProcessAlive } from './pids.js';

/**
 * Runs `fn` while holding a lock directory, so that two processes (a test run and `npm run box`, say)
 * never build the same thing at once. A lock left by a process that died is taken over.
 */
export async function withDirectoryLock<T>(
  lockDir: string,
  log: ((line: string) => void) | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  let told = false;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(await readFile(join(lockDir, 'pid'), 'utf8').catch(() => '0'));
      if (owner > 0 && !isProcessAlive(owner)) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!told) log?.(`[box build] waiting for process ${owner || '?'} that is building the same binaries`);
      told = true;
      await sleep(2000);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}
