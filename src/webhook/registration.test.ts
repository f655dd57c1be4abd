import { describe, expect, it } from 'vitest';
import { desiredWebhook, webhooksMatch } from './registration.js';

const base = {
  caBundlePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  excludedNamespaces: ['kube-system'],
  timeoutSeconds: 5,
};

describe('desiredWebhook', () => {
  it('cannot take the cluster down: Ignore, short timeout, pod CREATEs only, kube-system excluded', () => {
    const hook = desiredWebhook({
      ...base,
      target: { service: { namespace: 'ns', name: 'stork-service', port: 443 } },
    });
    expect(hook).toMatchObject({
      failurePolicy: 'Ignore',
      timeoutSeconds: 5,
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
      reinvocationPolicy: 'Never',
      matchPolicy: 'Equivalent',
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
      namespaceSelector: {
        matchExpressions: [
          { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] },
        ],
      },
      clientConfig: { service: { namespace: 'ns', name: 'stork-service', port: 443, path: '/mutate' } },
    });
    expect(Buffer.from(hook.clientConfig.caBundle ?? '', 'base64').toString()).toBe(base.caBundlePem);
  });

  it('registers a URL instead of the Service when given one', () => {
    const hook = desiredWebhook({ ...base, target: { url: 'https://127.0.0.1:9443/mutate' } });
    expect(hook.clientConfig.url).toBe('https://127.0.0.1:9443/mutate');
    expect(hook.clientConfig.service).toBeUndefined();
  });
});

describe('webhooksMatch', () => {
  const wanted = desiredWebhook({ ...base, target: { url: 'https://127.0.0.1:9443/mutate' } });

  it('ignores key order and fields the API server adds', () => {
    const stored = JSON.parse(JSON.stringify({ ...wanted, extraDefault: 'x' })) as typeof wanted;
    const reordered = Object.fromEntries(Object.entries(stored).reverse()) as typeof wanted;
    expect(webhooksMatch([reordered], wanted)).toBe(true);
  });

  it('sees a changed caBundle, a changed policy or a second webhook', () => {
    const other = desiredWebhook({
      ...base,
      caBundlePem: 'other',
      target: { url: 'https://127.0.0.1:9443/mutate' },
    });
    expect(webhooksMatch([other], wanted)).toBe(false);
    expect(webhooksMatch([{ ...wanted, failurePolicy: 'Fail' }], wanted)).toBe(false);
    expect(webhooksMatch([wanted, wanted], wanted)).toBe(false);
    expect(webhooksMatch(undefined, wanted)).toBe(false);
  });
});
