import { podCidr, podGateway } from './network.js';

/**
 * The configuration files of the real node's parts. Each keeps every path, socket and port of its own,
 * so that several boxes (and the machine's own services) can run side by side.
 */

export interface ContainerdPaths {
  readonly root: string;
  readonly state: string;
  readonly socket: string;
  readonly cniConfDir: string;
  readonly cniBinDir: string;
  readonly optDir: string;
  readonly sandboxImage: string;
}

/**
 * containerd 1.6 (config version 2): only what differs from its defaults. `restrict_oom_score_adj`: this
 * kind of host cannot lower a process's oom_score_adj (no CAP_SYS_RESOURCE), and without it every
 * sandbox fails in runc. Pod network namespaces are mounted under the state directory, not in the
 * machine's /run/netns, so they go with the box.
 */
export function containerdConfig(p: ContainerdPaths): string {
  const q = JSON.stringify;
  return `version = 2
root = ${q(p.root)}
state = ${q(p.state)}
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = ${q(p.socket)}

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    sandbox_image = ${q(p.sandboxImage)}
    disable_apparmor = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = ${q(p.cniBinDir)}
      conf_dir = ${q(p.cniConfDir)}
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          BinaryName = "runc"
          SystemdCgroup = false
  [plugins."io.containerd.internal.v1.opt"]
    path = ${q(p.optDir)}
`;
}

/** The pods' network: a bridge inside the node's network namespace, masquerading what leaves it. */
export function cniConfig(bridge: string): string {
  return (
    JSON.stringify(
      {
        cniVersion: '1.0.0',
        name: 'box-pods',
        plugins: [
          {
            type: 'bridge',
            bridge,
            isGateway: true,
            ipMasq: true,
            hairpinMode: true,
            ipam: {
              type: 'host-local',
              ranges: [[{ subnet: podCidr, gateway: podGateway }]],
              routes: [{ dst: '0.0.0.0/0' }],
            },
          },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      },
      null,
      2,
    ) + '\n'
  );
}

export interface KubeletPaths {
  readonly containerdSocket: string;
  readonly clientCaFile: string;
  readonly podLogsDir: string;
  /** The cgroup (in every v1 hierarchy) under which the kubelet puts its pods; one per box. */
  readonly cgroupRoot: string;
  /** The cluster DNS Service's address and domain, written into every ClusterFirst pod's resolv.conf. */
  readonly clusterDns: { readonly ip: string; readonly domain: string };
}

/**
 * The kubelet as this kind of host allows it: cgroup v1 (`failCgroupV1: false`) with the cgroupfs driver,
 * clients authenticated by the box's CA (the API server's kubelet client certificate) and authorized by
 * the API server, its own cgroup root so that pods of different boxes never share a QoS hierarchy.
 */
export function kubeletConfig(p: KubeletPaths): string {
  return (
    JSON.stringify(
      {
        apiVersion: 'kubelet.config.k8s.io/v1beta1',
        kind: 'KubeletConfiguration',
        cgroupDriver: 'cgroupfs',
        failCgroupV1: false,
        failSwapOn: false,
        cgroupRoot: p.cgroupRoot,
        containerRuntimeEndpoint: `unix://${p.containerdSocket}`,
        podLogsDir: p.podLogsDir,
        address: '0.0.0.0',
        port: 10250,
        readOnlyPort: 0,
        healthzBindAddress: '127.0.0.1',
        healthzPort: 10248,
        authentication: {
          anonymous: { enabled: false },
          webhook: { enabled: true },
          x509: { clientCAFile: p.clientCaFile },
        },
        authorization: { mode: 'Webhook' },
        // A test machine's disk and memory are shared; only evict when truly out.
        evictionHard: { 'memory.available': '50Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
        imageGCHighThresholdPercent: 100,
        imageGCLowThresholdPercent: 99,
        serializeImagePulls: false,
        registerNode: true,
        clusterDNS: [p.clusterDns.ip],
        clusterDomain: p.clusterDns.domain,
        nodeStatusUpdateFrequency: '5s',
        syncFrequency: '10s',
      },
      null,
      2,
    ) + '\n'
  );
}

/** kube-proxy in iptables mode; its chains live in the node's network namespace. */
export function kubeProxyConfig(p: { kubeconfig: string; hostname: string }): string {
  return (
    JSON.stringify(
      {
        apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
        kind: 'KubeProxyConfiguration',
        mode: 'iptables',
        clientConnection: { kubeconfig: p.kubeconfig },
        hostnameOverride: p.hostname,
        clusterCIDR: podCidr,
        healthzBindAddress: '127.0.0.1:10256',
        metricsBindAddress: '127.0.0.1:10249',
        // Leave the machine-wide conntrack table size alone.
        conntrack: { maxPerCore: 0 },
        // Pod → Service → pod on the same bridge: replies must come back through the node to be un-NATed.
        iptables: { masqueradeAll: true },
      },
      null,
      2,
    ) + '\n'
  );
}
