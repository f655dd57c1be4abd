import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PersistentVolumeClaim, Pod } from '../../src/wire/k8s-types.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { storageNodeId } from '../../src/box/storage.js';
import {
  schedulingDecisionAnnotation,
  type HyperconvergenceReport,
  type SchedulingDecision,
} from '../../src/wire/scheduling-documents.js';
import { ensureCrds } from '../../src/k8s/crds/install.js';
import type { Rule } from '../../src/k8s/crds/rule.js';
import type { SchedulingDecisionObject } from '../../src/k8s/crds/scheduling-decision.js';
import type { VolumeSnapshot, VolumeSnapshotData } from '../../src/k8s/crds/volume-snapshot.js';
import { isNotFound } from '../../src/k8s/errors.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import type { PodExplanation } from '../../src/cli/explain.js';
import { createTestNamespace, isRunning, testPod, waitForPod } from './helpers.js';
import { createDriverVolume, useStorkBox } from './stork-helpers.js';
import { pathToFileURL } from 'node:url';
import { serviceAccountKubeconfig } from '../../src/box/service-account.js';
import { storkSchedulerTlsFiles } from '../../src/box/stork-scheduler-tls.js';

const repo = new URL('../..', import.meta.url).pathname;
const tsx = join(repo, 'node_modules/.bin/tsx');
const main = join(repo, 'src/cli/storkctl-main.ts');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, [...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const topology = [
  { name: 'node-1', rack: 'r1', zone: 'za' },
  { name: 'node-2', rack: 'r1', zone: 'za' },
  { name: 'node-3', rack: 'r2', zone: 'za' },
  { name: 'node-4', rack: 'r3', zone: 'zb' },
  { name: 'node-5', rack: 'r4', zone: 'zc' },
];

describe('storkctl against the real API server and a running stork', () => {
  const ctx = useStorkBox({
    box: {
      nodes: topology.map((n) => ({
        name: n.name,
        labels: { 'px/rack': n.rack, 'topology.kubernetes.io/zone': n.zone },
      })),
    },
  });
  let ns = '';
  beforeAll(async () => {
    await ensureCrds(ctx.box.api);
    ns = await createTestNamespace(ctx.box.api, 'ctl');
    // Established CRDs can still answer 503 "storage is (re)initializing" for a moment.
    await waitFor(
      'the snapshot and rule APIs to serve',
      async () => {
        await ctx.box.api.list(resources.volumeSnapshots, ns);
        await ctx.box.api.list(resources.rules, ns);
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  });

  /** storkctl as users run it: a separate process, with the box's kubeconfig. */
  const storkctl = (...args: string[]): Promise<Result> =>
    run(tsx, [main, '--kubeconfig', ctx.box.kubeconfigPath, ...args]);
  /**
   * One stork replica's status port, read as a user whose token may get and list pods (stork asks the API
   * server: TokenReview, SubjectAccessReview); its certificate checked against the CA stork issued.
   */
  let reader = '';
  let caFile = '';
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'storkctl-reader-'));
    const spec = join(dir, 'reader.yaml');
    await writeFile(
      spec,
      [
        'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: storkctl-reader, namespace: kube-system}',
        'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: storkctl-reader}\n' +
          "rules: [{apiGroups: [''], resources: [pods], verbs: [get, list]}," +
          ' {apiGroups: [stork.libopenstorage.org], resources: [schedulingdecisions], verbs: [get]}]',
        'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: storkctl-reader}\n' +
          'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: storkctl-reader}\n' +
          'subjects: [{kind: ServiceAccount, name: storkctl-reader, namespace: kube-system}]',
      ].join('\n---\n'),
    );
    reader = (await serviceAccountKubeconfig(ctx.box, { spec: pathToFileURL(spec) })).kubeconfigPath;
    caFile = (await storkSchedulerTlsFiles(ctx.box)).caFile;
  });
  const direct = (): string[] => [
    '--stork-url',
    `https://127.0.0.1:${ctx.stork.statusPort ?? 0}`,
    '--stork-ca-file',
    caFile,
    '--kubeconfig',
    reader,
  ];

  async function ok(...args: string[]): Promise<string> {
    const result = await storkctl(...args);
    expect(result.stderr, `storkctl ${args.join(' ')}`).toBe('');
    expect(result.code).toBe(0);
    return result.stdout;
  }

  async function fails(...args: string[]): Promise<string> {
    const result = await storkctl(...args);
    expect(result.code, `storkctl ${args.join(' ')}: ${result.stdout}`).toBe(1);
    expect(result.stderr).toMatch(/^Error: /);
    return result.stderr;
  }

  describe('snapshots', () => {
    it('creates, lists in every format, filters by claim, and deletes snapshots', async () => {
      await expect(ok('get', 'snapshot', '-n', ns)).resolves.toBe('No resources found.\n');
      expect(await ok('create', 'snapshot', 'snap-a', '-p', 'data-1', '-n', ns)).toBe(
        'Snapshot snap-a created successfully\n',
      );
      await ok('create', 'snapshot', 'snap-b', '-p', 'data-2', '-n', ns);
      const created = await ctx.box.api.get<VolumeSnapshot>(resources.volumeSnapshots, {
        namespace: ns,
        name: 'snap-a',
      });
      expect(created.spec.persistentVolumeClaimName).toBe('data-1');

      const table = await ok('get', 'snapshot', '-n', ns);
      const lines = table.trimEnd().split('\n');
      expect(lines[0]?.split(/\s{3,}/)).toEqual(['NAME', 'PVC', 'STATUS', 'CREATED', 'COMPLETED', 'TYPE']);
      expect(lines[1]).toMatch(/^snap-a\s+data-1\s+Pending\s+\d\d \w{3} \d\d \d\d:\d\d UTC\s+Local$/);
      expect(lines).toHaveLength(3);

      // What the snapshot controller does once the data is taken: a data object named after the
      // snapshot's UID and the Ready condition (through the status subresource).
      const dataName = `k8s-volume-snapshot-${created.metadata.uid ?? ''}`;
      await ctx.box.api.create<VolumeSnapshotData>(resources.volumeSnapshotDatas, {
        apiVersion: 'volumesnapshot.external-storage.k8s.io/v1',
        kind: 'VolumeSnapshotData',
        metadata: { name: dataName },
        spec: { portworxVolume: { snapshotId: 'sid-1', snapshotType: 'cloud' } },
      });
      const readyAt = '2026-03-04T05:06:07Z';
      await ctx.box.api.patch(
        resources.volumeSnapshots,
        { namespace: ns, name: 'snap-a', subresource: 'status' },
        { status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: readyAt }] } },
      );
      await ctx.box.api.patch(
        resources.volumeSnapshots,
        { namespace: ns, name: 'snap-a' },
        { spec: { snapshotDataName: dataName } },
      );
      const one = await ok('get', 'snapshot', 'snap-a', '-n', ns);
      expect(one.split('\n')[1]).toMatch(/^snap-a\s+data-1\s+Ready\s+.+ UTC\s+04 Mar 26 05:06 UTC\s+cloud$/);

      const json = JSON.parse(
        await ok('get', 'snapshot', 'snap-a', '-n', ns, '-o', 'json'),
      ) as VolumeSnapshot;
      expect(json.metadata.name).toBe('snap-a');
      expect(json.spec.snapshotDataName).toBe(dataName);
      const list = parse(await ok('get', 'snapshots', '-n', ns, '-o', 'yaml')) as {
        kind: string;
        items: VolumeSnapshot[];
      };
      expect(list.kind).toBe('List');
      expect(list.items.map((s) => s.metadata.name).sort()).toEqual(['snap-a', 'snap-b']);

      const byClaim = await ok('get', 'snapshot', '-p', 'data-2', '-n', ns);
      expect(byClaim).toContain('snap-b');
      expect(byClaim).not.toContain('snap-a');

      expect(await ok('delete', 'snapshot', '-p', 'data-2', '-n', ns)).toBe(
        'Snapshot snap-b deleted successfully\n',
      );
      expect(await ok('delete', 'snapshot', 'snap-a', '-n', ns)).toBe(
        'Snapshot snap-a deleted successfully\n',
      );
      const left = await ctx.box.api.list<VolumeSnapshot>(resources.volumeSnapshots, ns);
      expect(left.items).toEqual([]);
      await ctx.box.api.delete(resources.volumeSnapshotDatas, { name: dataName });
    });

    it('reports a missing snapshot and missing arguments, exit 1', async () => {
      expect(await fails('get', 'snapshot', 'nope', '-n', ns)).toBe(
        `Error: volumesnapshots "nope" not found in namespace "${ns}"\n`,
      );
      expect(await fails('delete', 'snapshot', 'nope', '-n', ns)).toContain('"nope" not found');
      expect(await fails('create', 'snapshot', 'x', '-n', ns)).toBe('Error: PVC name needs to be given\n');
      expect(await fails('delete', 'snapshot', '-n', ns)).toContain('At least one argument');
    });
  });

  describe('create pvc', () => {
    it('creates a claim restoring a snapshot, with the source namespace and access mode', async () => {
      expect(
        await ok(
          'create',
          'pvc',
          'restored',
          '-s',
          'snap-a',
          '--size',
          '2Gi',
          '--source-ns',
          'other',
          '-a',
          'ReadWriteMany',
          '-n',
          ns,
        ),
      ).toBe('PersistentVolumeClaim restored created successfully\n');
      const claim = await ctx.box.api.get<PersistentVolumeClaim>(resources.persistentVolumeClaims, {
        namespace: ns,
        name: 'restored',
      });
      expect(claim.spec?.storageClassName).toBe('stork-snapshot-sc');
      expect(claim.spec?.accessModes).toEqual(['ReadWriteMany']);
      expect(claim.spec?.resources?.requests?.storage).toBe('2Gi');
      expect(claim.metadata?.annotations).toMatchObject({
        'snapshot.alpha.kubernetes.io/snapshot': 'snap-a',
        'stork/snapshot-source-namespace': 'other',
      });
      await ctx.box.api.delete(resources.persistentVolumeClaims, { namespace: ns, name: 'restored' });
    });

    it('needs a size and a valid one (Stork: "Size needs to be provided")', async () => {
      expect(await fails('create', 'pvc', 'x', '-s', 's', '-n', ns)).toBe(
        'Error: Size needs to be provided\n',
      );
      expect(await fails('create', 'pvc', 'x', '-s', 's', '--size', 'lots', '-n', ns)).toContain(
        'invalid size',
      );
      expect(
        await fails('create', 'pvc', 'x', '-s', 's', '--size', '1Gi', '-a', 'Sometimes', '-n', ns),
      ).toContain('invalid access mode');
      await expect(
        ctx.box.api
          .get(resources.persistentVolumeClaims, { namespace: ns, name: 'x' })
          .catch((e: unknown) => isNotFound(e)),
      ).resolves.toBe(true);
    });
  });

  it('lists rules as a table and as JSON', async () => {
    await expect(ok('get', 'rules', '-n', ns)).resolves.toBe('No resources found.\n');
    await ctx.box.api.create<Rule>(
      resources.rules,
      {
        apiVersion: 'stork.libopenstorage.org/v1alpha1',
        kind: 'Rule',
        metadata: { name: 'mysql-pre' },
        rules: [
          { podSelector: { app: 'mysql' }, actions: [{ type: 'command', value: 'flush', background: true }] },
        ],
      },
      ns,
    );
    const table = (await ok('get', 'rules', '-n', ns)).split('\n');
    expect(table[0]?.split(/\s{3,}/)).toEqual(['NAME', 'ITEMS', 'ACTIONS', 'AGE']);
    expect(table[1]).toMatch(/^mysql-pre\s+1\s+command\(background\)\s+\d+s$/);
    const json = JSON.parse(await ok('get', 'rules', '-n', ns, '-o', 'json')) as { items: Rule[] };
    expect(json.items.map((r) => r.metadata.name)).toEqual(['mysql-pre']);
  });

  describe('errors', () => {
    it('an unreachable cluster', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'storkctl-'));
      try {
        const config = parse(await readFile(ctx.box.kubeconfigPath, 'utf8')) as {
          clusters: { cluster: { server: string } }[];
        };
        // Port 1 on loopback: nothing listens there.
        for (const c of config.clusters) c.cluster.server = 'https://127.0.0.1:1';
        const broken = join(dir, 'kubeconfig');
        await writeFile(broken, stringify(config));
        const result = await run(tsx, [main, '--kubeconfig', broken, 'get', 'snapshot']);
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(
          /^Error: cannot reach the Kubernetes API server at https:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/,
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('a missing kubeconfig, an unknown context, bad flags and an unknown command', async () => {
      const missing = await run(tsx, [main, '--kubeconfig', '/nonexistent/kubeconfig', 'get', 'snapshot']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^Error: cannot load the kubeconfig: .*no such file/);
      expect(await fails('--context', 'nowhere', 'get', 'snapshot')).toContain(
        'context "nowhere" does not exist',
      );
      expect(await fails('get', 'snapshot', '--bogus')).toBe("Error: unknown option '--bogus'\n");
      expect(await fails('get', 'snapshot', '-o', 'xml')).toContain("argument 'xml' is invalid");
      expect(await fails('get', 'volumes')).toContain("unknown command 'volumes'");
    });

    it('stork not reachable through its service, with a hint', async () => {
      const stderr = await fails('get', 'hyperconvergence', '--kubeconfig', reader);
      expect(stderr).toContain('through service kube-system/https:stork-service:status');
      expect(stderr).toContain('--stork-url');
    });

    it('a kubeconfig without a bearer token cannot read the status port, and is told why', async () => {
      // The box's admin authenticates with a client certificate: there is no token to send to stork.
      expect(await fails('get', 'hyperconvergence', ...direct().slice(0, 4))).toContain(
        'needs a bearer token',
      );
    });
  });

  it('works as a kubectl plugin (kubectl stork ...)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubectl-plugin-'));
    try {
      const launcher = join(dir, 'kubectl-stork');
      await writeFile(launcher, `#!/bin/sh\nexec "${tsx}" "${main}" "$@"\n`);
      await chmod(launcher, 0o755);
      await ok('create', 'snapshot', 'plugged', '-p', 'data-9', '-n', ns);
      const env = {
        ...process.env,
        PATH: `${dir}:${process.env.PATH ?? ''}`,
        KUBECONFIG: ctx.box.kubeconfigPath,
      };
      const result = await run(ctx.box.binaries.kubectl, ['stork', 'get', 'snapshot', '-n', ns], env);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^NAME\s+PVC\s+STATUS/);
      expect(result.stdout).toMatch(/\nplugged\s+data-9\s+Pending/);
      const plugins = await run(ctx.box.binaries.kubectl, ['plugin', 'list'], env);
      expect(plugins.stdout).toContain(launcher);
    } finally {
      await ok('delete', 'snapshot', 'plugged', '-n', ns);
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('explain and hyper-convergence', () => {
    /** The decision recorded for the pod, once it is one that `done` accepts (earlier cycles may show first). */
    async function recorded(
      name: string,
      done: (d: SchedulingDecision) => boolean,
    ): Promise<SchedulingDecision> {
      return waitFor(
        `the decision recorded on ${name}`,
        async () => {
          const pod = await ctx.box.api.get<Pod>(resources.pods, { namespace: ns, name });
          // Beside the pod, owned by it; the pod itself is not written.
          expect(pod.metadata?.annotations?.[schedulingDecisionAnnotation]).toBeUndefined();
          const record = await ctx.box.api
            .get<SchedulingDecisionObject>(resources.schedulingDecisions, { namespace: ns, name })
            .catch((error: unknown) => {
              if (isNotFound(error)) return undefined;
              throw error;
            });
          if (!record) return undefined;
          expect(record.metadata.ownerReferences?.map((o) => o.uid)).toEqual([pod.metadata?.uid]);
          const decision = record.decision as SchedulingDecision;
          return done(decision) ? decision : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
    }

    it("matches the extender's decision for a scheduled pod", async () => {
      await createDriverVolume(ctx, ns, 'one', ['node-3']);
      await createDriverVolume(ctx, ns, 'two', ['node-3', 'node-4']);
      await ctx.box.api.create(
        resources.pods,
        testPod('app', { schedulerName: 'stork', claims: ['one', 'two'] }),
        ns,
      );
      const pod = await waitForPod(ctx.box.api, ns, 'app', isRunning, 60_000);
      expect(pod.spec?.nodeName).toBe('node-3');
      // The cycle that placed the pod is the last one: its scores are the decision the extender made.
      const decision = await recorded('app', (d) => d.topNode !== undefined);

      const out = JSON.parse(await ok('explain', 'pod', 'app', '-n', ns, '-o', 'json')) as PodExplanation;
      expect(out.pod.node).toBe('node-3');
      expect(out.recorded).toEqual(decision);
      expect(out.recorded?.source).toBe('recorded');
      expect(out.recorded?.topNode).toBe(pod.spec?.nodeName);
      const byNode = new Map(out.recorded?.nodes.map((n) => [n.node, n]));
      // node-3 holds a replica of both volumes, node-4 of one and node-3's rack mate none.
      expect(byNode.get('node-3')).toMatchObject({ passed: true, replica: 200, raw: 200 });
      expect(byNode.get('node-4')).toMatchObject({ passed: true, replica: 100 });
      expect(byNode.get('node-1')).toMatchObject({ passed: true, replica: 0, zone: 50 });
      expect(byNode.get('node-5')).toMatchObject({ passed: true, replica: 0, raw: 5 });
      const top = Math.max(...(out.recorded?.nodes.map((n) => n.score ?? 0) ?? []));
      expect(byNode.get('node-3')?.score).toBe(top);

      const table = await ok('explain', 'pod', 'app', '-n', ns);
      expect(table).toContain(`Pod ${ns}/app runs on node node-3.`);
      expect(table).toContain('Stork scored node-3 highest.');
      const header = table.split('\n').find((l) => l.startsWith('NODE'));
      expect(header?.split(/\s{3,}/)).toEqual([
        'NODE',
        'FILTER',
        'REASON',
        'SCORE',
        'REPLICA',
        'RACK',
        'ZONE',
        'REGION',
      ]);
      expect(table).toMatch(/\nnode-3\s+passed\s+\d+ \(200\)\s+200\s+0\s+0\s+0\n/);

      const yaml = parse(await ok('explain', 'pod', 'app', '-n', ns, '-o', 'yaml')) as PodExplanation;
      expect(yaml.recorded).toEqual(decision);

      // --now asks the running stork: same verdict from the current caches.
      const now = JSON.parse(
        await ok('explain', 'pod', 'app', '-n', ns, '-o', 'json', '--now', ...direct()),
      ) as PodExplanation;
      expect(now.now?.source).toBe('now');
      expect(now.now?.topNode).toBe('node-3');
    });

    it('shows why a pending pod cannot be placed', async () => {
      await createDriverVolume(ctx, ns, 'stuck', ['node-5']);
      ctx.storage.simulator.state.setNodeStatus(storageNodeId('node-5'), 'Offline');
      try {
        // Otherwise the scheduler may still place the pod on node-5 from a stale view.
        await waitFor(
          "stork's cache to see node-5 Offline and the volume",
          () => {
            const snapshot = ctx.stork.cache.snapshot();
            return (
              snapshot.nodesById.get(storageNodeId('node-5'))?.status === 'Offline' &&
              snapshot.volumesById.has(`${ns}-stuck`)
            );
          },
          { timeoutMs: 30_000, intervalMs: 100 },
        );
        await ctx.box.api.create(
          resources.pods,
          testPod('waiting', { schedulerName: 'stork', claims: ['stuck'] }),
          ns,
        );
        const decision = await recorded('waiting', (d) => d.error?.startsWith('No online node') === true);
        expect(decision.error).toContain('No online node found with volume replica');
        const text = await waitFor(
          'stork to see the pod',
          async () => {
            const result = await storkctl('explain', 'pod', 'waiting', '-n', ns, ...direct());
            return result.code === 0 && result.stdout.includes('What stork would decide now')
              ? result.stdout
              : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 500 },
        );
        expect(text).toContain(`Pod ${ns}/waiting is not scheduled (Pending).`);
        expect(text).toMatch(
          /What stork would decide now: .*\nNo node passed the filter: No online node found with volume replica/,
        );
        const pod = await ctx.box.api.get<Pod>(resources.pods, { namespace: ns, name: 'waiting' });
        expect(pod.spec?.nodeName).toBeUndefined();
      } finally {
        // Gone before its storage comes back, so it never runs (the placement test counts running pods).
        await ctx.box.api.delete(
          resources.pods,
          { namespace: ns, name: 'waiting' },
          { gracePeriodSeconds: 0 },
        );
        ctx.storage.simulator.state.setNodeStatus(storageNodeId('node-5'), 'Online');
      }
    });

    it('classifies running pods by hyper-convergence, as placed', async () => {
      // Pinned pods (no scheduler): replica on the same node, in the same rack, and in another zone.
      await createDriverVolume(ctx, ns, 'near', ['node-2']);
      await createDriverVolume(ctx, ns, 'far', ['node-1']);
      await ctx.box.api.create(
        resources.pods,
        testPod('rackmate', { nodeName: 'node-1', claims: ['near'] }),
        ns,
      );
      await ctx.box.api.create(
        resources.pods,
        testPod('remote', { nodeName: 'node-4', claims: ['far'] }),
        ns,
      );
      for (const name of ['rackmate', 'remote']) await waitForPod(ctx.box.api, ns, name, isRunning, 60_000);
      const report = await waitFor(
        'stork to see the running pods',
        async () => {
          const result = await storkctl('get', 'hyperconvergence', '-n', ns, '-o', 'json', ...direct());
          const parsed = JSON.parse(result.stdout) as HyperconvergenceReport;
          return parsed.pods.length >= 3 ? parsed : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      const byPod = new Map(report.pods.map((p) => [p.pod, p]));
      expect(byPod.get('app')).toMatchObject({ node: 'node-3', placement: 'hyperconverged' });
      expect(byPod.get('app')?.volumes).toEqual(
        expect.arrayContaining([{ claim: 'two', volume: `${ns}-two`, replicaNodes: ['node-3', 'node-4'] }]),
      );
      expect(byPod.get('rackmate')).toMatchObject({ node: 'node-1', placement: 'semi-hyperconverged' });
      expect(byPod.get('remote')).toMatchObject({ node: 'node-4', placement: 'non-hyperconverged' });
      expect(byPod.has('waiting')).toBe(false);
      expect(report.summary).toEqual({
        total: 3,
        hyperconverged: 1,
        semiHyperconverged: 1,
        nonHyperconverged: 1,
      });

      const table = await ok('get', 'hyperconvergence', '-n', ns, ...direct());
      expect(table).toMatch(/\bapp\s+node-3\s+hyper-converged\s+one:\[node-3\] two:\[node-3,node-4\]/);
      expect(table).toMatch(/rackmate\s+node-1\s+same rack\/zone\s+near:\[node-2\]/);
      expect(table).toContain(
        '3 pod(s) with driver volumes: 1 hyper-converged (33%), 1 in the same rack or zone (33%), 1 not hyper-converged (33%).',
      );
      const yaml = parse(
        await ok('get', 'hc', '-n', ns, '-o', 'yaml', ...direct()),
      ) as HyperconvergenceReport;
      expect(yaml.summary.total).toBe(3);
      await expect(ok('get', 'hyperconvergence', '-n', 'kube-system', ...direct())).resolves.toBe(
        'No resources found.\n',
      );
    });

    it('still explains after stork restarts: the record is an API object, "now" comes from the new process', async () => {
      const before = JSON.parse(await ok('explain', 'pod', 'app', '-n', ns, '-o', 'json')) as PodExplanation;
      await ctx.stopStork();
      await ctx.startStork();
      const after = await waitFor(
        'the restarted stork to answer',
        async () => {
          const result = await storkctl(
            'explain',
            'pod',
            'app',
            '-n',
            ns,
            '-o',
            'json',
            '--now',
            ...direct(),
          );
          return result.code === 0 ? (JSON.parse(result.stdout) as PodExplanation) : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      expect(after.recorded).toEqual(before.recorded);
      expect(after.now?.topNode).toBe('node-3');
      expect(Date.parse(after.now?.time ?? '')).toBeGreaterThan(Date.parse(before.recorded?.time ?? ''));
    });

    it('explains a pod not scheduled by stork with a clear error', async () => {
      expect(await fails('explain', 'pod', 'remote', '-n', ns)).toContain(
        'no scheduling decision is recorded',
      );
      expect(await fails('explain', 'pod', 'remote', '-n', ns, '-o', 'json')).toContain(
        'no scheduling decision is recorded',
      );
      expect(await fails('explain', 'pod', 'ghost', '-n', ns)).toBe(
        `Error: pods "ghost" not found in namespace "${ns}"\n`,
      );
    });
  });
});
