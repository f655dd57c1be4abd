import { existsSync } from 'node:fs';
import { readFile, readdir, rmdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { runCommand } from '../command.js';

/**
 * The names a box's real node uses on this machine, all derived from the box directory's name
 * (`stork-box-XXXXXX`), so that stop and the reaper (after a crash) find exactly what that box made and
 * nothing of another box or of the machine.
 */
export interface RealNodeNames {
  /** The node's network namespace, /run/netns/<netns>. */
  readonly netns: string;
  /** This host's end of the veth pair (the other end lives in the namespace). */
  readonly hostInterface: string;
  readonly nodeInterface: string;
  /** The cgroup, in every cgroup v1 hierarchy, under which the kubelet puts pods. */
  readonly cgroupRoot: string;
}

export function realNodeNames(boxDir: string): RealNodeNames {
  const base = basename(boxDir);
  const suffix = base.replace(/^stork-box-/, '');
  if (!/^stork-box-[A-Za-z0-9]{1,10}$/.test(base)) throw new Error(`not a box directory: ${boxDir}`);
  return {
    netns: base,
    hostInterface: `sb-${suffix}`,
    nodeInterface: `sbn-${suffix}`,
    cgroupRoot: `/${base}`,
  };
}

/** The mount points of cgroup v1 hierarchies (`cgroup` file systems) in a mountinfo text. */
export function cgroupV1Mounts(mountinfo: string): string[] {
  const mounts: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    if (after.split(' ')[0] === 'cgroup') {
      const point = before.split(' ')[4];
      if (point) mounts.push(unescapeMount(point));
    }
  }
  return mounts;
}

/** Mount points at or under `dir`, deepest first (the order they can be unmounted in). */
export function mountsUnder(mountinfo: string, dir: string): string[] {
  const points = mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map(unescapeMount)
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

function unescapeMount(path: string): string {
  return path.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

async function pidsOfCgroupTree(dir: string): Promise<number[]> {
  const pids: number[] = [];
  const walk = async (d: string): Promise<void> => {
    const procs = await readFile(join(d, 'cgroup.procs'), 'utf8').catch(() => '');
    pids.push(
      ...procs
        .split('\n')
        .map(Number)
        .filter((p) => p > 0),
    );
    for (const entry of await readdir(d, { withFileTypes: true }).catch(() => []))
      if (entry.isDirectory()) await walk(join(d, entry.name));
  };
  await walk(dir);
  return pids;
}

async function removeCgroupTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => []))
    if (entry.isDirectory()) await removeCgroupTree(join(dir, entry.name));
  await rmdir(dir).catch(() => undefined);
}

/** Processes whose command line names the box directory: containerd's shims (their socket is in it). */
async function pidsNaming(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(entry);
    if (!(pid > 0) || pid === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(dir)) pids.push(pid);
  }
  return pids;
}

function kill(pids: readonly number[]): number {
  let killed = 0;
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // Gone already.
    }
  }
  return killed;
}

/**
 * Removes everything a box's real node made on this machine, whether or not its processes are still
 * running: the containers (every process in the box's cgroups) and containerd's shims, the mounts under
 * the box directory (pod volumes, overlay snapshots, pod network namespaces), the network namespace (with
 * it the veth pair, the pods' bridge and every iptables chain of kube-proxy and CNI, which live in it)
 * and the cgroups. Safe to call when nothing is left.
 */
export async function cleanUpRealNode(
  boxDir: string,
  log: (line: string) => void = () => undefined,
): Promise<void> {
  const names = realNodeNames(boxDir);
  const cgroupMounts = cgroupV1Mounts(await readFile('/proc/self/mountinfo', 'utf8'));
  let killed = 0;
  for (let round = 0; round < 5; round++) {
    const pids = [...(await pidsNaming(boxDir))];
    for (const mount of cgroupMounts) pids.push(...(await pidsOfCgroupTree(join(mount, names.cgroupRoot))));
    const unique = [...new Set(pids)];
    if (unique.length === 0) break;
    killed += kill(unique);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const mounts = mountsUnder(await readFile('/proc/self/mountinfo', 'utf8'), boxDir);
  for (const point of mounts) await runCommand('umount', ['-l', point]).catch(() => '');
  const hadNetns = existsSync(join('/run/netns', names.netns));
  if (hadNetns) await runCommand('ip', ['netns', 'delete', names.netns]).catch(() => '');
  // The host's end goes with the namespace; remove it in case the namespace was never made.
  await runCommand('ip', ['link', 'delete', names.hostInterface]).catch(() => '');
  for (const mount of cgroupMounts) await removeCgroupTree(join(mount, names.cgroupRoot));
  if (killed || mounts.length || hadNetns)
    log(
      `[node] cleaned up ${names.netns}: ${killed} process(es), ${mounts.length} mount(s), network namespace`,
    );
}
