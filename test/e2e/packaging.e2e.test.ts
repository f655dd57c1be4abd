// The shipped manifests against a real API server, and stork running under their ServiceAccount through
// an API server restart.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Lease, PersistentVolume, PersistentVolumeClaim } from '../../src/wire/k8s-types.js';
import { parse, parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildImageLayout } from '../../src/box/image-layout.js';
import { freePorts } from '../../src/box/ports.js';
import { ManagedProcess } from '../../src/box/process.js';
import { serviceAccountKubeconfig } from '../../src/box/service-account.js';
import { startStorkProcess } from '../../src/box/stork-process.js';
import { storkSchedulerTlsFiles } from '../../src/box/stork-scheduler-tls.js';
import { storageNodeId } from '../../src/box/storage.js';
import { defaultConfig } from '../../src/daemon/config.js';
import { startStork } from '../../src/daemon/stork.js';
import { KubeApi } from '../../src/k8s/api.js';
import { KubeApiError } from '../../src/k8s/errors.js';
import { loadKubeConfig } from '../../src/k8s/kubeconfig.js';
import { resources } from '../../src/k8s/paths.js';
import { silentLogger } from '../../src/lib/log.js';
import { waitFor } from '../../src/lib/wait.js';
import {
  createTestNamespace,
  deploySeedMysql,
  isRunning,
  testPod,
  waitForPod,
  waitForReplacement,
} from './helpers.js';
import { createDriverVolume, useStorkBox } from './stork-helpers.js';

const specsDir = fileURLToPath(new URL('../../specs/', import.meta.url));
const storkUser = 'system:serviceaccount:kube-system:stork-account';

describe('the shipped specs on a real API server, and stork under their ServiceAccount', () => {
  const ctx = useStorkBox({
    box: {
      nodes: ['node-1', 'node-2', 'node-3', 'node-4', 'node-5', 'node-6'].map((name) => ({ name })),
    },
    stork: {
      driverRefreshIntervalMs: 300,
      healthMonitorConfig: {
        ...defaultConfig.healthMonitorConfig,
        intervalMs: 300,
        graceMs: 2000,
        batchIntervalMs: 1000,
      },
    },
  });
  let ns = '';
  beforeAll(async () => {
    ns = await createTestNamespace(ctx.box.api, 'pack');
  });

  it('every manifest in specs/ passes a server-side dry run, object by object', async () => {
    const files = (await readdir(specsDir)).filter((f) => f.endsWith('.yaml')).sort();
    expect(files).toEqual([
      'stork-crds.yaml',
      'stork-daemonset.yaml',
      'stork-deployment.yaml',
      'stork-scheduler.yaml',
      'stork-snapshot-sc.yaml',
    ]);
    for (const file of files) {
      const path = join(specsDir, file);
      const documents = parseAllDocuments(await readFile(path, 'utf8')).filter((d) => d.toJS() !== null);
      const output = await ctx.box.kubectl(['apply', '--dry-run=server', '-f', path]);
      const accepted = output.split('\n').filter((line) => line.endsWith('(server dry run)'));
      expect(accepted, `${file}:\n${output}`).toHaveLength(documents.length);
    }
  });

  it('a manifest the API server rejects fails the dry run (the check above can fail)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stork-spec-'));
    const bad = join(dir, 'bad.yaml');
    // A Deployment whose selector does not match its pod labels: schema-valid YAML, refused by the server.
    await writeFile(
      bad,
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: bad, namespace: kube-system}
spec:
  selector: {matchLabels: {name: a}}
  template:
    metadata: {labels: {name: b}}
    spec: {containers: [{name: c, image: x}]}
`,
    );
    await expect(ctx.box.kubectl(['apply', '--dry-run=server', '-f', bad])).rejects.toThrow(
      /selector.? does not match template .?labels/,
    );
  });

  /** `kubectl auth can-i` as stork's ServiceAccount: true for "yes"; it exits 1 for "no". */
  async function storkCan(args: string[]): Promise<boolean> {
    try {
      return (await ctx.box.kubectl(['auth', 'can-i', `--as=${storkUser}`, ...args])).trim() === 'yes';
    } catch (error) {
      if (/\bno\b/.test(String(error))) return false;
      throw error;
    }
  }

  it('grants the ServiceAccount what stork does, and nothing beyond its features', async () => {
    // As users install it: the CRDs first (kubectl resolves the snapshot resources through discovery).
    const crds = join(specsDir, 'stork-crds.yaml');
    await ctx.box.kubectl(['apply', '-f', crds]);
    await ctx.box.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', crds]);
    const allowed = [
      ['create', 'pods', '--subresource=eviction', '-n', 'default'],
      ['delete', 'pods', '-n', 'default'],
      ['create', 'pods', '--subresource=exec', '-n', 'default'],
      // Exec over WebSocket (what stork's client uses) is authorized as get.
      ['get', 'pods', '--subresource=exec', '-n', 'default'],
      ['delete', 'volumeattachments.storage.k8s.io'],
      // Stork's own objects, by name; create cannot be restricted by name.
      ['update', 'leases.coordination.k8s.io/stork', '-n', 'kube-system'],
      ['create', 'leases.coordination.k8s.io', '-n', 'kube-system'],
      ['update', 'customresourcedefinitions.apiextensions.k8s.io/rules.stork.libopenstorage.org'],
      ['update', 'mutatingwebhookconfigurations.admissionregistration.k8s.io/stork-webhooks-cfg'],
      [
        'patch',
        'volumesnapshots.volumesnapshot.external-storage.k8s.io',
        '--subresource=status',
        '-n',
        'default',
      ],
      ['get', 'secrets/stork-webhook-secret', '-n', 'kube-system'],
      // Snapshot schedules: their status only.
      ['update', 'volumesnapshotschedules.stork.libopenstorage.org', '--subresource=status', '-n', 'default'],
      ['list', 'namespacedschedulepolicies.stork.libopenstorage.org', '-A'],
      ['delete', 'volumesnapshots.volumesnapshot.external-storage.k8s.io', '-n', 'default'],
      [
        'update',
        'customresourcedefinitions.apiextensions.k8s.io/volumesnapshotschedules.stork.libopenstorage.org',
      ],
    ];
    const refused = [
      ['get', 'secrets', '-n', 'default'],
      // Not every Secret of kube-system, nor the Leases of the controller manager and scheduler.
      ['get', 'secrets/bootstrap-token-abcdef', '-n', 'kube-system'],
      ['list', 'secrets', '-n', 'kube-system'],
      ['update', 'leases.coordination.k8s.io/kube-controller-manager', '-n', 'kube-system'],
      ['update', 'leases.coordination.k8s.io/kube-scheduler', '-n', 'kube-system'],
      ['update', 'leases.coordination.k8s.io', '-n', 'default'],
      ['delete', 'nodes'],
      ['update', 'deployments.apps', '-n', 'default'],
      ['create', 'nodes', '--subresource=proxy'],
      ['delete', 'customresourcedefinitions.apiextensions.k8s.io'],
      ['update', 'customresourcedefinitions.apiextensions.k8s.io/certificates.cert-manager.io'],
      ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
      ['delete', 'mutatingwebhookconfigurations.admissionregistration.k8s.io'],
      ['update', 'mutatingwebhookconfigurations.admissionregistration.k8s.io/another-webhook'],
      ['update', 'persistentvolumeclaims', '-n', 'default'],
      ['update', 'volumesnapshotschedules.stork.libopenstorage.org', '-n', 'default'],
      ['delete', 'schedulepolicies.stork.libopenstorage.org'],
    ];
    for (const args of allowed) expect(await storkCan(args), args.join(' ')).toBe(true);
    for (const args of refused) expect(await storkCan(args), args.join(' ')).toBe(false);
  });

  it('stork without its RBAC refuses to start, saying what it could not read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stork-spec-'));
    const spec = join(dir, 'nobody.yaml');
    await writeFile(
      spec,
      'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: stork-nobody, namespace: kube-system}\n',
    );
    const nobody = await serviceAccountKubeconfig(ctx.box, { spec: pathToFileURL(spec) });
    await expect(
      startStork(
        {
          ...defaultConfig,
          driver: 'pxd',
          driverEndpoint: ctx.storage.simulator.grpcEndpoint,
          kubeconfig: nobody.kubeconfigPath,
          extenderPort: 0,
          extenderHost: '127.0.0.1',
        },
        silentLogger,
      ),
    ).rejects.toThrow(/cannot list \w+: .*forbidden.*check the RBAC/is);
  });

  it('the compiled daemon, laid out as in the image, runs as the ServiceAccount: ready, leading, clean exit', async () => {
    const layout = await buildImageLayout();
    try {
      const [port = 0] = await freePorts(1);
      const stork = await startStorkProcess({
        box: ctx.box,
        storage: ctx.storage,
        extenderPort: port,
        compiledMain: layout.daemon,
      });
      try {
        // Ready means the storage state loaded: the driver found proto/ beside dist/ and spoke the SDK.
        await waitFor(
          'the compiled stork to be ready',
          async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok,
          { timeoutMs: 30_000 },
        );
        const holder = await waitFor(
          'the compiled stork to lead',
          async () =>
            (await ctx.box.api.get<Lease>(resources.leases, { namespace: 'kube-system', name: 'stork' })).spec
              ?.holderIdentity,
          { timeoutMs: 30_000 },
        );
        expect(holder).toBe(`${hostname()}_${stork.child.pid ?? 0}`);
      } finally {
        await stork.stop();
      }
      expect(stork.child.exitCode).toBe(0);
      expect(stork.refusals).toEqual([]);
    } finally {
      await rm(layout.app, { recursive: true, force: true });
    }
  });

  it("the stork scheduler runs as its spec's ServiceAccount and leads on its own Lease", async () => {
    const specUrl = pathToFileURL(join(specsDir, 'stork-scheduler.yaml'));
    const identity = await serviceAccountKubeconfig(ctx.box, { spec: specUrl });
    const configMap = parseAllDocuments(await readFile(specUrl, 'utf8'))
      .map((d) => d.toJS() as { kind?: string; data?: Record<string, string> } | null)
      .find((o) => o?.kind === 'ConfigMap');
    // The shipped configuration, leader election included; only the connection is this box's.
    const config = parse(configMap?.data?.['stork-config.yaml'] ?? '') as {
      leaderElection: { resourceName: string; resourceNamespace: string };
      extenders: { urlPrefix: string; tlsConfig?: Record<string, string> }[];
      clientConnection?: unknown;
    };
    config.clientConnection = { kubeconfig: identity.kubeconfigPath };
    // The client certificate stork issued, where this box keeps it instead of the mounted Secret.
    const tls = await storkSchedulerTlsFiles(ctx.box);
    for (const extender of config.extenders) {
      extender.urlPrefix = `https://127.0.0.1:${ctx.stork.extenderPort ?? 0}`;
      extender.tlsConfig = { ...extender.tlsConfig, ...tls };
    }
    const configFile = join(ctx.box.dir, 'shipped-stork-scheduler.json');
    await writeFile(configFile, JSON.stringify(config));
    const [port = 0] = await freePorts(1);
    const scheduler = new ManagedProcess({
      name: 'shipped-stork-scheduler',
      command: ctx.box.binaries.kubeScheduler,
      args: [`--config=${configFile}`, '--bind-address=127.0.0.1', `--secure-port=${port}`],
      logFile: join(ctx.box.dir, 'logs', 'shipped-stork-scheduler.log'),
    });
    const lease = {
      namespace: config.leaderElection.resourceNamespace,
      name: config.leaderElection.resourceName,
    };
    try {
      const renewals = new Set<string>();
      await waitFor(
        'the scheduler to take and renew its Lease',
        async () => {
          if (!scheduler.running) throw new Error(`kube-scheduler exited:\n${await scheduler.logTail()}`);
          try {
            const current = await ctx.box.api.get<Lease>(resources.leases, lease);
            if (current.spec?.renewTime) renewals.add(current.spec.renewTime);
          } catch (error) {
            if (!(error instanceof KubeApiError && error.statusCode === 404)) throw error;
          }
          // Two renewals: it may create the Lease and update it (the spec's RBAC allows both).
          return renewals.size >= 2;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      ).catch(async (error: unknown) => {
        throw new Error(`${String(error)}\n--- kube-scheduler log ---\n${await scheduler.logTail()}`);
      });
      expect(lease.name).toBe('stork-scheduler');
      expect(await scheduler.logTail(200)).not.toMatch(/forbidden/i);
    } finally {
      await scheduler.stop();
    }
  });

  it('after an API server restart, places new pods with their data and still moves pods off a failed driver', async () => {
    await ctx.box.restartComponent('kube-apiserver');
    // A restarted API server refuses requests (403) until its RBAC authorizer has read the roles, although
    // it reports ready; stork's informers retry through that window. Wait it out as stork's own
    // identity, then hold stork to the usual rule: nothing refused from here on.
    const asStork = new KubeApi(loadKubeConfig({ kubeconfig: ctx.storkKubeconfig }));
    try {
      await waitFor(
        'the restarted API server to authorize stork',
        async () => {
          try {
            await asStork.list(resources.nodes);
            return true;
          } catch (error) {
            if (error instanceof KubeApiError && error.statusCode === 403) return false;
            throw error;
          }
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
    } finally {
      asStork.close();
    }
    // Refusals stork logged before that moment (retried since) are the server's, not the RBAC's.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    ctx.forgiveRefusals();

    // Objects created after the restart must reach stork's caches: its watches resumed.
    await createDriverVolume(ctx, ns, 'after', ['node-4', 'node-5']);
    await waitFor(
      'the driver cache to know the volume',
      () => ctx.stork.cache.snapshot().volumesById.has(`${ns}-after`),
      { timeoutMs: 10_000 },
    );
    await ctx.box.api.create(
      resources.pods,
      testPod('after', { schedulerName: 'stork', claims: ['after'] }),
      ns,
    );
    const placed = await waitForPod(ctx.box.api, ns, 'after', isRunning, 60_000);
    expect(['node-4', 'node-5']).toContain(placed.spec?.nodeName);
    // Stork's own view agrees, which needs the claim and volume created after the restart in its caches.
    await waitFor(
      'stork to count the pod as hyper-converged',
      async () =>
        (await ctx.stork.metrics.registry.metrics()).includes(
          `stork_hyperconverged_pods_total{pod="after",namespace="${ns}"} 1`,
        ),
      { timeoutMs: 30_000 },
    );

    const mysql = await deploySeedMysql(ctx.box.api, ns);
    const claim = await ctx.box.api.get<PersistentVolumeClaim>(resources.persistentVolumeClaims, {
      namespace: ns,
      name: 'mysql-data',
    });
    const volume = await ctx.box.api.get<PersistentVolume>(resources.persistentVolumes, {
      name: claim.spec?.volumeName ?? '',
    });
    const replicas = ctx.storage.simulator.state
      .requireVolume(volume.spec?.csi?.volumeHandle ?? '')
      .replicaNodeIds.map((id) => id.replace(/^px-/, ''));
    const from = mysql.spec?.nodeName ?? '';
    expect(replicas).toContain(from);

    ctx.storage.simulator.state.setNodeStatus(storageNodeId(from), 'Offline');
    try {
      const replacement = await waitForReplacement(
        ctx.box.api,
        ns,
        'app=mysql',
        mysql.metadata?.uid,
        'the MySQL pod to move to the other replica node',
      );
      expect(replacement.spec?.nodeName).not.toBe(from);
      expect(replicas).toContain(replacement.spec?.nodeName);
    } finally {
      ctx.storage.simulator.state.setNodeStatus(storageNodeId(from), 'Online');
    }
  });
});
