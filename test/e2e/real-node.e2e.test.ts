// A real node in the box: containerd, runc, kubelet, kube-proxy and a CNI bridge in a network namespace
// of the box's own, running pods from the stork image next to the KWOK nodes.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Node, Pod } from '../../src/wire/k8s-types.js';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Box } from '../../src/box/box.js';
import { runCommand } from '../../src/box/command.js';
import { reapStaleBoxes } from '../../src/box/stale.js';
import { KubeApi } from '../../src/k8s/api.js';
import { loadKubeConfig } from '../../src/k8s/kubeconfig.js';
import { ensureStorkImage } from '../../src/box/image/stork-image.js';
import { ensureNodeBinaries } from '../../src/box/node/build.js';
import { cgroupV1Mounts, mountsUnder, realNodeNames } from '../../src/box/node/cleanup.js';
import { clusterDnsIp } from '../../src/box/node/cluster-dns.js';
import { inBenchmarkRange, kubernetesServiceIp, podCidr } from '../../src/box/node/network.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { createTestNamespace, waitForPod } from './helpers.js';

const root = new URL('../..', import.meta.url).pathname;

async function pauseImage(): Promise<string> {
  return `localhost/stork-ts-pause:${(await ensureNodeBinaries()).manifest.kubernetes}`;
}

describe('a real node in the box', () => {
  let box: Box;
  let image = '';
  let ns = '';
  /** Runs a script with node in the `hello` pod (kubectl exec); resolves to what it printed. */
  const nodeInHello = (script: string): Promise<string> =>
    box.kubectl(['exec', '-n', ns, 'hello', '--', 'node', '-e', script]);
  /** Fetches a URL from inside the `hello` pod: the body, or `error <code>`. */
  const fetchIn = (url: string): Promise<string> =>
    nodeInHello(
      `fetch(${JSON.stringify(url)}).then(r => r.text()).then(t => console.log(t), e => console.log('error', e.cause?.code ?? e.message))`,
    );
  beforeAll(async () => {
    image = (await ensureStorkImage()).name;
    box = await Box.start({ nodes: [{ name: 'kwok-1' }], realNode: { name: 'real-1' } });
    await box.realNode?.importImage(image);
    ns = await createTestNamespace(box.api, 'real');
  }, 1_200_000);
  afterAll(async () => {
    await box.stop();
  });

  /** A pod on the real node, from the stork image, as the image's non-root user. */
  function pod(name: string, script: string, labels: Record<string, string> = {}): Pod {
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels },
      spec: {
        nodeName: 'real-1',
        terminationGracePeriodSeconds: 1,
        securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000 },
        containers: [
          {
            name: 'main',
            image,
            imagePullPolicy: 'Never',
            command: ['sh', '-c', script],
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    };
  }

  it('registers a Ready node with a non-loopback InternalIP from 198.18.0.0/15, left alone by KWOK', async () => {
    const node = await box.api.get<Node>(resources.nodes, { name: 'real-1' });
    expect(node.metadata?.labels?.['box.stork.libopenstorage.org/unmanaged']).toBe('true');
    const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '';
    expect(inBenchmarkRange(ip), ip).toBe(true);
    expect(node.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:/);
    expect(node.status?.nodeInfo?.kubeletVersion).toBe(`v${box.binaries.versions.kubernetes}`);
  });

  it('runs a pod from the stork image; kubectl logs and exec reach it', async () => {
    await box.api.create(resources.pods, pod('hello', 'echo hello from $(id -u); exec sleep 3600'), ns);
    const running = await waitForPod(box.api, ns, 'hello', (p) => p.status?.phase === 'Running', 120_000);
    expect(running.status?.podIP?.startsWith(podCidr.split('.').slice(0, 3).join('.'))).toBe(true);
    const logs = await waitFor(
      'the log line',
      async () => {
        const out = await box.kubectl(['logs', '-n', ns, 'hello']);
        return out.includes('hello') ? out : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(logs.trim()).toBe('hello from 1000');
    expect((await box.kubectl(['exec', '-n', ns, 'hello', '--', 'node', '--version'])).trim()).toMatch(
      /^v24\./,
    );
  });

  it('routes a Service to its pod (kube-proxy, iptables), and pods reach the API server', async () => {
    const serve = `exec node -e "require('http').createServer((q, s) => s.end('pong')).listen(8080)"`;
    await box.api.create(resources.pods, pod('server', serve, { app: 'server' }), ns);
    await box.api.create(
      resources.services,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'server' },
        spec: { selector: { app: 'server' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
      ns,
    );
    await waitForPod(box.api, ns, 'server', (p) => p.status?.phase === 'Running', 120_000);
    const service = await box.api.get<{ spec: { clusterIP: string } }>(resources.services, {
      namespace: ns,
      name: 'server',
    });
    expect(inBenchmarkRange(service.spec.clusterIP)).toBe(true);
    const answer = await waitFor(
      'the Service to answer',
      async () =>
        (await fetchIn(`http://${service.spec.clusterIP}/`)).trim() === 'pong' ? 'pong' : undefined,
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(answer).toBe('pong');
    // The `kubernetes` Service, as in-cluster clients use it: its ClusterIP, TLS checked against the
    // mounted service-account CA, the pod's token.
    const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
    const version = await box.kubectl([
      'exec',
      '-n',
      ns,
      'hello',
      '--',
      'sh',
      '-c',
      `NODE_EXTRA_CA_CERTS=${sa}/ca.crt node -e "fetch('https://' + process.env.KUBERNETES_SERVICE_HOST + '/version', { headers: { authorization: 'Bearer ' + require('fs').readFileSync('${sa}/token', 'utf8') } }).then(r => r.json()).then(v => console.log(v.gitVersion))"`,
    ]);
    expect(version.trim()).toBe(`v${box.binaries.versions.kubernetes}`);
  });

  it('resolves Service names through the cluster DNS (CoreDNS behind kube-dns), as in-cluster clients do', async () => {
    // Depends on the previous case's `server` Service and `hello` pod.
    const resolve = (name: string): Promise<string> =>
      nodeInHello(
        `require('dns').promises.lookup(${JSON.stringify(name)}).then(a => console.log(a.address), e => console.log('error', e.code))`,
      );
    const resolvConf = await box.kubectl(['exec', '-n', ns, 'hello', '--', 'cat', '/etc/resolv.conf']);
    expect(resolvConf).toContain(`nameserver ${clusterDnsIp}`);
    expect(resolvConf).toContain(`search ${ns}.svc.cluster.local svc.cluster.local cluster.local`);
    const service = await box.api.get<{ spec: { clusterIP: string } }>(resources.services, {
      namespace: ns,
      name: 'server',
    });
    // A short name (the pod's namespace from the search path), the full name, and another namespace's.
    expect((await resolve('server')).trim()).toBe(service.spec.clusterIP);
    expect((await resolve(`server.${ns}.svc.cluster.local`)).trim()).toBe(service.spec.clusterIP);
    expect((await resolve('kubernetes.default')).trim()).toBe(kubernetesServiceIp);
    // And a name that does not exist is an answer (NXDOMAIN), not a timeout.
    expect((await resolve(`absent.${ns}.svc.cluster.local`)).trim()).toBe('error ENOTFOUND');
    // Through the DNS name, the Service answers as it does by address.
    const pong = await fetchIn('http://server/');
    expect(pong.trim()).toBe('pong');
  });

  it('stop removes what the node made: processes, mounts, network namespace, interfaces, cgroups', async () => {
    const dir = box.dir;
    const names = realNodeNames(dir);
    expect(existsSync(`/run/netns/${names.netns}`)).toBe(true);
    await box.stop();
    expect(existsSync(`/run/netns/${names.netns}`)).toBe(false);
    expect(mountsUnder(await readFile('/proc/self/mountinfo', 'utf8'), dir)).toEqual([]);
    await expect(runCommand('ip', ['link', 'show', names.hostInterface])).rejects.toThrow();
    for (const mount of cgroupV1Mounts(await readFile('/proc/self/mountinfo', 'utf8')))
      expect(existsSync(`${mount}${names.cgroupRoot}`), mount).toBe(false);
    const left = (await runCommand('ps', ['-eo', 'args'])).split('\n').filter((l) => l.includes(dir));
    expect(left).toEqual([]);
  });

  it("the reaper removes a crashed box's real node: containers, mounts, network namespace, cgroups", async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'src/box/cli/box-main.ts'), '--nodes', '1', '--real-node'],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // Whatever happens below, the box process does not outlive the test (the next box start reaps it).
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    const output: string[] = [];
    createInterface({ input: child.stderr }).on('line', (line) => output.push(line));
    const kubeconfig = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        output.push(line);
        const match = /export KUBECONFIG=(\S+)/.exec(line);
        if (match?.[1]) resolve(match[1]);
      });
      child.on('exit', () => reject(new Error(`box process exited early:\n${output.join('\n')}`)));
    });
    const dir = dirname(kubeconfig);
    const names = realNodeNames(dir);
    // A container of its own on the real node, so that the crash leaves one behind.
    const crashed = new KubeApi(loadKubeConfig({ kubeconfig }));
    try {
      // The pause image: every node's containerd has it (the crashed box's included), it runs until killed.
      const left: Pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'left' },
        spec: {
          nodeName: 'real-node',
          containers: [{ name: 'main', image: await pauseImage(), imagePullPolicy: 'Never' }],
        },
      };
      await crashed.create(resources.pods, left, 'default');
      await waitForPod(crashed, 'default', 'left', (p) => p.status?.phase === 'Running', 120_000);
    } finally {
      crashed.close();
    }
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    await reapStaleBoxes(() => undefined);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(`/run/netns/${names.netns}`)).toBe(false);
    expect(mountsUnder(await readFile('/proc/self/mountinfo', 'utf8'), dir)).toEqual([]);
    await expect(runCommand('ip', ['link', 'show', names.hostInterface])).rejects.toThrow();
    for (const mount of cgroupV1Mounts(await readFile('/proc/self/mountinfo', 'utf8')))
      expect(existsSync(`${mount}${names.cgroupRoot}`), mount).toBe(false);
    await waitFor(
      'no process naming the crashed box',
      async () => (await runCommand('ps', ['-eo', 'args'])).split('\n').every((l) => !l.includes(dir)),
      { timeoutMs: 10_000 },
    );
  }, 300_000);
});
