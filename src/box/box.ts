import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node } from '../wire/k8s-types.js';
import { KubeApi } from '../k8s/api.js';
import { isAlreadyExists } from '../k8s/errors.js';
import { loadKubeConfig, type KubeConfig } from '../k8s/kubeconfig.js';
import { resources } from '../k8s/paths.js';
import { createCertificateAuthority, createSigningKeyPair, issueCertificate } from '../lib/pki.js';
import { inParallel } from '../lib/in-parallel.js';
import { waitFor } from '../lib/wait.js';
import { ensureBoxBinaries, type BoxBinaries } from './build.js';
import { runCommand } from './command.js';
import { kubeconfigFile } from './kubeconfig-file.js';
import { freeNamedPorts } from './ports.js';
import { ManagedProcess } from './process.js';
import {
  schedulerConfiguration,
  shippedStorkSchedulerConfiguration,
  shippedStorkSchedulerSpec,
  type ExtenderRegistration,
} from './scheduler-config.js';
import { reapStaleBoxes, recordBoxProcess } from './stale.js';
import { boxNodeAddresses, type BoxNode } from './nodes.js';
import {
  freeLinkIndex,
  kubernetesServiceIp,
  kwokPodCidr,
  nodeLink,
  serviceCidr,
  type NodeLink,
} from './node/network.js';
import { cleanUpRealNode } from './node/cleanup.js';
import { RealNode } from './node/real-node.js';

export type { BoxNode } from './nodes.js';
export type { ExtenderRegistration, ExtenderTlsFiles } from './scheduler-config.js';

export interface BoxOptions {
  /** KWOK nodes to create; more can be added later with {@link Box.addNodes}. */
  readonly nodes?: readonly BoxNode[];
  /** Start the second kube-scheduler, profile `stork`, registered with this extender. */
  readonly storkScheduler?: ExtenderRegistration;
  /** Where KWOK runs `kubectl exec` commands (on this host); default `<box dir>/exec`. */
  readonly execWorkDir?: string;
  /** Progress lines (default: stderr). */
  readonly log?: (line: string) => void;
  /**
   * Also run a real node (containerd, runc, kubelet, kube-proxy, a CNI bridge) next to the KWOK nodes,
   * in a network namespace of the box's own (docs/box.md, "A real node"). Off by default: it needs root
   * and Debian's containerd, runc and CNI plugins, and its binaries take minutes to build the first time.
   */
  readonly realNode?: boolean | { readonly name?: string };
}

const readyTimeoutMs = 60_000;

/** A node with this label is left alone by KWOK: no heartbeats, and its pods are never finalized. */
export const unmanagedNodeLabel = 'box.stork.libopenstorage.org/unmanaged';
const componentPorts = [
  'etcd',
  'etcdPeer',
  'apiserver',
  'controllerManager',
  'scheduler',
  'storkScheduler',
  'kwok',
] as const;

/**
 * A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager, the default
 * kube-scheduler, optionally a second kube-scheduler with the `stork` profile and an extender, and KWOK
 * for nodes and pods without containers. Everything lives in one temporary directory and stops with
 * {@link Box.stop} (or with this process, whichever way it ends).
 */
export class Box {
  private readonly components = new Map<string, ManagedProcess>();
  /** How each component was started, so that it can be restarted the same way. */
  private readonly launches = new Map<
    string,
    { command: string; args: string[]; ready: () => Promise<boolean> | boolean }
  >();
  private apiClient: KubeApi | undefined;
  private stopped = false;
  private node: RealNode | undefined;

  private constructor(
    readonly dir: string,
    readonly binaries: BoxBinaries,
    readonly ports: Readonly<Record<(typeof componentPorts)[number], number>>,
    private readonly log: (line: string) => void,
    /** The link to the real node's network namespace, when the box has one. */
    private readonly link: NodeLink | undefined,
  ) {}

  /** The real node, when the box was started with `realNode`. */
  get realNode(): RealNode | undefined {
    return this.node;
  }

  /** The admin kubeconfig (client certificate in group system:masters). */
  get kubeconfigPath(): string {
    return join(this.dir, 'admin.kubeconfig');
  }

  get server(): string {
    return `https://127.0.0.1:${this.ports.apiserver}`;
  }

  get execWorkDir(): string {
    return join(this.dir, 'exec');
  }

  /** A plain-JSON API client authenticated as the admin. */
  get api(): KubeApi {
    this.apiClient ??= new KubeApi(this.kubeConfig());
    return this.apiClient;
  }

  kubeConfig(): KubeConfig {
    return loadKubeConfig({ kubeconfig: this.kubeconfigPath });
  }

  static async start(options: BoxOptions = {}): Promise<Box> {
    const log = options.log ?? ((line: string) => console.error(line));
    const started = Date.now();
    await reapStaleBoxes(log);
    const binaries = await ensureBoxBinaries({ log });
    const dir = await mkdtemp(join(tmpdir(), 'stork-box-'));
    const ports = await freeNamedPorts(componentPorts);
    const link = options.realNode
      ? nodeLink(freeLinkIndex(await runCommand('ip', ['-4', '-o', 'addr', 'show'])))
      : undefined;
    const box = new Box(dir, binaries, ports, log, link);
    try {
      await box.boot(options);
      if (options.nodes?.length) await box.addNodes(options.nodes);
      log(`[box] ready in ${((Date.now() - started) / 1000).toFixed(1)}s: KUBECONFIG=${box.kubeconfigPath}`);
      return box;
    } catch (error) {
      await box.stop();
      throw error;
    }
  }

  private async boot(options: BoxOptions): Promise<void> {
    const { dir, ports, binaries } = this;
    const pki = join(dir, 'pki');
    await mkdir(pki);
    await mkdir(join(dir, 'logs'));
    await mkdir(options.execWorkDir ?? this.execWorkDir, { recursive: true });
    await writeFile(join(dir, 'owner.pid'), String(process.pid));

    const ca = await createCertificateAuthority('stork-box-ca', 30);
    const serving = await issueCertificate(ca, {
      commonName: 'kube-apiserver',
      dnsNames: [
        'localhost',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
      ],
      // With a real node, also where it reaches the API server: its forwarder and the `kubernetes` Service.
      ipAddresses: ['127.0.0.1', ...(this.link ? [this.link.hostIp, kubernetesServiceIp] : [])],
      usage: 'server',
      validityDays: 30,
    });
    const admin = await issueCertificate(ca, {
      commonName: 'box-admin',
      organizations: ['system:masters'],
      usage: 'client',
      validityDays: 30,
    });
    // How the API server authenticates to kubelets (for logs, exec): a real node's kubelet checks it.
    const kubeletClient = await issueCertificate(ca, {
      commonName: 'kube-apiserver-kubelet-client',
      organizations: ['system:masters'],
      usage: 'client',
      validityDays: 30,
    });
    const sa = await createSigningKeyPair();
    const files = {
      kubeletClientCert: join(pki, 'apiserver-kubelet-client.crt'),
      kubeletClientKey: join(pki, 'apiserver-kubelet-client.key'),
      ca: join(pki, 'ca.crt'),
      servingCert: join(pki, 'apiserver.crt'),
      servingKey: join(pki, 'apiserver.key'),
      saKey: join(pki, 'sa.key'),
      saPub: join(pki, 'sa.pub'),
    };
    await Promise.all([
      writeFile(files.kubeletClientCert, kubeletClient.certPem),
      writeFile(files.kubeletClientKey, kubeletClient.keyPem, { mode: 0o600 }),
      writeFile(files.ca, ca.certPem),
      writeFile(files.servingCert, serving.certPem),
      writeFile(files.servingKey, serving.keyPem, { mode: 0o600 }),
      writeFile(files.saKey, sa.privateKeyPem, { mode: 0o600 }),
      writeFile(files.saPub, sa.publicKeyPem),
      writeFile(
        this.kubeconfigPath,
        kubeconfigFile({ server: this.server, caPem: ca.certPem, user: admin }),
        { mode: 0o600 },
      ),
    ]);

    this.log(`[box] starting etcd ${binaries.versions.etcd}`);
    const etcdUrl = `http://127.0.0.1:${ports.etcd}`;
    const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
    await this.startComponent(
      'etcd',
      binaries.etcd,
      [
        '--name=box',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=box=${peerUrl}`,
        // A test cluster loses nothing of value on a crash; fsync would dominate its write latency.
        '--unsafe-no-fsync',
        '--quota-backend-bytes=8589934592',
      ],
      () => httpOk(`${etcdUrl}/health`),
    );

    this.log(`[box] starting kube-apiserver v${binaries.versions.kubernetes}`);
    await this.startComponent(
      'kube-apiserver',
      binaries.kubeApiserver,
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${ports.apiserver}`,
        `--tls-cert-file=${files.servingCert}`,
        `--tls-private-key-file=${files.servingKey}`,
        `--client-ca-file=${files.ca}`,
        `--service-account-key-file=${files.saPub}`,
        `--service-account-signing-key-file=${files.saKey}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        '--api-audiences=https://kubernetes.default.svc.cluster.local',
        // From 198.18.0.0/15 (reserved for benchmarks), never a site's private ranges (src/box/node/network.ts).
        `--service-cluster-ip-range=${serviceCidr}`,
        '--authorization-mode=Node,RBAC',
        '--allow-privileged=true',
        // The loopback address cannot back the `kubernetes` Service's endpoints; nothing here needs them.
        '--endpoint-reconciler-type=none',
        // KWOK serves exec for every node on one local port. Each node publishes it as its InternalDNS
        // address, so the nodes keep distinct hostnames and IPs for storage-driver matching.
        // A real node has no InternalDNS address: the API server reaches its kubelet at its InternalIP.
        '--kubelet-preferred-address-types=InternalDNS,InternalIP',
        `--kubelet-client-certificate=${files.kubeletClientCert}`,
        `--kubelet-client-key=${files.kubeletClientKey}`,
        // Benchmarks create thousands of objects quickly; a test box has no tenants to protect.
        '--enable-priority-and-fairness=false',
        '--max-requests-inflight=0',
        '--max-mutating-requests-inflight=0',
        '--profiling=false',
      ],
      () => this.apiserverReady(files.ca, admin),
    );

    const adminKubeconfig = this.kubeconfigPath;
    this.log('[box] starting kube-controller-manager');
    await this.startComponent(
      'kube-controller-manager',
      binaries.kubeControllerManager,
      [
        `--kubeconfig=${adminKubeconfig}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.controllerManager}`,
        `--service-account-private-key-file=${files.saKey}`,
        `--root-ca-file=${files.ca}`,
        '--kube-api-qps=500',
        '--kube-api-burst=1000',
        '--concurrent-deployment-syncs=10',
        '--concurrent-replicaset-syncs=10',
        // Retry unbound claims every 2 s instead of 15 s, so tests do not wait on a resync.
        '--pvclaimbinder-sync-period=2s',
      ],
      () => httpsOk(`https://127.0.0.1:${ports.controllerManager}/healthz`),
    );

    this.log('[box] starting kube-scheduler (default-scheduler)');
    const defaultConfig = join(dir, 'scheduler.json');
    await writeFile(
      defaultConfig,
      schedulerConfiguration({ schedulerName: 'default-scheduler', kubeconfig: adminKubeconfig }),
    );
    await this.startComponent(
      'kube-scheduler',
      binaries.kubeScheduler,
      [`--config=${defaultConfig}`, '--bind-address=127.0.0.1', `--secure-port=${ports.scheduler}`],
      () => httpsOk(`https://127.0.0.1:${ports.scheduler}/healthz`),
    );

    if (options.storkScheduler) await this.startStorkScheduler(options.storkScheduler);

    this.log(`[box] starting KWOK v${binaries.versions.kwok}`);
    const kwokCert = await issueCertificate(ca, {
      commonName: 'kwok',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
      validityDays: 30,
    });
    await writeFile(join(pki, 'kwok.crt'), kwokCert.certPem);
    await writeFile(join(pki, 'kwok.key'), kwokCert.keyPem, { mode: 0o600 });
    const kwokConfig = join(dir, 'kwok.yaml');
    await writeFile(kwokConfig, await this.kwokConfiguration(options.execWorkDir ?? this.execWorkDir));
    await this.startComponent(
      'kwok',
      binaries.kwok,
      [
        `--kubeconfig=${adminKubeconfig}`,
        `--config=${kwokConfig}`,
        // Every node, unless a test takes one away from KWOK (to play a node that is really down).
        `--manage-nodes-with-label-selector=!${unmanagedNodeLabel}`,
        `--tls-cert-file=${join(pki, 'kwok.crt')}`,
        `--tls-private-key-file=${join(pki, 'kwok.key')}`,
        `--server-address=127.0.0.1:${ports.kwok}`,
        `--node-port=${ports.kwok}`,
        '--node-lease-duration-seconds=40',
        // Pod IPs are only written into status; nothing is ever sent to them.
        `--cidr=${kwokPodCidr}`,
      ],
      () => this.componentAlive('kwok'),
    );

    // Pods cannot be created before their namespace's default ServiceAccount exists.
    await waitFor(
      'the default ServiceAccount',
      async () => {
        await this.api.get(resources.serviceAccounts, { namespace: 'default', name: 'default' });
        return true;
      },
      { timeoutMs: readyTimeoutMs },
    ).catch(async (error: unknown) => {
      throw new Error(
        `${String(error)}\n--- kube-controller-manager log ---\n${await this.logTail('kube-controller-manager')}`,
      );
    });

    if (options.realNode && this.link) {
      this.node = await RealNode.start(
        {
          boxDir: dir,
          api: this.api,
          ca,
          caFile: files.ca,
          apiserverPort: ports.apiserver,
          link: this.link,
          log: this.log,
          startComponent: (name, command, args, ready) => this.startComponent(name, command, args, ready),
        },
        typeof options.realNode === 'object' ? options.realNode : {},
      );
    }
  }

  /** Starts (or restarts) the second kube-scheduler, profile `stork`, registered with the extender. */
  async startStorkScheduler(extender: ExtenderRegistration): Promise<void> {
    await this.components.get('stork-scheduler')?.stop();
    this.components.delete('stork-scheduler');
    const config = join(this.dir, 'stork-scheduler.json');
    await writeFile(
      config,
      extender.shipped
        ? shippedStorkSchedulerConfiguration(await readFile(shippedStorkSchedulerSpec, 'utf8'), {
            urlPrefix: extender.urlPrefix,
            kubeconfig: this.kubeconfigPath,
            ...(extender.tls ? { tls: extender.tls } : {}),
          })
        : schedulerConfiguration({ schedulerName: 'stork', kubeconfig: this.kubeconfigPath, extender }),
    );
    this.log(`[box] starting kube-scheduler (stork) with extender ${extender.urlPrefix}`);
    await this.startComponent(
      'stork-scheduler',
      this.binaries.kubeScheduler,
      [`--config=${config}`, '--bind-address=127.0.0.1', `--secure-port=${this.ports.storkScheduler}`],
      () => httpsOk(`https://127.0.0.1:${this.ports.storkScheduler}/healthz`),
    );
  }

  /** Creates KWOK nodes and waits until each is Ready. */
  async addNodes(nodes: readonly BoxNode[]): Promise<void> {
    const existing = (await this.api.list<Node>(resources.nodes)).items.length;
    // A bounded number at a time: 5,000 creations at once outlast their timeout in the API server's queue.
    await inParallel(nodes, 50, async (node, i) => {
      const body: Node = {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: node.name,
          labels: {
            'kubernetes.io/hostname': node.name,
            'kubernetes.io/os': 'linux',
            type: 'kwok',
            ...node.labels,
          },
          annotations: { 'kwok.x-k8s.io/node': 'fake', ...node.annotations },
        },
        spec: {},
        status: { addresses: boxNodeAddresses(node, existing + i) },
      };
      try {
        await this.api.create(resources.nodes, body);
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
      }
    });
    const names = new Set(nodes.map((n) => n.name));
    let lastSaid = Date.now();
    await waitFor(
      `${names.size} KWOK node(s) Ready`,
      async () => {
        const list = await this.api.list<Node>(resources.nodes);
        const ready = list.items.filter(
          (n) =>
            names.has(n.metadata?.name ?? '') &&
            n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
        if (Date.now() - lastSaid > 30_000) {
          lastSaid = Date.now();
          this.log(`[box] ${ready.length} of ${names.size} KWOK nodes Ready`);
        }
        return ready.length === names.size;
      },
      // KWOK marks nodes Ready at a rate of its own: thousands take minutes. The list is not asked for
      // more often than its size warrants (5,000 nodes are megabytes the API server must send).
      {
        timeoutMs: Math.max(readyTimeoutMs, nodes.length * 100),
        intervalMs: Math.max(250, nodes.length),
      },
    ).catch(async (error: unknown) => {
      throw new Error(`${String(error)}\n--- kwok log ---\n${await this.logTail('kwok')}`);
    });
  }

  /** Runs the box's kubectl against it and returns stdout. */
  kubectl(args: readonly string[]): Promise<string> {
    return runCommand(this.binaries.kubectl, ['--kubeconfig', this.kubeconfigPath, ...args]);
  }

  /** The last lines of a component's log. */
  async logTail(component: string, lines = 30): Promise<string> {
    const process = this.components.get(component);
    if (process) return process.logTail(lines);
    return (await readFile(join(this.dir, 'logs', `${component}.log`), 'utf8').catch(() => ''))
      .split('\n')
      .slice(-lines)
      .join('\n');
  }

  /** Stops a component (e.g. to test restarts); {@link Box.stop} stops the rest. */
  async stopComponent(name: string): Promise<void> {
    await this.components.get(name)?.stop();
    this.components.delete(name);
  }

  /** Stops a component and starts it again with the same arguments (e.g. an API server restart). */
  async restartComponent(name: string): Promise<void> {
    const launch = this.launches.get(name);
    if (!launch)
      throw new Error(`no component named ${name}; known: ${[...this.launches.keys()].join(', ')}`);
    await this.stopComponent(name);
    this.log(`[box] restarting ${name}`);
    await this.startComponent(name, launch.command, launch.args, launch.ready);
  }

  /** Stops every component, newest first, and removes the box's directory. Safe to call twice. */
  async stop(options: { keepDir?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.apiClient?.close();
    for (const process of [...this.components.values()].reverse()) await process.stop();
    this.components.clear();
    // Containers outlive the kubelet and containerd: the real node's cleanup removes them, its mounts,
    // network namespace and cgroups. Also when the node failed half-way through starting.
    if (this.link) await (this.node ? this.node.stop() : cleanUpRealNode(this.dir, this.log));
    if (!options.keepDir) await rm(this.dir, { recursive: true, force: true });
  }

  private componentAlive(name: string): boolean {
    return this.components.get(name)?.running ?? false;
  }

  private async startComponent(
    name: string,
    command: string,
    args: string[],
    ready: () => Promise<boolean> | boolean,
  ): Promise<void> {
    const process = new ManagedProcess({
      name,
      command,
      args,
      logFile: join(this.dir, 'logs', `${name}.log`),
      cwd: this.dir,
    });
    this.components.set(name, process);
    this.launches.set(name, { command, args, ready });
    if (process.pid !== undefined) await recordBoxProcess(this.dir, process.pid);
    const stopWaiting = new AbortController();
    // A component that exits while starting has failed; say so at once instead of waiting out the timeout.
    const exitedEarly = process.exited.then((exit) => {
      throw new Error(`${name} exited (code ${exit.code ?? 'none'}, signal ${exit.signal ?? 'none'})`);
    });
    try {
      await Promise.race([
        waitFor(`${name} to become ready`, ready, {
          timeoutMs: readyTimeoutMs,
          intervalMs: 100,
          signal: stopWaiting.signal,
        }),
        exitedEarly,
      ]);
    } catch (error) {
      const tail = await process.logTail(40);
      throw new Error(
        `${name} failed to start: ${String(error)}\n--- last lines of ${name}.log ---\n${tail}`,
        { cause: error },
      );
    } finally {
      // Ends the readiness poll; both promises were subscribed by the race, so nothing goes unhandled.
      stopWaiting.abort();
    }
  }

  private async apiserverReady(caFile: string, admin: { certPem: string; keyPem: string }): Promise<boolean> {
    const ca = await readFile(caFile);
    return httpsOk(`${this.server}/readyz`, { ca, cert: admin.certPem, key: admin.keyPem });
  }

  private async kwokConfiguration(execWorkDir: string): Promise<string> {
    const stageFiles = [
      'node-initialize.yaml',
      'node-heartbeat-with-lease.yaml',
      'pod-ready.yaml',
      'pod-complete.yaml',
      'pod-delete.yaml',
    ];
    const stages = await Promise.all(
      stageFiles.map((f) => readFile(join(this.binaries.stagesDir, f), 'utf8')),
    );
    // One rule for every pod: `kubectl exec` runs the command on this host, in the exec work directory.
    const clusterExec = [
      'apiVersion: kwok.x-k8s.io/v1alpha1',
      'kind: ClusterExec',
      'metadata:',
      '  name: box-exec',
      'spec:',
      '  execs:',
      '  - local:',
      `      workDir: ${JSON.stringify(execWorkDir)}`,
    ].join('\n');
    return [...stages.map((s) => s.trim()), clusterExec].join('\n---\n') + '\n';
  }
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** GET over TLS; without a CA the component's self-signed serving certificate is accepted (loopback only). */
function httpsOk(url: string, tls: https.RequestOptions = { rejectUnauthorized: false }): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(url, { ...tls, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** Creates a namespace and waits for its default ServiceAccount, without which no pod can be created. */
export async function createNamespace(api: KubeApi, name: string): Promise<void> {
  await api.create(resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await waitFor(
    `ServiceAccount default in ${name}`,
    async () => {
      await api.get(resources.serviceAccounts, { namespace: name, name: 'default' });
      return true;
    },
    { timeoutMs: 30_000 },
  );
}
