// Static checks of the manifests users install (specs/). The box's e2e tests apply them to a real API
// server and run stork under their ServiceAccount; these checks cover what a dry run cannot judge.
import { readdir, readFile } from 'node:fs/promises';
import type { ClusterRole, ConfigMap, DaemonSet, Deployment, Service } from '../../src/wire/k8s-types.js';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { quantityValue } from '../../src/drivers/quantity.js';
import { storkCrds } from '../../src/k8s/crds/install.js';
import { crdSpecPath, crdSpecText } from './crd-spec.js';

const specsDir = new URL('../../specs/', import.meta.url);

interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

async function objects(file: string): Promise<KubeObject[]> {
  const text = await readFile(new URL(file, specsDir), 'utf8');
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

// The caller names the type of the object it looks up; the YAML is not checked against it.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
function find<T>(list: KubeObject[], kind: string, name: string): T {
  const found = list.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found as T;
}

const rbacKinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

describe('specs/', () => {
  it('no Role or ClusterRole grants a wildcard verb, resource or API group', async () => {
    const files = (await readdir(specsDir)).filter((f) => f.endsWith('.yaml'));
    expect(files).toContain('stork-deployment.yaml');
    const wildcards: string[] = [];
    let rules = 0;
    for (const file of files) {
      for (const object of await objects(file)) {
        if (object.kind !== 'Role' && object.kind !== 'ClusterRole') continue;
        for (const rule of (object as ClusterRole).rules ?? []) {
          rules++;
          const fields = ['verbs', 'resources', 'apiGroups', 'nonResourceURLs'] as const;
          for (const field of fields) {
            const values: readonly string[] = rule[field] ?? [];
            if (values.some((v) => v.includes('*')))
              wildcards.push(
                `${file} ${object.kind} ${object.metadata?.name ?? ''}: ${field} ${values.join(',')}`,
              );
          }
        }
      }
    }
    expect(rules).toBeGreaterThan(10);
    expect(wildcards).toEqual([]);
  });

  it('the DaemonSet spec carries exactly the Deployment spec RBAC, Services and NetworkPolicy', async () => {
    const rbac = (list: KubeObject[]) =>
      list.filter((o) => rbacKinds.has(o.kind ?? '') || o.kind === 'Service' || o.kind === 'NetworkPolicy');
    const deployment = rbac(await objects('stork-deployment.yaml'));
    expect(deployment.map((o) => o.kind)).toEqual([
      'ServiceAccount',
      'ClusterRole',
      // Read access to the SchedulingDecisions, aggregated into the view, edit and admin roles.
      'ClusterRole',
      'ClusterRoleBinding',
      'Role',
      'RoleBinding',
      'Service',
      'Service',
      'NetworkPolicy',
    ]);
    expect(rbac(await objects('stork-daemonset.yaml'))).toEqual(deployment);
  });

  it('specs/stork-crds.yaml is up to date with src/k8s/crds (npm run specs:crds)', async () => {
    const onDisk = await objects('stork-crds.yaml');
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(storkCrds)));
    // And the generator reproduces it (prettier may only have re-indented).
    const generated = parseAllDocuments(crdSpecText()).map((d) => d.toJS() as unknown);
    expect(generated).toEqual(onDisk);
    expect(crdSpecPath.pathname.endsWith('specs/stork-crds.yaml')).toBe(true);
  });

  it('the stork Deployment: 3 spread replicas, the ServiceAccount bound to the roles, probes, locked down', async () => {
    const list = await objects('stork-deployment.yaml');
    const deployment = find<Deployment>(list, 'Deployment', 'stork');
    const pod = deployment.spec?.template.spec;
    expect(deployment.metadata?.namespace).toBe('kube-system');
    expect(deployment.spec?.replicas).toBe(3);
    expect(pod?.serviceAccountName).toBe('stork-account');
    expect(pod?.topologySpreadConstraints?.[0]?.topologyKey).toBe('kubernetes.io/hostname');
    const container = pod?.containers[0];
    expect(container?.args).toEqual(expect.arrayContaining(['--driver=pxd', '--leader-elect=true']));
    // Info logging in production: --verbose logs every scheduling decision.
    expect(container?.args).not.toContain('--verbose');
    expect(container?.args?.some((a) => a.startsWith('--driver-endpoint='))).toBe(true);
    expect(container?.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(container?.readinessProbe?.httpGet?.path).toBe('/readyz');
    // The port opens once the caches have synced, minutes in a big cluster: liveness waits for startup.
    expect(container?.startupProbe?.httpGet?.path).toBe('/healthz');
    const startup = container?.startupProbe;
    expect((startup?.periodSeconds ?? 0) * (startup?.failureThreshold ?? 0)).toBeGreaterThanOrEqual(600);
    // The extender port speaks TLS (mutual TLS for filter/prioritize; probes need no client certificate).
    expect(container?.livenessProbe?.httpGet?.scheme).toBe('HTTPS');
    expect(container?.readinessProbe?.httpGet?.scheme).toBe('HTTPS');
    expect(container?.resources?.requests).toBeDefined();
    expect(pod?.securityContext?.runAsNonRoot).toBe(true);
    expect(container?.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(container?.securityContext?.capabilities?.drop).toEqual(['ALL']);
    expect(container?.securityContext?.allowPrivilegeEscalation).toBe(false);
    for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
      const binding = find<{ subjects: unknown[] }>(list, kind, 'stork-role-binding');
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: 'stork-account', namespace: 'kube-system' },
      ]);
    }
    const service = find<Service>(list, 'Service', 'stork-service');
    expect(service.spec?.selector).toEqual(deployment.spec?.selector.matchLabels);
    expect(service.spec?.ports?.map((p) => [p.name, p.port, p.targetPort])).toEqual([
      ['extender', 8099, 8099],
      ['status', 8098, 8098],
    ]);
    // The webhook has its own Service, which does not wait for storage-dependent readiness.
    const webhook = find<Service>(list, 'Service', 'stork-webhook');
    expect(webhook.spec?.selector).toEqual(deployment.spec?.selector.matchLabels);
    expect(webhook.spec?.publishNotReadyAddresses).toBe(true);
    expect(webhook.spec?.ports?.map((p) => [p.port, p.targetPort])).toEqual([[443, 8443]]);
    // Only the stork scheduler's pods may reach the extender port.
    const policy = find<{
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        ingress: {
          from?: { podSelector?: { matchLabels: Record<string, string> } }[];
          ports: { port: number }[];
        }[];
      };
    }>(list, 'NetworkPolicy', 'stork-extender');
    expect(policy.spec.podSelector.matchLabels).toEqual(deployment.spec?.selector.matchLabels);
    const toExtender = policy.spec.ingress.filter((rule) => rule.ports.some((p) => p.port === 8099));
    expect(toExtender.map((rule) => rule.from)).toEqual([
      [{ podSelector: { matchLabels: { component: 'stork-scheduler' } } }],
    ]);
    const scheduler = find<Deployment>(
      await objects('stork-scheduler.yaml'),
      'Deployment',
      'stork-scheduler',
    );
    expect(scheduler.spec?.template.metadata?.labels).toMatchObject({ component: 'stork-scheduler' });
    expect(
      find<{ provisioner: string; reclaimPolicy: string }>(list, 'StorageClass', 'stork-snapshot-sc'),
    ).toMatchObject({
      provisioner: 'stork-snapshot',
      reclaimPolicy: 'Delete',
    });
  });

  it('the DaemonSet runs the same container settings as the Deployment', async () => {
    const deployment = find<Deployment>(await objects('stork-deployment.yaml'), 'Deployment', 'stork');
    const daemonSet = find<DaemonSet>(await objects('stork-daemonset.yaml'), 'DaemonSet', 'stork');
    const a = deployment.spec?.template.spec;
    const b = daemonSet.spec?.template.spec;
    expect(b?.serviceAccountName).toBe(a?.serviceAccountName);
    expect(b?.securityContext).toEqual(a?.securityContext);
    expect(b?.containers[0]?.args).toEqual(a?.containers[0]?.args);
    expect(b?.containers[0]?.image).toBe(a?.containers[0]?.image);
    expect(b?.containers[0]?.securityContext).toEqual(a?.containers[0]?.securityContext);
    expect(b?.containers[0]?.env).toEqual(a?.containers[0]?.env);
    expect(b?.containers[0]?.resources?.limits).toEqual(a?.containers[0]?.resources?.limits);
  });

  it("stork's heap is capped below its memory limit, with room left for what is not heap", async () => {
    const deployment = find<Deployment>(await objects('stork-deployment.yaml'), 'Deployment', 'stork');
    const container = deployment.spec?.template.spec?.containers[0];
    const limit = quantityValue(container?.resources?.limits?.memory) ?? NaN;
    // V8 would size the heap from the limit itself (about half of 512Mi): the cap must be explicit.
    const options = container?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
    const heapMiB = Number(/--max-old-space-size=(\d+)/.exec(options)?.[1] ?? NaN);
    expect(heapMiB * 2 ** 20).toBeGreaterThan(limit / 2);
    // At least a quarter of the limit stays for code, buffers and the young generation.
    expect(heapMiB * 2 ** 20).toBeLessThanOrEqual(limit * 0.75);
  });

  it('the stork scheduler: 3 replicas, its own Lease, every node scored, a short extender timeout', async () => {
    const list = await objects('stork-scheduler.yaml');
    const deployment = find<Deployment>(list, 'Deployment', 'stork-scheduler');
    expect(deployment.spec?.replicas).toBe(3);
    const configMap = find<ConfigMap>(list, 'ConfigMap', 'stork-config');
    const config = parse(configMap.data?.['stork-config.yaml'] ?? '') as {
      leaderElection: { leaderElect: boolean; resourceName: string };
      percentageOfNodesToScore: number;
      profiles: { schedulerName: string }[];
      extenders: {
        urlPrefix: string;
        httpTimeout: string;
        enableHTTPS: boolean;
        tlsConfig: { certFile: string; keyFile: string; caFile: string };
      }[];
    };
    expect(config.leaderElection.leaderElect).toBe(true);
    // Not stork's own Lease (kube-system/stork), which the stork replicas elect on.
    expect(config.leaderElection.resourceName).not.toBe('stork');
    expect(config.percentageOfNodesToScore).toBe(100);
    expect(config.profiles.map((p) => p.schedulerName)).toEqual(['stork']);
    expect(config.extenders[0]?.httpTimeout).toBe('5s');
    // system:kube-scheduler covers only the Lease named kube-scheduler: the spec grants its own.
    const leaseRules = list
      .filter((o): o is ClusterRole => o.kind === 'Role')
      .flatMap((role) => role.rules ?? [])
      .filter((rule) => rule.resources?.includes('leases'));
    expect(leaseRules.some((r) => r.verbs.includes('create'))).toBe(true);
    expect(
      leaseRules.some(
        (r) =>
          r.resourceNames?.includes(config.leaderElection.resourceName) &&
          r.verbs.includes('get') &&
          r.verbs.includes('update'),
      ),
    ).toBe(true);
    // It calls the Service of stork-deployment.yaml, on the extender port, with mutual TLS: the client
    // certificate stork writes into stork-scheduler-tls, mounted where tlsConfig reads it.
    expect(config.extenders[0]?.urlPrefix).toBe('https://stork-service.kube-system:8099');
    expect(config.extenders[0]?.enableHTTPS).toBe(true);
    const pod = deployment.spec?.template.spec;
    const volume = pod?.volumes?.find((v) => v.secret?.secretName === 'stork-scheduler-tls');
    const mount = pod?.containers[0]?.volumeMounts?.find((m) => m.name === volume?.name);
    expect(mount?.mountPath).toBeDefined();
    expect(config.extenders[0]?.tlsConfig).toEqual({
      certFile: `${mount?.mountPath ?? ''}/tls.crt`,
      keyFile: `${mount?.mountPath ?? ''}/tls.key`,
      caFile: `${mount?.mountPath ?? ''}/ca.crt`,
    });
  });
});
