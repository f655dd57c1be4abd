// Stork in the box runs as the ServiceAccount of specs/stork-deployment.yaml, with the RBAC that file
// grants and nothing more, so that every end-to-end test also proves the shipped permissions suffice.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TokenRequest } from '../wire/k8s-types.js';
import { parseAllDocuments, stringify } from 'yaml';
import { resources } from '../k8s/paths.js';
import type { Box } from './box.js';
import { kubeconfigFile } from './kubeconfig-file.js';

/** The shipped spec whose RBAC stork runs under. */
export const storkDeploymentSpec = new URL('../../specs/stork-deployment.yaml', import.meta.url);

const rbacKinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

interface SpecObject {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  subjects?: { kind?: string; name?: string; namespace?: string }[];
}

/** The RBAC documents of a spec (ServiceAccount, roles and bindings), in order. */
export function rbacObjects(specText: string): SpecObject[] {
  return parseAllDocuments(specText)
    .map((doc) => doc.toJS() as SpecObject | null)
    .filter((o): o is SpecObject => o !== null && rbacKinds.has(o.kind ?? ''));
}

/** The identity a kubeconfig written here carries, e.g. `system:serviceaccount:kube-system:stork-account`. */
export interface ServiceAccountIdentity {
  readonly namespace: string;
  readonly name: string;
  /** The kubeconfig file (bearer token of the ServiceAccount). */
  readonly kubeconfigPath: string;
}

/**
 * Applies the RBAC part of a shipped spec to the box (idempotent: `kubectl apply`), asks the TokenRequest
 * API for a token of its ServiceAccount, and writes a kubeconfig with that token into the box's directory.
 */
export async function serviceAccountKubeconfig(
  box: Box,
  options: { spec?: URL; validForSeconds?: number; server?: string } = {},
): Promise<ServiceAccountIdentity> {
  const objects = rbacObjects(await readFile(options.spec ?? storkDeploymentSpec, 'utf8'));
  const account = objects.find((o) => o.kind === 'ServiceAccount');
  const namespace = account?.metadata?.namespace;
  const name = account?.metadata?.name;
  if (!namespace || !name) throw new Error('the spec has no namespaced ServiceAccount');
  const rbacFile = join(box.dir, `rbac-${namespace}-${name}.yaml`);
  await writeFile(rbacFile, objects.map((o) => stringify(o)).join('---\n'));
  await box.kubectl(['apply', '-f', rbacFile]);
  const token = await box.api.create<TokenRequest>(
    resources.serviceAccounts,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      // Long enough for the longest benchmark; a box lives for one test file.
      spec: { audiences: [], expirationSeconds: options.validForSeconds ?? 24 * 3600 },
    },
    undefined,
    { subresourceOf: { namespace, name, subresource: 'token' } },
  );
  const bearer = token.status?.token;
  if (!bearer) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  // Another server (e.g. a test's proxy in front of the API server) gets a file of its own.
  const suffix = options.server ? `-${new URL(options.server).port}` : '';
  const kubeconfigPath = join(box.dir, `${namespace}-${name}${suffix}.kubeconfig`);
  await writeFile(
    kubeconfigPath,
    kubeconfigFile({
      server: options.server ?? box.server,
      caPem: await readFile(join(box.dir, 'pki', 'ca.crt'), 'utf8'),
      user: { token: bearer },
      name: `${namespace}-${name}`,
    }),
    { mode: 0o600 },
  );
  return { namespace, name, kubeconfigPath };
}

/**
 * Whether a line of stork's JSON log is a warning or error about a request the API server refused
 * (including a refused exec upgrade, which the WebSocket reports as "Unexpected server response: 403").
 */
export function isRefusalLogLine(line: string): boolean {
  return (
    /"level":(40|50|60)/.test(line) &&
    /forbidden|unauthorized|"statusCode":40[13]|server response: 40[13]/i.test(line)
  );
}
