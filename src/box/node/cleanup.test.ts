import { describe, expect, it } from 'vitest';
import { cgroupV1Mounts, mountsUnder, realNodeNames } from './cleanup.js';

const mountinfo = [
  '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid shared:10 - cgroup cgroup rw,memory',
  '31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:11 - cgroup cgroup rw,cpu,cpuacct',
  '32 25 0:28 / /sys/fs/cgroup/unified rw,nosuid shared:12 - cgroup2 cgroup2 rw',
  '40 22 0:40 / /tmp/stork-box-abc123/node/kubelet/pods/x/volumes/secret rw - tmpfs tmpfs rw',
  '41 22 0:41 / /tmp/stork-box-abc123/node/containerd/state/run/rootfs rw - overlay overlay rw',
  '42 22 0:42 / /tmp/stork-box-abc123 rw - tmpfs tmpfs rw',
  '43 22 0:43 / /tmp/stork-box-abc1234/node rw - tmpfs tmpfs rw',
  '44 22 0:44 / /tmp/stork-box-abc123/with\\040space rw - tmpfs tmpfs rw',
].join('\n');

describe('real node cleanup', () => {
  it('derives every name from the box directory, within interface-name limits', () => {
    const names = realNodeNames('/tmp/stork-box-abc123');
    expect(names).toEqual({
      netns: 'stork-box-abc123',
      hostInterface: 'sb-abc123',
      nodeInterface: 'sbn-abc123',
      cgroupRoot: '/stork-box-abc123',
    });
    expect(names.nodeInterface.length).toBeLessThanOrEqual(15);
    expect(() => realNodeNames('/tmp/something-else')).toThrow(/not a box directory/);
    expect(() => realNodeNames('/')).toThrow();
  });

  it('finds the cgroup v1 hierarchies only', () => {
    expect(cgroupV1Mounts(mountinfo)).toEqual(['/sys/fs/cgroup/memory', '/sys/fs/cgroup/cpu,cpuacct']);
  });

  it("finds the box's mounts, deepest first, and not another box's with a longer name", () => {
    expect(mountsUnder(mountinfo, '/tmp/stork-box-abc123')).toEqual([
      '/tmp/stork-box-abc123/node/kubelet/pods/x/volumes/secret',
      '/tmp/stork-box-abc123/node/containerd/state/run/rootfs',
      '/tmp/stork-box-abc123/with space',
      '/tmp/stork-box-abc123',
    ]);
  });
});
