import { X509Certificate } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { connect } from 'node:tls';
import type {
  MutatingWebhookConfiguration,
  PersistentVolumeClaim,
  Pod,
  Secret,
} from '../../src/wire/k8s-types.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../src/box/ports.js';
import { ensureStorageClass } from '../../src/box/storage.js';
import type { KubeApi } from '../../src/k8s/api.js';
import { resources } from '../../src/k8s/paths.js';
import { silentLogger } from '../../src/lib/log.js';
import { waitFor } from '../../src/lib/wait.js';
import { CertificateStore } from '../../src/k8s/certificate-store.js';
import { defaultWebhookConfig } from '../../src/webhook/webhook.js';
import { createTestNamespace, isRunning, testPod, waitForPod } from './helpers.js';
import { createDriverVolume, useStorkBox } from './stork-helpers.js';

// Stork runs on this host, so the API server calls it by URL on loopback (in a cluster: the Service).
const [webhookPort = 0] = await freePorts(1);
const webhookUrl = `https://127.0.0.1:${webhookPort}/mutate`;
const hookName = 'webhook.stork.libopenstorage.org';
// Short-lived serving certificates: they rotate about every 20 s throughout this file.
const certValidityMs = 30_000;

/** The API server's own metrics, as text. */
async function apiServerMetrics(api: KubeApi): Promise<string> {
  const response = await api.stream('/metrics');
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The sum of a metric's samples about our webhook whose labels include all of `labels`. */
async function apiServerCount(api: KubeApi, metric: string, labels: readonly string[] = []): Promise<number> {
  let total = 0;
  for (const line of (await apiServerMetrics(api)).split('\n')) {
    if (!line.startsWith(`${metric}{`) || !line.includes(`name="${hookName}"`)) continue;
    if (labels.every((l) => line.includes(l))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

const apiServerFailOpenCount = (api: KubeApi): Promise<number> =>
  apiServerCount(api, 'apiserver_admission_webhook_fail_open_count');

/** The certificate the webhook presents to a new connection right now (SHA-256 fingerprint). */
function presentedFingerprint(ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: webhookPort, ca }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

function post(body: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: webhookPort, path: '/mutate', method: 'POST', ca, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('admission webhook in the box: the API server calls stork, which sets schedulerName: stork', () => {
  const ctx = useStorkBox({
    box: { nodes: ['node-1', 'node-2', 'node-3', 'node-4'].map((name) => ({ name })) },
    stork: {
      webhook: true,
      webhookConfig: {
        ...defaultWebhookConfig,
        namespace: 'kube-system',
        port: webhookPort,
        host: '127.0.0.1',
        url: webhookUrl,
        certValidityMs,
        certCheckIntervalMs: 2000,
      },
    },
  });
  let ns = '';
  const api = (): KubeApi => ctx.box.api;
  beforeAll(async () => {
    ns = await createTestNamespace(ctx.box.api, 'hook');
    await ensureStorageClass(ctx.box, {
      metadata: { name: 'px-sc' },
      provisioner: 'pxd.portworx.com',
      parameters: { repl: '2' },
    });
    await ensureStorageClass(ctx.box, {
      metadata: { name: 'px-wffc' },
      provisioner: 'pxd.portworx.com',
      volumeBindingMode: 'WaitForFirstConsumer',
      parameters: { repl: '2' },
    });
    await ensureStorageClass(ctx.box, { metadata: { name: 'other-sc' }, provisioner: 'example.com/other' });
  });

  async function createPod(pod: Pod): Promise<Pod> {
    return api().create<Pod>(resources.pods, pod, ns);
  }

  async function claim(name: string, storageClassName: string): Promise<void> {
    await api().create(
      resources.persistentVolumeClaims,
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name },
        spec: {
          storageClassName,
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' } },
        },
      },
      ns,
    );
  }

  it('registers stork-webhooks-cfg so that it cannot take the cluster down', async () => {
    const cfg = await api().get<MutatingWebhookConfiguration>(resources.mutatingWebhookConfigurations, {
      name: 'stork-webhooks-cfg',
    });
    expect(cfg.webhooks).toHaveLength(1);
    const hook = cfg.webhooks?.[0];
    expect(hook).toMatchObject({
      name: hookName,
      failurePolicy: 'Ignore',
      timeoutSeconds: 5,
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
      reinvocationPolicy: 'Never',
      matchPolicy: 'Equivalent',
      clientConfig: { url: webhookUrl },
      namespaceSelector: {
        matchExpressions: [
          { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] },
        ],
      },
    });
    // The caBundle is the Secret's CA bundle.
    const secret = await api().get<Secret>(resources.secrets, {
      namespace: 'kube-system',
      name: 'stork-webhook-secret',
    });
    expect(hook?.clientConfig.caBundle).toBe(secret.data?.['ca.crt']);
  });

  it('gives a pod with a driver claim and no scheduler to stork, which places it on a replica node', async () => {
    await createDriverVolume(ctx, ns, 'data', ['node-3']);
    await waitFor(
      'the driver cache to know the volume',
      () => ctx.stork.cache.snapshot().volumesById.has(`${ns}-data`),
      {
        timeoutMs: 10_000,
      },
    );
    const created = await createPod(testPod('app', { claims: ['data'] }));
    expect(created.spec?.schedulerName).toBe('stork');
    const running = await waitForPod(api(), ns, 'app', isRunning, 60_000);
    expect(running.spec?.nodeName).toBe('node-3');
    // Also with the default scheduler named explicitly.
    const explicit = await createPod(
      testPod('explicit', { claims: ['data'], schedulerName: 'default-scheduler' }),
    );
    expect(explicit.spec?.schedulerName).toBe('stork');
    // The API server's own account: it called the webhook and got answers.
    expect(
      await apiServerCount(api(), 'apiserver_admission_webhook_request_total', [
        'code="200"',
        'type="admit"',
      ]),
    ).toBeGreaterThanOrEqual(2);
    expect(
      await apiServerCount(api(), 'apiserver_admission_webhook_admission_duration_seconds_count', [
        'type="admit"',
      ]),
    ).toBeGreaterThanOrEqual(2);
  });

  it('gives stork a pod whose driver claim is still pending (a driver storage class, no volume yet)', async () => {
    // WaitForFirstConsumer: the claim stays Pending until a pod using it is scheduled.
    await claim('late', 'px-wffc');
    const pending = await api().get<PersistentVolumeClaim>(resources.persistentVolumeClaims, {
      namespace: ns,
      name: 'late',
    });
    expect(pending.status?.phase).toBe('Pending');
    expect(pending.spec?.volumeName).toBeUndefined();
    const created = await createPod(testPod('late-app', { claims: ['late'] }));
    expect(created.spec?.schedulerName).toBe('stork');
    await waitForPod(api(), ns, 'late-app', isRunning, 60_000);
  });

  it('gives stork a pod whose driver claim was created a moment before it (as a StatefulSet does)', async () => {
    await claim('fresh', 'px-sc');
    const created = await createPod(testPod('fresh-app', { claims: ['fresh'] }));
    expect(created.spec?.schedulerName).toBe('stork');
    await waitForPod(api(), ns, 'fresh-app', isRunning, 60_000);
  });

  it('leaves alone pods that opt out, name another scheduler, or have no driver volume', async () => {
    const optOut = testPod('opt-out', { claims: ['data'] });
    optOut.metadata = {
      ...optOut.metadata,
      annotations: { 'stork.libopenstorage.org/disable-admission-controller': 'true' },
    };
    expect((await createPod(optOut)).spec?.schedulerName).toBe('default-scheduler');
    const other = await createPod(
      testPod('other-scheduler', { claims: ['data'], schedulerName: 'my-scheduler' }),
    );
    expect(other.spec?.schedulerName).toBe('my-scheduler');
    expect((await createPod(testPod('no-volumes'))).spec?.schedulerName).toBe('default-scheduler');
    await claim('elsewhere', 'other-sc');
    expect((await createPod(testPod('other-volume', { claims: ['elsewhere'] }))).spec?.schedulerName).toBe(
      'default-scheduler',
    );
    // Stork answered each of them (skipped, with the reason), so none of this was a failure.
    const metrics = await ctx.stork.metrics.registry.metrics();
    expect(metrics).toMatch(/stork_webhook_admissions_total\{outcome="skipped",reason="opted-out"\} [1-9]/);
    expect(metrics).toMatch(
      /stork_webhook_admissions_total\{outcome="skipped",reason="other-scheduler"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /stork_webhook_admissions_total\{outcome="skipped",reason="no-driver-volumes"\} [1-9]/,
    );
    expect(metrics).toMatch(/stork_webhook_request_duration_seconds_count\{code="200"\} [1-9]/);
  });

  it('answers a malformed AdmissionReview with a 400 and the reason, and keeps serving', async () => {
    const secret = await api().get<Secret>(resources.secrets, {
      namespace: 'kube-system',
      name: 'stork-webhook-secret',
    });
    const ca = Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString();
    const reply = await post('{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1"}', ca);
    expect(reply.status).toBe(400);
    expect(reply.body).toContain('request is missing');
    expect((await post('not json', ca)).status).toBe(400);
    expect((await createPod(testPod('after-garbage', { claims: ['data'] }))).spec?.schedulerName).toBe(
      'stork',
    );
  });

  it('rotates the serving certificate while pods are created, without one failed admission', async () => {
    const servingCert = async (): Promise<string> =>
      (await api().get<Secret>(resources.secrets, { namespace: 'kube-system', name: 'stork-webhook-secret' }))
        .data?.['tls.crt'] ?? '';
    const failOpenBefore = await apiServerFailOpenCount(api());
    const seen = new Set([await servingCert()]);
    const caBefore = (
      await api().get<Secret>(resources.secrets, { namespace: 'kube-system', name: 'stork-webhook-secret' })
    ).data?.['ca.crt'];
    let created = 0;
    const notPatched: string[] = [];
    // One pod after another until at least two rotations have happened (about every 20 s).
    const deadline = Date.now() + 120_000;
    while (seen.size < 3 && Date.now() < deadline) {
      const name = `rot-${created++}`;
      const pod = await createPod(testPod(name, { claims: ['data'] }));
      if (pod.spec?.schedulerName !== 'stork') notPatched.push(name);
      seen.add(await servingCert());
    }
    expect(seen.size).toBeGreaterThanOrEqual(3);
    expect(notPatched).toEqual([]);
    expect(created).toBeGreaterThan(10);
    expect(await apiServerFailOpenCount(api())).toBe(failOpenBefore);
    // The CA outlives serving certificates: the caBundle callers hold did not change.
    const after = await api().get<Secret>(resources.secrets, {
      namespace: 'kube-system',
      name: 'stork-webhook-secret',
    });
    expect(after.data?.['ca.crt']).toBe(caBefore);
    // The running server presents the newest certificate to new connections: it was reloaded in place.
    const ca = Buffer.from(after.data?.['ca.crt'] ?? '', 'base64').toString();
    await waitFor(
      'the server to present the Secret’s current certificate',
      async () =>
        (await presentedFingerprint(ca)) ===
        new X509Certificate(Buffer.from(await servingCert(), 'base64')).fingerprint256,
      { timeoutMs: 10_000 },
    );
  });

  it('replicas converge on one Secret: concurrent first writes and concurrent renewals never fight', async () => {
    const name = 'converge-webhook-secret';
    const store = (dnsNames: string[]) =>
      new CertificateStore({
        api: api(),
        namespace: ns,
        secretName: name,
        logger: silentLogger,
        policy: {
          commonName: 'stork',
          dnsNames,
          ipAddresses: [],
          caValidityMs: 3_600_000,
          servingValidityMs: 600_000,
        },
      });
    const first = await Promise.all([1, 2, 3, 4].map(() => store(['a.example']).reconcile()));
    for (const c of first) expect(c).toEqual(first[0]);
    // A changed name list makes the certificate due on every replica at once: one renews, all adopt it.
    const second = await Promise.all([1, 2, 3, 4].map(() => store(['a.example', 'b.example']).reconcile()));
    for (const c of second) expect(c).toEqual(second[0]);
    expect(second[0]?.certPem).not.toBe(first[0]?.certPem);
    expect(second[0]?.caBundlePem).toBe(first[0]?.caBundlePem);
    const stored = await api().get<Secret>(resources.secrets, { namespace: ns, name });
    expect(Buffer.from(stored.data?.['tls.crt'] ?? '', 'base64').toString()).toBe(second[0]?.certPem);
  });

  it('with the webhook down, pods are still created (Ignore), and the API server counts the failure', async () => {
    const before = await apiServerFailOpenCount(api());
    await ctx.stopStork();
    try {
      const pod = await createPod(testPod('while-down', { claims: ['data'] }));
      expect(pod.spec?.schedulerName).toBe('default-scheduler');
      expect(await apiServerFailOpenCount(api())).toBeGreaterThan(before);
    } finally {
      await ctx.startStork();
    }
    // Back up: the same Secret is reused and pods are given to stork again.
    expect((await createPod(testPod('after-restart', { claims: ['data'] }))).spec?.schedulerName).toBe(
      'stork',
    );
  });

  it('a webhook that cannot start does not stop stork; it starts once it can', async () => {
    await ctx.stopStork();
    // Something else holds the webhook's port.
    const squatter = createNetServer();
    await new Promise<void>((resolve) => squatter.listen(webhookPort, '127.0.0.1', resolve));
    try {
      await ctx.startStork();
      expect(ctx.stork.webhookPort).toBeUndefined();
      expect(ctx.stork.extenderPort).toBeGreaterThan(0);
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
    await waitFor('the webhook to start on a retry', () => ctx.stork.webhookPort === webhookPort, {
      timeoutMs: 60_000,
    });
    expect((await createPod(testPod('after-retry', { claims: ['data'] }))).spec?.schedulerName).toBe('stork');
  });
});
