import type {
  MutatingWebhook as TypedMutatingWebhook,
  MutatingWebhookConfiguration,
  RuleWithOperations,
} from '../wire/k8s-types.js';
import type { KubeApi } from '../k8s/api.js';
import { getOrUndefined } from '../k8s/errors.js';
import { retryOnConflict } from '../k8s/retry.js';
import { resources } from '../k8s/paths.js';

/** Stork's names: the configuration `stork-webhooks-cfg`, path `/mutate`. */
export const webhookConfigurationName = 'stork-webhooks-cfg';
export const webhookName = 'webhook.stork.libopenstorage.org';
export const mutatePath = '/mutate';

/** The type package's rule lacks `resources` and `scope`, which the API has. */
type Rule = RuleWithOperations & { resources: string[]; scope?: 'Cluster' | 'Namespaced' | '*' };
export type MutatingWebhook = Omit<TypedMutatingWebhook, 'rules'> & { rules: Rule[] };

export interface RegistrationOptions {
  /** Where the API server calls: the Service (in the cluster) or a URL (stork outside the cluster). */
  readonly target:
    | { readonly service: { readonly namespace: string; readonly name: string; readonly port: number } }
    | { readonly url: string };
  readonly caBundlePem: string;
  /** Namespaces never sent to the webhook (kube-system: the cluster's own pods must never wait on stork). */
  readonly excludedNamespaces: readonly string[];
  readonly timeoutSeconds: number;
}

/**
 * The registration, built so that stork can never take the cluster down: failures are ignored (the pod is
 * created unchanged), the timeout is short, only pod CREATEs are sent, and system namespaces are not.
 */
export function desiredWebhook(options: RegistrationOptions): MutatingWebhook {
  const caBundle = Buffer.from(options.caBundlePem, 'utf8').toString('base64');
  return {
    name: webhookName,
    clientConfig:
      'url' in options.target
        ? { url: options.target.url, caBundle }
        : { service: { ...options.target.service, path: mutatePath }, caBundle },
    rules: [
      {
        operations: ['CREATE'],
        apiGroups: [''],
        apiVersions: ['v1'],
        resources: ['pods'],
        scope: 'Namespaced',
      },
    ],
    failurePolicy: 'Ignore',
    matchPolicy: 'Equivalent',
    sideEffects: 'None',
    timeoutSeconds: options.timeoutSeconds,
    admissionReviewVersions: ['v1'],
    reinvocationPolicy: 'Never',
    namespaceSelector: {
      matchExpressions: [
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...options.excludedNamespaces] },
      ],
    },
    objectSelector: {},
  };
}

/** Deep equality of JSON values, ignoring key order. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Whether the stored webhooks already say what we want (fields the API server adds are ignored). */
export function webhooksMatch(
  stored: readonly TypedMutatingWebhook[] | undefined,
  wanted: MutatingWebhook,
): boolean {
  if (stored?.length !== 1 || !stored[0]) return false;
  const existing = stored[0] as unknown as Record<string, unknown>;
  return Object.entries(wanted).every(([key, value]) => sameJson(existing[key], value));
}

/**
 * Creates or updates `stork-webhooks-cfg` to the desired webhook; does nothing when it already matches.
 * Writes carry the read's resourceVersion, so replicas with the same configuration settle at once and a
 * concurrent change is read again rather than overwritten. Never deleted by stork: another replica may
 * be serving, and a configuration with failurePolicy Ignore pointing at nobody costs a pod nothing.
 */
export async function ensureWebhookConfiguration(
  api: KubeApi,
  wanted: MutatingWebhook,
): Promise<'created' | 'updated' | 'unchanged'> {
  const name = webhookConfigurationName;
  return retryOnConflict(async () => {
    const existing = await getOrUndefined(() =>
      api.get<MutatingWebhookConfiguration>(resources.mutatingWebhookConfigurations, { name }),
    );
    if (!existing) {
      await api.create<MutatingWebhookConfiguration>(resources.mutatingWebhookConfigurations, {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingWebhookConfiguration',
        metadata: { name, labels: { 'app.kubernetes.io/name': 'stork' } },
        webhooks: [wanted],
      });
      return 'created';
    }
    if (webhooksMatch(existing.webhooks, wanted)) return 'unchanged';
    await api.replace(
      resources.mutatingWebhookConfigurations,
      { name },
      { ...existing, webhooks: [wanted as TypedMutatingWebhook] },
    );
    return 'updated';
  });
}
