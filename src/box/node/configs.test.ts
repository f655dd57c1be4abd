import { describe, expect, it } from 'vitest';
import { cniConfig, containerdConfig, kubeletConfig, kubeProxyConfig } from './configs.js';
import { podCidr } from './network.js';

describe('real node configuration', () => {
  it('containerd: own paths, restricted oom_score_adj, local pause image, netns under its state', () => {
    const toml = containerdConfig({
      root: '/b/root',
      state: '/b/state',
      socket: '/b/c.sock',
      cniConfDir: '/b/cni',
      cniBinDir: '/usr/lib/cni',
      optDir: '/b/opt',
      sandboxImage: 'localhost/pause:1',
    });
    for (const line of [
      'root = "/b/root"',
      'state = "/b/state"',
      'address = "/b/c.sock"',
      'restrict_oom_score_adj = true',
      'netns_mounts_under_state_dir = true',
      'sandbox_image = "localhost/pause:1"',
      'conf_dir = "/b/cni"',
      'SystemdCgroup = false',
    ])
      expect(toml).toContain(line);
    expect(toml).not.toMatch(/\/var\/lib\/containerd|\/run\/containerd/);
  });

  it('kubelet: cgroup v1 with cgroupfs under its own root, authenticated and authorized clients only', () => {
    const config = JSON.parse(
      kubeletConfig({
        containerdSocket: '/b/c.sock',
        clientCaFile: '/b/ca.crt',
        podLogsDir: '/b/logs',
        cgroupRoot: '/stork-box-x',
      }),
    ) as Record<string, unknown>;
    expect(config).toMatchObject({
      cgroupDriver: 'cgroupfs',
      failCgroupV1: false,
      cgroupRoot: '/stork-box-x',
      containerRuntimeEndpoint: 'unix:///b/c.sock',
      readOnlyPort: 0,
      authentication: { anonymous: { enabled: false }, x509: { clientCAFile: '/b/ca.crt' } },
      authorization: { mode: 'Webhook' },
    });
  });

  it('pods on a bridge in the benchmark range; kube-proxy in iptables mode', () => {
    const cni = JSON.parse(cniConfig('box0')) as { plugins: { ipam?: { ranges: { subnet: string }[][] } }[] };
    expect(cni.plugins[0]?.ipam?.ranges[0]?.[0]?.subnet).toBe(podCidr);
    expect(JSON.parse(kubeProxyConfig({ kubeconfig: '/k', hostname: 'n' }))).toMatchObject({
      mode: 'iptables',
      clusterCIDR: podCidr,
      hostnameOverride: 'n',
    });
  });
});
