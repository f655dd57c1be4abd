import { describe, expect, it } from 'vitest';
import type { KubeApi } from '../k8s/api.js';
import { resources } from '../k8s/paths.js';
import { FakeKubeClient } from '../k8s/testing/fake-client.js';
import { CommandContext } from './context.js';
import { deleteInNamespace, getInNamespace } from './namespaced.js';
import { CliError } from './output.js';

function context(api: FakeKubeClient): CommandContext {
  const ctx = new CommandContext(
    {
      namespace: 'shop',
      output: 'table',
      storkNamespace: 'kube-system',
      storkService: 'https:stork-service:status',
    },
    { out: () => undefined, err: () => undefined },
  );
  Object.defineProperty(ctx, 'api', { get: () => api as unknown as KubeApi });
  return ctx;
}

const rule = (name: string, namespace: string) => ({
  apiVersion: 'stork.libopenstorage.org/v1alpha1',
  kind: 'Rule',
  metadata: { name, namespace },
  rules: [],
});

describe('one named object of the current namespace', () => {
  it('gets and deletes only in ctx.namespace', async () => {
    const api = new FakeKubeClient();
    api.seed(resources.rules, rule('r', 'shop'), rule('other', 'elsewhere'));
    const ctx = context(api);
    expect(
      await getInNamespace<{ metadata: { name: string } }>(ctx, resources.rules, 'rules', 'r'),
    ).toMatchObject({
      metadata: { name: 'r', namespace: 'shop' },
    });
    await expect(getInNamespace(ctx, resources.rules, 'rules', 'other')).rejects.toThrow(
      'rules "other" not found in namespace "shop"',
    );
    await deleteInNamespace(ctx, resources.rules, 'rules', 'r');
    expect(api.object(resources.rules, 'r', 'shop')).toBeUndefined();
    expect(api.object(resources.rules, 'other', 'elsewhere')).toBeDefined();
  });

  it.each([
    ['get', (ctx: CommandContext, name: string) => getInNamespace(ctx, resources.rules, 'rules', name)],
    ['delete', (ctx: CommandContext, name: string) => deleteInNamespace(ctx, resources.rules, 'rules', name)],
  ])(
    '%s of a missing object: a CliError in kubectl words, the name cut at 253 characters',
    async (_, call) => {
      const long = 'x'.repeat(5000);
      const error = await call(context(new FakeKubeClient()), long).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CliError);
      expect((error as Error).message).toBe(`rules "${'x'.repeat(253)}" not found in namespace "shop"`);
    },
  );
});
