import { createServer, type IncomingMessage, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  Deployment,
  Event,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
} from '../../src/wire/k8s-types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execInPod } from '../../src/k8s/exec.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { createTestNamespace, isRunning, testPod, useBox, waitForPod } from './helpers.js';

/** A scheduler extender for tests: keeps only `allowedNode`, and records every call it receives. */
class RecordingExtender {
  readonly calls: { verb: string; pod: string; nodes: string[] }[] = [];
  allowedNode = 'node-2';
  private readonly server: Server = createServer((req, res) => {
    void this.handle(req).then(
      (body) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      },
      (error: unknown) => {
        res.writeHead(400);
        res.end(String(error));
      },
    );
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    return `http://127.0.0.1:${address.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const args = JSON.parse(Buffer.concat(chunks).toString()) as {
      Pod: Pod;
      Nodes?: { items: Node[] };
    };
    const nodes = args.Nodes?.items ?? [];
    const names = nodes.map((n) => n.metadata?.name ?? '');
    const verb = req.url?.endsWith('/filter') ? 'filter' : 'prioritize';
    this.calls.push({ verb, pod: args.Pod.metadata?.name ?? '', nodes: names });
    if (verb === 'filter') {
      const failed = Object.fromEntries(
        names.filter((n) => n !== this.allowedNode).map((n) => [n, 'not allowed by the test extender']),
      );
      return {
        Nodes: { items: nodes.filter((n) => n.metadata?.name === this.allowedNode) },
        FailedNodes: failed,
      };
    }
    return names.map((Host) => ({ Host, Score: Host === this.allowedNode ? 10 : 0 }));
  }
}

describe('the box: a real control plane', () => {
  let namespace: string;
  const extender = new RecordingExtender();
  let extenderUrl = '';
  beforeAll(async () => {
    extenderUrl = await extender.listen();
  });
  const ctx = useBox(() => ({
    nodes: [
      { name: 'node-1', labels: { 'topology.kubernetes.io/zone': 'zone-a', 'px/rack': 'rack-1' } },
      { name: 'node-2', labels: { 'topology.kubernetes.io/zone': 'zone-a', 'px/rack': 'rack-2' } },
      { name: 'node-3', labels: { 'topology.kubernetes.io/zone': 'zone-b', 'px/rack': 'rack-3' } },
    ],
    storkScheduler: { urlPrefix: extenderUrl, nodeCacheCapable: false },
  }));
  beforeAll(async () => {
    namespace = await createTestNamespace(ctx.box.api, 'box');
  });
  afterAll(async () => {
    await extender.close();
  });

  it('creates KWOK nodes with the requested labels and distinct addresses', async () => {
    const nodes = (await ctx.box.api.list<Node>(resources.nodes)).items;
    expect(nodes.map((n) => n.metadata?.name).sort()).toEqual(['node-1', 'node-2', 'node-3']);
    const node3 = nodes.find((n) => n.metadata?.name === 'node-3');
    expect(node3?.metadata?.labels?.['px/rack']).toBe('rack-3');
    expect(node3?.status?.addresses).toContainEqual({ type: 'Hostname', address: 'node-3' });
    const ips = nodes.map((n) => n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address);
    expect(new Set(ips).size).toBe(3);
  });

  it('runs a Deployment: controller-manager creates the pods, kube-scheduler places them, KWOK runs them', async () => {
    const deployment: Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'registry.invalid/web:1' }] },
        },
      },
    };
    await ctx.box.api.create(resources.deployments, deployment, namespace);
    const pods = await waitFor(
      'three running web pods',
      async () => {
        const list = await ctx.box.api.list<Pod>(resources.pods, namespace, { labelSelector: 'app=web' });
        return list.items.filter(isRunning).length === 3 ? list.items : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    for (const pod of pods) {
      expect(pod.metadata?.ownerReferences?.[0]?.kind).toBe('ReplicaSet');
      expect(pod.spec?.schedulerName).toBe('default-scheduler');
      expect(['node-1', 'node-2', 'node-3']).toContain(pod.spec?.nodeName);
    }
    const events = await ctx.box.api.list<Event>(resources.events, namespace, {
      fieldSelector: 'reason=Scheduled',
    });
    expect(
      events.items.some(
        (e) => e.source?.component === 'default-scheduler' || e.reportingComponent === 'default-scheduler',
      ),
    ).toBe(true);
  });

  it('binds a PVC to a matching static PV through the controller-manager', async () => {
    const pv: PersistentVolume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `pv-${namespace}` },
      spec: {
        capacity: { storage: '2Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: 'box-static',
        csi: { driver: 'pxd.portworx.com', volumeHandle: 'vol-123' },
      },
    };
    await ctx.box.api.create(resources.persistentVolumes, pv);
    const pvc: PersistentVolumeClaim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'box-static',
        resources: { requests: { storage: '1Gi' } },
      },
    };
    await ctx.box.api.create(resources.persistentVolumeClaims, pvc, namespace);
    const bound = await waitFor(
      'the PVC to bind',
      async () => {
        const claim = await ctx.box.api.get<PersistentVolumeClaim>(resources.persistentVolumeClaims, {
          namespace,
          name: 'data',
        });
        return claim.status?.phase === 'Bound' ? claim : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(bound.spec?.volumeName).toBe(`pv-${namespace}`);
  });

  describe('exec through the API server', () => {
    beforeAll(async () => {
      await ctx.box.api.create(resources.pods, testPod('shell'), namespace);
      await waitForPod(ctx.box.api, namespace, 'shell', isRunning);
    });

    const run = (command: string, timeoutMs = 30_000) =>
      execInPod(ctx.box.kubeConfig(), {
        namespace,
        pod: 'shell',
        container: 'main',
        command: ['sh', '-c', command],
        timeoutMs,
      });

    it('returns stdout, stderr and exit code 0', async () => {
      const result = await run('echo out; echo err >&2');
      expect(result).toEqual({ stdout: 'out\n', stderr: 'err\n', exitCode: 0 });
    });

    it('reports a non-zero exit as such', async () => {
      const result = await run('echo failing >&2; exit 3');
      expect(result.exitCode).toBe(3);
      expect(result.stderr).toBe('failing\n');
    });

    it('resolves when the command ends, not when the connection opens', async () => {
      const started = Date.now();
      const result = await run('sleep 1.5; echo finished > finished.txt; echo done');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
      expect(result.stdout).toBe('done\n');
      // KWOK runs the command on this host, in the box's exec directory.
      expect(await readFile(join(ctx.box.execWorkDir, 'finished.txt'), 'utf8')).toBe('finished\n');
    });

    it('times out a command that does not end', async () => {
      await expect(run('sleep 5', 500)).rejects.toThrow(/did not finish within 500 ms/);
    });

    it('fails clearly for a pod that does not exist', async () => {
      await expect(
        execInPod(ctx.box.kubeConfig(), {
          namespace,
          pod: 'nope',
          container: 'main',
          command: ['true'],
          timeoutMs: 10_000,
        }),
      ).rejects.toThrow(/nope/);
    });
  });

  it('schedules a schedulerName: stork pod with the second scheduler, which calls the extender', async () => {
    extender.allowedNode = 'node-2';
    await ctx.box.api.create(resources.pods, testPod('via-stork', { schedulerName: 'stork' }), namespace);
    const pod = await waitForPod(ctx.box.api, namespace, 'via-stork', isRunning);
    expect(pod.spec?.nodeName).toBe('node-2');
    const calls = extender.calls.filter((c) => c.pod === 'via-stork');
    expect(calls.map((c) => c.verb)).toContain('filter');
    expect(calls.find((c) => c.verb === 'filter')?.nodes.sort()).toEqual(['node-1', 'node-2', 'node-3']);
    const events = await ctx.box.api.list<Event>(resources.events, namespace, {
      fieldSelector: 'involvedObject.name=via-stork,reason=Scheduled',
    });
    expect(events.items.map((e) => e.reportingComponent ?? e.source?.component)).toContain('stork');
  });

  it('reports a component that fails to start with the tail of its log', async () => {
    await expect(
      ctx.box.startStorkScheduler({ urlPrefix: extenderUrl, httpTimeout: 'not-a-duration' }),
    ).rejects.toThrow(
      /stork-scheduler failed to start[\s\S]*last lines of stork-scheduler\.log[\s\S]*not-a-duration/,
    );
    // Put the working scheduler back for the tests that follow.
    await ctx.box.startStorkScheduler({ urlPrefix: extenderUrl });
  });

  it('leaves a default-scheduler pod alone from the extender', async () => {
    const before = extender.calls.length;
    await ctx.box.api.create(resources.pods, testPod('plain'), namespace);
    await waitForPod(ctx.box.api, namespace, 'plain', isRunning);
    expect(extender.calls.slice(before).filter((c) => c.pod === 'plain')).toEqual([]);
  });
});
