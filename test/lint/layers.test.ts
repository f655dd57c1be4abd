import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain JavaScript config module without type declarations
import { layerConfigs } from '../../eslint.layers.js';

// The layering rules (eslint.layers.js, included by eslint.config.js) on their own, without the
// type-aware rules, so that files which do not exist can be linted: upward imports and the client
// library outside src/k8s are rejected, downward imports accepted.
const eslint = new ESLint({
  cwd: new URL('../..', import.meta.url).pathname,
  overrideConfigFile: true,
  overrideConfig: [
    { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
    ...(layerConfigs as []),
  ],
});

async function restrictedImportMessages(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layering lint rule', () => {
  it('rejects a driver importing the extender', async () => {
    const messages = await restrictedImportMessages(
      'src/drivers/example.ts',
      "import { x } from '../extender/filter.js';\nexport const y = x;\n",
    );
    expect(messages.join('\n')).toMatch(/src\/drivers may import only/);
  });

  it('rejects the client library outside src/k8s', async () => {
    const messages = await restrictedImportMessages(
      'src/controllers/example.ts',
      "import { KubeConfig } from '@kubernetes/client-node';\nexport const k = KubeConfig;\n",
    );
    expect(messages.join('\n')).toMatch(/Only src\/k8s talks to the Kubernetes client library/);
  });

  it.each([
    'src/drivers/example.ts',
    'src/box/example.ts',
    'src/wire/other.ts',
    'test/e2e/example.e2e.test.ts',
  ])('takes Kubernetes types only through src/wire/k8s-types.ts: %s', async (filePath) => {
    const direct = await restrictedImportMessages(
      filePath,
      "import type { Pod } from 'kubernetes-types/core/v1.js';\nexport type P = Pod;\n",
    );
    expect(direct.join('\n')).toMatch(/Import Kubernetes types from src\/wire\/k8s-types\.ts/);
  });

  it('lets src/wire/k8s-types.ts re-export them', async () => {
    const messages = await restrictedImportMessages(
      'src/wire/k8s-types.ts',
      "export type { Pod } from 'kubernetes-types/core/v1.js';\n",
    );
    expect(messages).toEqual([]);
  });

  it('accepts downward imports', async () => {
    const messages = await restrictedImportMessages(
      'src/extender/example.ts',
      "import { resources } from '../k8s/paths.js';\nimport { waitFor } from '../lib/wait.js';\nexport const z = [resources, waitFor];\n",
    );
    expect(messages).toEqual([]);
  });

  it('rejects the harness from production code', async () => {
    const messages = await restrictedImportMessages(
      'src/daemon/example.ts',
      "import { Box } from '../box/box.js';\nexport const b = Box;\n",
    );
    expect(messages).toHaveLength(1);
  });

  it('rejects the unit-test fakes from shipped code', async () => {
    const fromController = await restrictedImportMessages(
      'src/controllers/example.ts',
      "import { FakeKubeClient } from '../k8s/testing/fake-client.js';\nexport const f = FakeKubeClient;\n",
    );
    expect(fromController.join('\n')).toMatch(/only \*\.test\.ts files may import it/);
    const fromK8s = await restrictedImportMessages(
      'src/k8s/informer.ts',
      "import { FakeKubeClient } from './testing/fake-client.js';\nexport const f = FakeKubeClient;\n",
    );
    expect(fromK8s).toHaveLength(1);
  });

  it('lets unit tests in every layer use the fakes, and the fakes use the k8s layer', async () => {
    for (const file of [
      'src/controllers/health-monitor/x.test.ts',
      'src/daemon/x.test.ts',
      'src/k8s/x.test.ts',
    ]) {
      const depth = file.split('/').length - 2;
      const up = '../'.repeat(depth);
      const messages = await restrictedImportMessages(
        file,
        `import { FakeKubeClient } from '${up}k8s/testing/fake-client.js';\nexport const f = FakeKubeClient;\n`,
      );
      expect(messages, file).toEqual([]);
    }
    const fake = await restrictedImportMessages(
      'src/k8s/testing/fake-client.ts',
      "import { resources } from '../paths.js';\nimport { systemClock } from '../../lib/clock.js';\nexport const r = [resources, systemClock];\n",
    );
    expect(fake).toEqual([]);
  });
});
