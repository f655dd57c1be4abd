// Least privilege of the shipped RBAC (specs/), checked rule by rule: whatever can lead to a cluster
// takeover (reading Secrets, taking another component's Lease, rewriting admission webhooks or CRDs) is
// granted only on stork's own objects, by name.
import { readdir, readFile } from 'node:fs/promises';
import type { PolicyRule } from '../../src/wire/k8s-types.js';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { storkCrds } from '../../src/k8s/crds/install.js';
import { webhookConfigurationName } from '../../src/webhook/registration.js';
import { defaultWebhookConfig } from '../../src/webhook/webhook.js';
import { storkCommand } from '../../src/daemon/flags.js';

const specsDir = new URL('../../specs/', import.meta.url);

interface Role {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: PolicyRule[];
}

interface Grant {
  readonly where: string;
  readonly rule: PolicyRule;
}

async function grants(): Promise<Grant[]> {
  const files = (await readdir(specsDir)).filter((f) => f.endsWith('.yaml')).sort();
  const out: Grant[] = [];
  for (const file of files) {
    const text = await readFile(new URL(file, specsDir), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      const object = doc.toJS() as Role | null;
      if (object?.kind !== 'Role' && object?.kind !== 'ClusterRole') continue;
      (object.rules ?? []).forEach((rule, i) => {
        out.push({ where: `${file} ${object.kind} ${object.metadata.name} rule ${i + 1}`, rule });
      });
    }
  }
  return out;
}

/** The verbs of a rule on one resource of one API group. */
function verbsOn(rule: PolicyRule, group: string, resource: string): string[] {
  if (!(rule.apiGroups ?? []).includes(group) || !(rule.resources ?? []).includes(resource)) return [];
  return rule.verbs;
}

/** What no rule may grant without naming the objects. */
const guarded: readonly { group: string; resource: string; verbs: readonly string[] }[] = [
  { group: '', resource: 'secrets', verbs: ['get', 'update', 'patch', 'delete'] },
  { group: 'coordination.k8s.io', resource: 'leases', verbs: ['get', 'update', 'patch', 'delete'] },
  {
    group: 'admissionregistration.k8s.io',
    resource: 'mutatingwebhookconfigurations',
    verbs: ['update', 'patch', 'delete'],
  },
  {
    group: 'admissionregistration.k8s.io',
    resource: 'validatingwebhookconfigurations',
    verbs: ['update', 'patch', 'delete'],
  },
  {
    group: 'apiextensions.k8s.io',
    resource: 'customresourcedefinitions',
    verbs: ['update', 'patch', 'delete'],
  },
];

/** Problems of one rule, in words (empty when it is fine). */
export function rbacProblems(where: string, rule: PolicyRule): string[] {
  const problems: string[] = [];
  const named = (rule.resourceNames ?? []).length > 0;
  // list and watch return every object whatever resourceNames say (unless the client asks by name), so
  // Secrets are never listed or watched.
  if (verbsOn(rule, '', 'secrets').some((v) => v === 'list' || v === 'watch')) {
    problems.push(`${where}: list/watch of secrets`);
  }
  for (const g of guarded) {
    const verbs = verbsOn(rule, g.group, g.resource).filter((v) => g.verbs.includes(v));
    if (verbs.length > 0 && !named) {
      problems.push(`${where}: ${verbs.join(',')} of ${g.resource} without resourceNames`);
    }
  }
  // The name of an object being created is not known to the authorizer: such a rule never allows create.
  if (named && rule.verbs.includes('create')) {
    problems.push(`${where}: create together with resourceNames (never allowed: give create its own rule)`);
  }
  return problems;
}

describe('RBAC in specs/', () => {
  it('the check itself: flags the grants that lead to a takeover, and only those', () => {
    const rule = (resources: string[], verbs: string[], apiGroups = [''], resourceNames?: string[]) => ({
      apiGroups,
      resources,
      verbs,
      ...(resourceNames ? { resourceNames } : {}),
    });
    expect(rbacProblems('r', rule(['secrets'], ['get']))).toHaveLength(1);
    expect(rbacProblems('r', rule(['secrets'], ['get', 'update'], [''], ['mine']))).toEqual([]);
    expect(rbacProblems('r', rule(['secrets'], ['list'], [''], ['mine']))).toHaveLength(1);
    expect(rbacProblems('r', rule(['secrets'], ['create']))).toEqual([]);
    expect(rbacProblems('r', rule(['leases'], ['update'], ['coordination.k8s.io']))).toHaveLength(1);
    expect(rbacProblems('r', rule(['leases'], ['create'], ['coordination.k8s.io']))).toEqual([]);
    expect(
      rbacProblems('r', rule(['leases'], ['create', 'get'], ['coordination.k8s.io'], ['x'])),
    ).toHaveLength(1);
    expect(
      rbacProblems('r', rule(['mutatingwebhookconfigurations'], ['patch'], ['admissionregistration.k8s.io'])),
    ).toHaveLength(1);
    expect(
      rbacProblems('r', rule(['customresourcedefinitions'], ['update'], ['apiextensions.k8s.io'])),
    ).toHaveLength(1);
    expect(rbacProblems('r', rule(['pods'], ['get', 'list', 'patch']))).toEqual([]);
  });

  it('no rule grants read of Secrets, or update of Leases, webhooks or CRDs, without resourceNames', async () => {
    const all = await grants();
    expect(all.length).toBeGreaterThan(10);
    expect(all.flatMap((g) => rbacProblems(g.where, g.rule))).toEqual([]);
  });

  /** The names stork's own rules grant on one resource, for one verb. */
  async function namesFor(file: string, group: string, resource: string, verb: string): Promise<string[]> {
    return (await grants())
      .filter((g) => g.where.startsWith(`${file} `) && verbsOn(g.rule, group, resource).includes(verb))
      .flatMap((g) => g.rule.resourceNames ?? []);
  }

  it('names exactly the objects stork uses: its Lease, its Secret(s), its webhook configuration, its CRDs', async () => {
    const flags = storkCommand().opts<{ lockObjectName: string }>();
    for (const file of ['stork-deployment.yaml', 'stork-daemonset.yaml']) {
      for (const verb of ['get', 'update']) {
        expect(await namesFor(file, 'coordination.k8s.io', 'leases', verb)).toEqual([flags.lockObjectName]);
        expect(await namesFor(file, '', 'secrets', verb)).toContain(defaultWebhookConfig.secretName);
        expect(
          await namesFor(file, 'admissionregistration.k8s.io', 'mutatingwebhookconfigurations', verb),
        ).toEqual([webhookConfigurationName]);
        expect(
          (await namesFor(file, 'apiextensions.k8s.io', 'customresourcedefinitions', verb)).sort(),
        ).toEqual(storkCrds.map((c) => c.metadata?.name ?? '').sort());
      }
    }
  });
});
