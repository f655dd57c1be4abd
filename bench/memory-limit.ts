// The memory stork gets in a cluster, for the scale benchmark: the limit and the Node.js options of the
// stork container in specs/stork-deployment.yaml, and a memory cgroup with that limit to run stork in.
// V8 sizes its heap from the memory the process may use (the cgroup's limit where there is one), so a
// stork measured on the bare host, with a heap limit of a quarter of the machine, says nothing about
// whether it fits the specs' limit; inside the cgroup it is sized and killed as in a container.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { quantityValue } from '../src/drivers/quantity.js';

export interface SpecMemory {
  /** The stork container's memory limit, in bytes. */
  limitBytes: number;
  /** The container's NODE_OPTIONS, split into flags (empty if it sets none). */
  nodeFlags: string[];
}

interface Container {
  name?: string;
  env?: { name?: string; value?: string }[];
  resources?: { limits?: { memory?: string } };
}

/** The memory limit and Node.js flags of the stork container in a spec file's Deployment. */
export async function specMemory(specFile: URL): Promise<SpecMemory> {
  const docs = parseAllDocuments(await readFile(specFile, 'utf8')).map(
    (d) => d.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Container[] } } } },
  );
  const container = docs
    .find((d) => d.kind === 'Deployment')
    ?.spec?.template?.spec?.containers?.find((c) => c.name === 'stork');
  const limitBytes = quantityValue(container?.resources?.limits?.memory);
  if (limitBytes === undefined)
    throw new Error(`${specFile.pathname}: the stork container has no memory limit`);
  const nodeOptions = container?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
  return { limitBytes, nodeFlags: nodeOptions.split(' ').filter(Boolean) };
}

/** A memory cgroup stork runs in: its limit holds for every process added, and it counts the peak. */
export interface MemoryCgroup {
  readonly path: string;
  add(pid: number): Promise<void>;
  /** The most memory the cgroup's processes used at once, in bytes. */
  peakBytes(): Promise<number>;
  /** How many times the kernel's OOM killer killed a process of this cgroup. */
  oomKills(): Promise<number>;
  remove(): Promise<void>;
}

/**
 * Makes a memory cgroup with the given limit (cgroup v2, else v1's memory controller), or returns the
 * reason it cannot (not root, no memory controller): the caller then measures without a limit and says so.
 */
export async function memoryCgroup(name: string, limitBytes: number): Promise<MemoryCgroup | string> {
  const v2 = '/sys/fs/cgroup';
  const v2Controllers = await readFile(join(v2, 'cgroup.controllers'), 'utf8').catch(() => '');
  const version = v2Controllers.split(/\s+/).includes('memory')
    ? 2
    : existsSync('/sys/fs/cgroup/memory/cgroup.procs')
      ? 1
      : undefined;
  if (version === undefined) return 'no memory cgroup controller on this machine';
  const path = version === 2 ? join(v2, name) : join('/sys/fs/cgroup/memory', name);
  try {
    await mkdir(path, { recursive: true });
    if (version === 2) {
      await writeFile(join(path, 'memory.max'), String(limitBytes));
      await writeFile(join(path, 'memory.swap.max'), '0').catch(() => undefined);
    } else {
      await writeFile(join(path, 'memory.limit_in_bytes'), String(limitBytes));
      // Without swap in the cgroup's budget, as a kubelet sets it up by default.
      await writeFile(join(path, 'memory.memsw.limit_in_bytes'), String(limitBytes)).catch(() => undefined);
    }
  } catch (error) {
    await rmdir(path).catch(() => undefined);
    return `cannot make a memory cgroup: ${(error as Error).message}`;
  }
  const counter = async (file: string, key?: string): Promise<number> => {
    const text = await readFile(join(path, file), 'utf8').catch(() => '');
    if (key === undefined) return Number(text.trim());
    return Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
  };
  return {
    path,
    add: (pid) => writeFile(join(path, 'cgroup.procs'), String(pid)),
    peakBytes: () => (version === 2 ? counter('memory.peak') : counter('memory.max_usage_in_bytes')),
    oomKills: () =>
      version === 2 ? counter('memory.events', 'oom_kill') : counter('memory.oom_control', 'oom_kill'),
    // The processes must have left (exited) first; a cgroup with a process in it cannot be removed.
    remove: () => rmdir(path).catch(() => undefined),
  };
}
