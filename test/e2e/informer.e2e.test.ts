import type { ConfigMap } from '../../src/wire/k8s-types.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { Informer } from '../../src/k8s/informer.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { createTestNamespace, useBox } from './helpers.js';

const configMap = (name: string, value: string): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data: { value },
});

describe('Informer against the real API server', () => {
  const ctx = useBox(() => ({}));
  let namespace: string;
  beforeAll(async () => {
    namespace = await createTestNamespace(ctx.box.api, 'informer');
  });

  it('syncs, follows adds, updates and deletes, and recovers after the API server restarts', async () => {
    const api = ctx.box.api;
    await api.create(resources.configMaps, configMap('before', '1'), namespace);
    const errors: string[] = [];
    const seen: string[] = [];
    const informer = new Informer<ConfigMap>({
      api,
      type: resources.configMaps,
      namespace,
      onError: (error, context) => errors.push(`${context}: ${String(error)}`),
    });
    informer.addHandlers({
      onAdd: (o) => seen.push(`add ${o.metadata?.name}`),
      onUpdate: (_, o) => seen.push(`update ${o.metadata?.name}=${o.data?.value}`),
      onDelete: (o) => seen.push(`delete ${o.metadata?.name}`),
    });
    await informer.start();
    try {
      expect(informer.synced).toBe(true);
      expect(informer.get('before', namespace)?.data?.value).toBe('1');

      await api.create(resources.configMaps, configMap('after', '1'), namespace);
      await api.patch(resources.configMaps, { namespace, name: 'after' }, { data: { value: '2' } });
      await api.delete(resources.configMaps, { namespace, name: 'before' });
      await waitFor('the watch to deliver the events', () => seen.includes('delete before'), {
        timeoutMs: 10_000,
      });
      // kube-root-ca.crt is the ConfigMap kube-controller-manager publishes into every namespace.
      expect(seen.filter((e) => !e.includes('kube-root-ca.crt'))).toEqual([
        'add before',
        'add after',
        'update after=2',
        'delete before',
      ]);

      const versionBefore = informer.version;
      await ctx.box.restartComponent('kube-apiserver');
      // Changes made after the restart still reach the cache: the informer re-established its watch.
      await api.patch(resources.configMaps, { namespace, name: 'after' }, { data: { value: '3' } });
      await waitFor(
        'the update after the restart',
        () => informer.get('after', namespace)?.data?.value === '3',
        {
          timeoutMs: 60_000,
        },
      );
      expect(informer.version).toBeGreaterThan(versionBefore);
      expect(errors.join('\n')).toMatch(/configmaps/);
    } finally {
      informer.stop();
      await informer.stopped();
    }
  });
});
