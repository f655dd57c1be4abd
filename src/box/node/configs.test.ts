import { describe, expect, it } from 'vitest';
import { cniConfig, containerdConfig, kubeletConfig, kubeProxyConfig } from './configs.js';
import {
  clusterDnsIp,
  clusterDomain,
  corefile,
  coreDnsReadyPort,
  kubeDnsEndpoints,
  kubeDnsService,
} from './cluster-dns.js';
import { podCidr, serviceCidr } from './network.js';

/** Whether an IPv4 address is inside the box's Service range. */
function inServiceRange(ip: string): boolean {
  const [base = '', bits = '32'] = serviceCidr.split('/');
  const n = (a: string): number => a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const mask = 2 ** 32 - 2 ** (32 - Number(bits));
  return (n(ip) & mask) >>> 0 === (n(base) & mask) >>> 0;
}

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
        clusterDns: { ip: clusterDnsIp, domain: clusterDomain },
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
      clusterDNS: [clusterDnsIp],
      clusterDomain: 'cluster.local',
    });
  });

  it('cluster DNS: the kube-dns address inside the Service range, CoreDNS on the node address only', () => {
    expect(inServiceRange(clusterDnsIp)).toBe(true);
    expect(kubeDnsService.spec?.clusterIP).toBe(clusterDnsIp);
    const file = corefile({ bindIp: '198.18.0.2', kubeconfig: '/b/coredns.kubeconfig' });
    expect(file).toContain('bind 198.18.0.2');
    expect(file).toContain('kubeconfig /b/coredns.kubeconfig');
    expect(file).toContain(`ready 198.18.0.2:${coreDnsReadyPort}`);
    // Nothing leaves the box: no forward plugin, and only the cluster's zones are served.
    expect(file).not.toMatch(/forward|^\.:53/m);
    const slice = kubeDnsEndpoints('198.18.0.2');
    expect(slice.endpoints.map((e) => e.addresses)).toEqual([['198.18.0.2']]);
    expect(slice.metadata?.labels?.['kubernetes.io/service-name']).toBe(kubeDnsService.metadata?.name);
    expect(new Set(slice.ports?.map((p) => p.protocol))).toEqual(new Set(['UDP', 'TCP']));
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
