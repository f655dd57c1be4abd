import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EndpointSlice, Node } from '../../wire/k8s-types.js';
import type { KubeApi } from '../../k8s/api.js';
import { isAlreadyExists } from '../../k8s/errors.js';
import { resources, type ResourceType } from '../../k8s/paths.js';
import { issueCertificate, type CertificateAuthority } from '../../lib/pki.js';
import { runCommand } from '../command.js';
import { buildah, imageExists } from '../image/containers.js';
import { kubeconfigFile } from '../kubeconfig-file.js';
import { ensureNodeBinaries, type NodeBinaries } from './build.js';
import {
  clusterDnsIp,
  clusterDomain,
  coreDnsClusterRole,
  coreDnsClusterRoleBinding,
  coreDnsReadyPort,
  coreDnsUser,
  corefile,
  kubeDnsEndpoints,
  kubeDnsService,
} from './cluster-dns.js';
import { ensureCoreDns } from './coredns-build.js';
import { cgroupV1Mounts, cleanUpRealNode, realNodeNames, type RealNodeNames } from './cleanup.js';
import { cniConfig, containerdConfig, kubeletConfig, kubeProxyConfig } from './configs.js';
import { TcpForwarder } from '../tcp-forwarder.js';
import type { NodeLink } from './network.js';

/** Tells KWOK to leave a node alone (the box's label; repeated here to keep the layers one-way). */
const unmanagedLabel = 'box.stork.libopenstorage.org/unmanaged';
/** Marks the box's real node, for selectors and tests. */
export const realNodeLabel = 'box.stork.libopenstorage.org/real-node';
const cniBinDir = '/usr/lib/cni';
const endpointSlices = {
  group: 'discovery.k8s.io',
  version: 'v1',
  resource: 'endpointslices',
  namespaced: true,
};
const rbac = (resource: string): ResourceType => ({
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  resource,
  namespaced: false,
});

export interface RealNodeContext {
  readonly boxDir: string;
  readonly api: KubeApi;
  readonly ca: CertificateAuthority;
  readonly caFile: string;
  readonly apiserverPort: number;
  readonly link: NodeLink;
  readonly log: (line: string) => void;
  /** The box's way of starting a component: a child with its log, its pid recorded for the reaper. */
  readonly startComponent: (
    name: string,
    command: string,
    args: string[],
    ready: () => Promise<boolean> | boolean,
  ) => Promise<void>;
}

/**
 * A real Kubernetes node next to the KWOK nodes: containerd and runc (the machine's), a kubelet and
 * kube-proxy (iptables mode) built from the box's Kubernetes, a CNI bridge, all inside a network namespace
 * of the box's own, joined to this host by a veth pair. Only the network namespace is separate: the
 * kubelet and containerd share this host's mount namespace, so that the volumes one mounts are the ones
 * the other puts in containers.
 */
export class RealNode {
  private forwarders: TcpForwarder[] = [];

  private constructor(
    readonly name: string,
    readonly names: RealNodeNames,
    readonly dir: string,
    readonly containerdSocket: string,
    readonly binaries: NodeBinaries,
    private readonly coreDns: string,
    private readonly ctx: RealNodeContext,
  ) {}

  get nodeIp(): string {
    return this.ctx.link.nodeIp;
  }

  /** This host's end of the link: pods reach this host's forwarders there. */
  get hostIp(): string {
    return this.ctx.link.hostIp;
  }

  static async start(ctx: RealNodeContext, options: { name?: string } = {}): Promise<RealNode> {
    const name = options.name ?? 'real-node';
    const binaries = await ensureNodeBinaries({ log: ctx.log });
    const coreDns = await ensureCoreDns({ log: ctx.log });
    const dir = join(ctx.boxDir, 'node');
    await mkdir(dir, { recursive: true });
    const node = new RealNode(
      name,
      realNodeNames(ctx.boxDir),
      dir,
      join(dir, 'containerd.sock'),
      binaries,
      coreDns.path,
      ctx,
    );
    await node.boot();
    return node;
  }

  private inNetns(command: string, args: readonly string[]): [string, string[]] {
    return ['nsenter', [`--net=/run/netns/${this.names.netns}`, '--', command, ...args]];
  }

  private async boot(): Promise<void> {
    const { ctx, names, dir } = this;
    const started = Date.now();
    ctx.log(
      `[node] starting the real node ${this.name} (${this.nodeIp}) in network namespace ${names.netns}`,
    );
    await this.network();
    this.forwarders.push(
      await TcpForwarder.start({
        host: this.hostIp,
        port: ctx.apiserverPort,
        target: { port: ctx.apiserverPort },
      }),
    );
    const cgroupRoot = await this.cgroups();

    const server = `https://${this.hostIp}:${ctx.apiserverPort}`;
    const caPem = await readFile(ctx.caFile, 'utf8');
    const kubeletUser = await issueCertificate(ctx.ca, {
      commonName: `system:node:${this.name}`,
      organizations: ['system:nodes'],
      usage: 'client',
      validityDays: 30,
    });
    const proxyUser = await issueCertificate(ctx.ca, {
      commonName: 'system:kube-proxy',
      usage: 'client',
      validityDays: 30,
    });
    const kubeletKubeconfig = join(dir, 'kubelet.kubeconfig');
    const proxyKubeconfig = join(dir, 'kube-proxy.kubeconfig');
    await writeFile(kubeletKubeconfig, kubeconfigFile({ server, caPem, user: kubeletUser }), { mode: 0o600 });
    await writeFile(proxyKubeconfig, kubeconfigFile({ server, caPem, user: proxyUser }), { mode: 0o600 });

    const pauseImage = await ensurePauseImage(this.binaries);
    const cniDir = join(dir, 'cni');
    await mkdir(cniDir, { recursive: true });
    await writeFile(join(cniDir, '10-box-pods.conflist'), cniConfig('box0'));
    const containerdToml = join(dir, 'containerd.toml');
    await writeFile(
      containerdToml,
      containerdConfig({
        root: join(dir, 'containerd', 'root'),
        state: join(dir, 'containerd', 'state'),
        socket: this.containerdSocket,
        cniConfDir: cniDir,
        cniBinDir,
        optDir: join(dir, 'containerd', 'opt'),
        sandboxImage: pauseImage,
      }),
    );
    ctx.log('[node] starting containerd');
    await ctx.startComponent(
      'containerd',
      ...this.inNetns('containerd', ['--config', containerdToml]),
      async () =>
        existsSync(this.containerdSocket)
          ? this.ctr(['version']).then(
              () => true,
              () => false,
            )
          : false,
    );
    await this.importImage(pauseImage);

    const kubeletYaml = join(dir, 'kubelet.json');
    await writeFile(
      kubeletYaml,
      kubeletConfig({
        containerdSocket: this.containerdSocket,
        clientCaFile: ctx.caFile,
        podLogsDir: join(dir, 'pod-logs'),
        cgroupRoot,
        clusterDns: { ip: clusterDnsIp, domain: clusterDomain },
      }),
    );
    ctx.log('[node] starting kubelet');
    await ctx.startComponent(
      'kubelet',
      ...this.inNetns(this.binaries.kubelet, [
        `--config=${kubeletYaml}`,
        `--kubeconfig=${kubeletKubeconfig}`,
        `--root-dir=${join(dir, 'kubelet')}`,
        `--cert-dir=${join(dir, 'kubelet-pki')}`,
        `--hostname-override=${this.name}`,
        `--node-ip=${this.nodeIp}`,
        `--node-labels=${unmanagedLabel}=true,${realNodeLabel}=true`,
        '--v=1',
      ]),
      () => this.nodeReady(),
    );

    const proxyConfig = join(dir, 'kube-proxy.json');
    await writeFile(proxyConfig, kubeProxyConfig({ kubeconfig: proxyKubeconfig, hostname: this.name }));
    ctx.log('[node] starting kube-proxy (iptables)');
    await ctx.startComponent(
      'kube-proxy',
      ...this.inNetns(this.binaries.kubeProxy, [`--config=${proxyConfig}`, '--v=1']),
      () => this.iptablesChain('KUBE-SERVICES'),
    );
    await this.publishApiServer();
    await this.clusterDns(server, caPem);
    ctx.log(`[node] ${this.name} Ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }

  private async network(): Promise<void> {
    const { names, ctx } = this;
    const ns = names.netns;
    await runCommand('ip', ['netns', 'add', ns]);
    await runCommand('ip', [
      'link',
      'add',
      names.hostInterface,
      'type',
      'veth',
      'peer',
      'name',
      names.nodeInterface,
      'netns',
      ns,
    ]);
    await runCommand('ip', [
      'addr',
      'add',
      `${ctx.link.hostIp}/${ctx.link.prefixLength}`,
      'dev',
      names.hostInterface,
    ]);
    await runCommand('ip', ['link', 'set', names.hostInterface, 'up']);
    await runCommand('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await runCommand('ip', [
      '-n',
      ns,
      'addr',
      'add',
      `${ctx.link.nodeIp}/${ctx.link.prefixLength}`,
      'dev',
      names.nodeInterface,
    ]);
    await runCommand('ip', ['-n', ns, 'link', 'set', names.nodeInterface, 'up']);
    await runCommand('ip', ['-n', ns, 'route', 'add', 'default', 'via', ctx.link.hostIp]);
    // Per namespace: forwarding for the pods, and bridged pod traffic through iptables (Services).
    await runCommand('ip', [
      'netns',
      'exec',
      ns,
      'sysctl',
      '-q',
      '-w',
      'net.ipv4.ip_forward=1',
      'net.bridge.bridge-nf-call-iptables=1',
    ]);
  }

  /** The kubelet's cgroup root in every v1 hierarchy (cpuset needs its CPUs and memory nodes filled in). */
  private async cgroups(): Promise<string> {
    const root = this.names.cgroupRoot;
    for (const mount of cgroupV1Mounts(await readFile('/proc/self/mountinfo', 'utf8'))) {
      const dir = join(mount, root);
      await mkdir(dir, { recursive: true });
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        if (existsSync(join(mount, file)))
          await copyFile(join(mount, file), join(dir, file)).catch(async () => {
            await writeFile(join(dir, file), await readFile(join(mount, file), 'utf8'));
          });
      }
    }
    return root;
  }

  private async nodeReady(): Promise<boolean> {
    try {
      const node = await this.ctx.api.get<Node>(resources.nodes, { name: this.name });
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    } catch {
      return false;
    }
  }

  private async iptablesChain(chain: string): Promise<boolean> {
    try {
      await runCommand(...this.inNetns('iptables', ['-t', 'nat', '-S', chain]));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The `kubernetes` Service's endpoint, which the box's API server (loopback only, endpoint reconciler
   * off) does not publish: this host's end of the link, where a forwarder passes connections to it.
   */
  private async publishApiServer(): Promise<void> {
    const slice: EndpointSlice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'kubernetes-box',
        namespace: 'default',
        labels: {
          'kubernetes.io/service-name': 'kubernetes',
          'endpointslice.kubernetes.io/managed-by': 'box.stork.libopenstorage.org',
        },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [this.hostIp], conditions: { ready: true } }],
      ports: [{ name: 'https', port: this.ctx.apiserverPort, protocol: 'TCP' }],
    };
    try {
      await this.ctx.api.create(endpointSlices, slice, 'default');
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
  }

  /**
   * CoreDNS on the node's address, behind the `kube-dns` Service the kubelet writes into pods'
   * resolv.conf; it authenticates as {@link coreDnsUser}, which may only list and watch what it serves.
   */
  private async clusterDns(server: string, caPem: string): Promise<void> {
    const { ctx, dir } = this;
    const createOnce = async (type: ResourceType, object: object, namespace?: string): Promise<void> => {
      try {
        await ctx.api.create(type, object, namespace);
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
      }
    };
    await createOnce(rbac('clusterroles'), coreDnsClusterRole);
    await createOnce(rbac('clusterrolebindings'), coreDnsClusterRoleBinding);
    await createOnce(resources.services, kubeDnsService, 'kube-system');
    await createOnce(endpointSlices, kubeDnsEndpoints(this.nodeIp), 'kube-system');
    const user = await issueCertificate(ctx.ca, {
      commonName: coreDnsUser,
      usage: 'client',
      validityDays: 30,
    });
    const kubeconfig = join(dir, 'coredns.kubeconfig');
    await writeFile(kubeconfig, kubeconfigFile({ server, caPem, user }), { mode: 0o600 });
    const conf = join(dir, 'Corefile');
    await writeFile(conf, corefile({ bindIp: this.nodeIp, kubeconfig }));
    ctx.log('[node] starting CoreDNS (cluster DNS)');
    const ready = `http://${this.nodeIp}:${coreDnsReadyPort}/ready`;
    await ctx.startComponent('coredns', ...this.inNetns(this.coreDns, ['-conf', conf]), async () => {
      try {
        return (await fetch(ready, { signal: AbortSignal.timeout(2000) })).ok;
      } catch {
        return false;
      }
    });
  }

  /** Makes a loopback port of this host reachable from the node and its pods at {@link hostIp}. */
  async forward(port: number, targetPort = port): Promise<void> {
    this.forwarders.push(await TcpForwarder.start({ host: this.hostIp, port, target: { port: targetPort } }));
  }

  ctr(args: readonly string[]): Promise<string> {
    return runCommand('ctr', ['--address', this.containerdSocket, '--namespace', 'k8s.io', ...args]);
  }

  /** Copies an image of the project's container storage into the node's containerd. */
  async importImage(image: string): Promise<void> {
    const archive = join(this.dir, `image-${Date.now()}.tar`);
    try {
      await buildah(['push', '--quiet', image, `docker-archive:${archive}:${image}`]);
      await this.ctr(['images', 'import', archive]);
    } finally {
      await rm(archive, { force: true });
    }
  }

  /** Stops the forwarders and removes what the node made; its processes were stopped by the box. */
  async stop(): Promise<void> {
    for (const forwarder of this.forwarders) await forwarder.stop();
    this.forwarders = [];
    await cleanUpRealNode(this.ctx.boxDir, this.ctx.log);
  }
}

/** The pod sandbox image: the pause program alone, committed from scratch into the project's storage. */
export async function ensurePauseImage(binaries: NodeBinaries): Promise<string> {
  const name = `localhost/stork-ts-pause:${binaries.manifest.kubernetes}`;
  if (await imageExists(name)) return name;
  const container = (await buildah(['from', 'scratch'])).trim();
  try {
    await buildah(['copy', container, binaries.pause, '/pause']);
    await buildah(['config', '--entrypoint', '["/pause"]', '--user', '65535:65535', container]);
    await buildah(['commit', container, name]);
  } finally {
    await buildah(['rm', container]).catch(() => '');
  }
  return name;
}
