import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { serviceAccountKubeconfig } from '../../src/box/service-account.js';
import { request } from 'node:https';
import type { Event, Pod } from '../../src/wire/k8s-types.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { storkSchedulerTlsFiles } from '../../src/box/stork-scheduler-tls.js';
import type { ExtenderTlsFiles } from '../../src/box/scheduler-config.js';
import { schedulingDecisionAnnotation } from '../../src/wire/scheduling-documents.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { createTestNamespace, isRunning, testPod, waitForPod } from './helpers.js';
import { createDriverVolume, useStorkBox } from './stork-helpers.js';

/** One HTTPS request to the extender, with or without the stork scheduler's client certificate. */
function call(
  port: number,
  options: {
    path: string;
    body: string | undefined;
    tls: ExtenderTlsFiles;
    withClientCertificate: boolean;
    ca: string;
  },
  identity?: { cert: string; key: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: options.path,
        method: options.body === undefined ? 'GET' : 'POST',
        ca: options.ca,
        agent: false,
        ...(options.withClientCertificate && identity ? identity : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('the extender answers the stork scheduler only, and writes only for pods it knows', () => {
  const ctx = useStorkBox({
    box: { nodes: ['node-1', 'node-2', 'node-3'].map((name) => ({ name, labels: { 'px/rack': name } })) },
  });
  let ns = '';
  let victimNs = '';
  let tls: ExtenderTlsFiles;
  let identity: { cert: string; key: string };
  let ca = '';
  const port = (): number => ctx.stork.extenderPort ?? 0;
  const ask = (path: string, body: string | undefined, withClientCertificate: boolean) =>
    call(port(), { path, body, tls, withClientCertificate, ca }, identity);

  beforeAll(async () => {
    ns = await createTestNamespace(ctx.box.api, 'sec');
    victimNs = await createTestNamespace(ctx.box.api, 'victim');
    tls = await storkSchedulerTlsFiles(ctx.box);
    identity = { cert: await readFile(tls.certFile, 'utf8'), key: await readFile(tls.keyFile, 'utf8') };
    ca = await readFile(tls.caFile, 'utf8');
  });

  it('schedules a pod through the real stork scheduler over mutual TLS, next to its data', async () => {
    await createDriverVolume(ctx, ns, 'data', ['node-2']);
    await ctx.box.api.create(
      resources.pods,
      testPod('app', { schedulerName: 'stork', claims: ['data'] }),
      ns,
    );
    const pod = await waitForPod(ctx.box.api, ns, 'app', isRunning, 60_000);
    expect(pod.spec?.nodeName).toBe('node-2');
  });

  it('refuses filter and prioritize without the client certificate, and plain HTTP altogether', async () => {
    const body = JSON.stringify({ Pod: testPod('x'), NodeNames: ['node-1'] });
    for (const verb of ['/filter', '/prioritize']) {
      const refused = await ask(verb, body, false);
      expect(refused.status, verb).toBe(401);
      expect((await ask(verb, body, true)).status, verb).toBe(200);
    }
    // Probes need no certificate.
    expect((await ask('/healthz', undefined, false)).status).toBe(200);
    await expect(fetch(`http://127.0.0.1:${port()}/filter`, { method: 'POST', body })).rejects.toThrow();
  });

  it("writes no record and no event for a pod a forged request names (even with the scheduler's certificate)", async () => {
    // A pod in another tenant's namespace, placed by the default scheduler away from its data.
    await createDriverVolume(ctx, victimNs, 'vdata', ['node-3']);
    await ctx.box.api.create(
      resources.pods,
      testPod('victim', { claims: ['vdata'], nodeName: 'node-1' }),
      victimNs,
    );
    const victim = await waitForPod(ctx.box.api, victimNs, 'victim', isRunning, 60_000);
    const forged = (uid: string): string =>
      JSON.stringify({
        Pod: { ...victim, metadata: { ...victim.metadata, uid } },
        // Nodes without a replica: a real decision would warn NonOptimumScheduling on the pod.
        NodeNames: ['node-1', 'node-2'],
      });
    for (let i = 0; i < 10; i++) {
      for (const verb of ['/filter', '/prioritize'])
        expect((await ask(verb, forged(`forged-${i}`), true)).status).toBe(200);
    }
    // And a pod that does not exist at all.
    const ghost = { ...victim, metadata: { ...victim.metadata, name: 'ghost', uid: 'ghost' } };
    await ask('/prioritize', JSON.stringify({ Pod: ghost, NodeNames: ['node-1'] }), true);
    // Writes would come within the recorder's settle time (0.5 s) and the event queue: wait well past it.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const after = await ctx.box.api.get<Pod>(resources.pods, { namespace: victimNs, name: 'victim' });
    expect(after.metadata?.annotations?.[schedulingDecisionAnnotation]).toBeUndefined();
    // A CRD just installed may answer "storage is (re)initializing" for a moment: ask until it answers.
    const records = await waitFor(
      'the SchedulingDecisions of the namespace',
      () =>
        ctx.box.api.list(resources.schedulingDecisions, victimNs).then(
          (list) => list.items,
          () => undefined,
        ),
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(records).toEqual([]);
    expect(after.metadata?.resourceVersion).toBe(victim.metadata?.resourceVersion);
    const events = (await ctx.box.api.list<Event>(resources.events, victimNs)).items;
    expect(events.filter((e) => e.source?.component === 'stork' || e.reportingComponent === 'stork')).toEqual(
      [],
    );

    // The control: the same request with the pod's real UID is one stork acts on, so the silence above
    // is the UID check, not a slow writer.
    await ask('/prioritize', forged(victim.metadata?.uid ?? ''), true);
    await expect
      .poll(
        async () =>
          (
            await ctx.box.api.list(resources.schedulingDecisions, victimNs).catch(() => ({ items: [] }))
          ).items.map((r) => (r as { metadata?: { name?: string } }).metadata?.name),
        { timeout: 10_000, interval: 200 },
      )
      .toEqual(['victim']);
  });

  it('serves the status documents only to callers the API server authenticates and authorizes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stork-status-'));
    const spec = join(dir, 'nobody.yaml');
    await writeFile(
      spec,
      'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: status-nobody, namespace: kube-system}\n',
    );
    const kubeconfig = parse(
      await readFile(
        (await serviceAccountKubeconfig(ctx.box, { spec: pathToFileURL(spec) })).kubeconfigPath,
        'utf8',
      ),
    ) as { users: { user: { token: string } }[] };
    const token = kubeconfig.users[0]?.user.token ?? '';
    const status = (path: string, bearer?: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: ctx.stork.statusPort ?? 0,
            path,
            ca,
            agent: false,
            headers: bearer ? { Authorization: `Bearer ${bearer}` } : {},
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end();
      });
    expect(await status('/metrics')).toBe(401);
    expect(await status('/metrics', 'not-a-token')).toBe(401);
    // A real ServiceAccount without any grant: authenticated, not authorized.
    expect(await status('/metrics', token)).toBe(403);
    expect(await status(`/explain?namespace=${ns}&pod=app`, token)).toBe(403);
    expect(await status('/hyperconvergence', token)).toBe(403);
    // Granted `list pods` in one namespace: that namespace's report, nothing cluster-wide.
    await ctx.box.kubectl(['-n', ns, 'create', 'role', 'pod-reader', '--verb=get,list', '--resource=pods']);
    await ctx.box.kubectl([
      '-n',
      ns,
      'create',
      'rolebinding',
      'pod-reader',
      '--role=pod-reader',
      '--serviceaccount=kube-system:status-nobody',
    ]);
    await expect
      .poll(() => status(`/hyperconvergence?namespace=${ns}`, token), { timeout: 30_000 })
      .toBe(200);
    // (A refusal is remembered for 10 s: this one was asked before the grant.)
    await expect.poll(() => status(`/explain?namespace=${ns}&pod=app`, token), { timeout: 30_000 }).toBe(200);
    expect(await status('/hyperconvergence', token)).toBe(403);
    expect(await status('/healthz')).toBe(200);
  });

  it('refuses an oversized request with 413 and keeps serving and scheduling', async () => {
    const huge = `{"Pod": {"metadata": {"name": "x"}}, "NodeNames": ["${'n'.repeat(4 * 1024 * 1024)}"]}`;
    const refused = await ask('/filter', huge, true).catch((error: unknown) => ({
      status: 0,
      body: String(error),
    }));
    // Either the 413 arrives, or the connection is cut while the client still sends: never a 2xx or 5xx.
    expect([413, 0]).toContain(refused.status);
    expect((await ask('/healthz', undefined, false)).status).toBe(200);
    await ctx.box.api.create(
      resources.pods,
      testPod('after', { schedulerName: 'stork', claims: ['data'] }),
      ns,
    );
    const pod = await waitForPod(ctx.box.api, ns, 'after', isRunning, 60_000);
    expect(pod.spec?.nodeName).toBe('node-2');
  });
});
