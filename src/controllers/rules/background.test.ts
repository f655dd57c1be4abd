import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { prepareCommand, substituteWait, waitFiles } from './background.js';

const run = promisify(execFile);

describe('the ${WAIT_CMD} contract', () => {
  it('names files per task and pod, under the configured directory', () => {
    expect(waitFiles('/tmp/', 'task', 'uid')).toEqual({
      script: '/tmp/stork-wait-task-uid.sh',
      done: '/tmp/stork-cmd-done-task-uid',
      kill: '/tmp/killme-task-uid',
      storkKill: '/tmp/killme-task',
    });
  });

  it('replaces every ${WAIT_CMD} with the script path', () => {
    const files = waitFiles('/tmp', 't', 'u');
    expect(substituteWait(`mysql -e "flush tables with read lock; system \${WAIT_CMD};"`, files)).toBe(
      'mysql -e "flush tables with read lock; system /tmp/stork-wait-t-u.sh;"',
    );
  });

  // The script is plain sh: run it here to check the contract end to end (done file, wait, kill file).
  it('holds until the kill file exists, signalling with the done file while it holds', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wait-contract-'));
    try {
      const files = waitFiles(dir, 't', 'u');
      await writeFile(files.kill, ''); // left by an earlier run: must not release this one
      await run('sh', ['-c', prepareCommand(files, 600)]);
      const holding = run('sh', ['-c', `${substituteWait('${WAIT_CMD}', files)} && echo released`]);
      let done = false;
      for (let i = 0; i < 100 && !done; i++) {
        done = await stat(files.done).then(
          () => true,
          () => false,
        );
        if (!done) await new Promise((r) => setTimeout(r, 50));
      }
      expect(done).toBe(true);
      await writeFile(files.kill, '');
      expect((await holding).stdout).toBe('released\n');
      expect((await readdir(dir)).sort()).toEqual(['killme-t-u', 'stork-wait-t-u.sh']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lets the application go by itself at its deadline, even if nobody ever touches the kill file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wait-deadline-'));
    try {
      const files = waitFiles(dir, 't', 'u');
      await run('sh', ['-c', prepareCommand(files, 1)]);
      // No kill file is ever written (stork died): the script ends on its own, with a code that says so.
      const ended = await run('sh', ['-c', `${substituteWait('${WAIT_CMD}', files)}; echo "code $?"`]);
      expect(ended.stdout).toBe('code 1\n');
      expect((await readdir(dir)).sort()).toEqual(['stork-wait-t-u.sh']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a deadline that is not a whole positive number of seconds', () => {
    const files = waitFiles('/tmp', 't', 'u');
    expect(() => prepareCommand(files, 0)).toThrow(RangeError);
    expect(() => prepareCommand(files, 1.5)).toThrow(RangeError);
  });
});
