// @ts-check
/**
 * The layers of src/, lowest first. A layer may import only the layers listed for it, so dependencies
 * point downward: drivers know nothing of controllers, the extender nothing of the daemon, and nothing
 * but the test harness (box) knows the harness.
 */
const layers = {
  wire: [],
  lib: ['wire'],
  k8s: ['wire', 'lib'],
  drivers: ['wire', 'lib', 'k8s'],
  extender: ['wire', 'lib', 'k8s', 'drivers'],
  controllers: ['wire', 'lib', 'k8s', 'drivers'],
  webhook: ['wire', 'lib', 'k8s', 'drivers'],
  daemon: ['wire', 'lib', 'k8s', 'drivers', 'extender', 'controllers', 'webhook'],
  cli: ['wire', 'lib', 'k8s', 'drivers'],
  simulator: ['wire', 'lib', 'drivers'],
  box: ['wire', 'lib', 'k8s', 'drivers', 'extender', 'controllers', 'webhook', 'daemon', 'cli', 'simulator'],
};
export const allLayers = Object.keys(layers);

/** @param {string} layer */
function layerRule(layer) {
  const allowed = /** @type {Record<string, string[]>} */ (layers)[layer] ?? [];
  const forbidden = allLayers.filter((l) => l !== layer && !allowed.includes(l));
  /** @type {Array<{regex?: string, group?: string[], message: string}>} */
  const patterns = [];
  if (forbidden.length > 0) {
    patterns.push({
      regex: `^\\.\\.?/(?:\\.\\./)*(?:src/)?(?:${forbidden.join('|')})(?:/|$)`,
      message: `src/${layer} may import only: ${allowed.join(', ') || 'nothing else in src'} (layers import downward).`,
    });
  }
  if (layer !== 'k8s') {
    patterns.push({
      group: ['@kubernetes/client-node', '@kubernetes/client-node/*'],
      message: 'Only src/k8s talks to the Kubernetes client library; use the k8s layer.',
    });
  }
  patterns.push(kubernetesTypes);
  // Tests (and the fakes themselves) may use the in-memory fakes of src/k8s/testing; nothing that ships may.
  const testFiles = ['src/**/*.test.ts', 'src/k8s/testing/**'];
  return [
    {
      files: [`src/${layer}/**/*.ts`],
      // The one file that re-exports the Kubernetes types (and imports nothing else).
      ignores: [...testFiles, ...(layer === 'wire' ? [kubernetesTypesFile] : [])],
      rules: { 'no-restricted-imports': ['error', { patterns: [...patterns, testingOnly] }] },
    },
    {
      files: [`src/${layer}/**/*.test.ts`, ...(layer === 'k8s' ? ['src/k8s/testing/**'] : [])],
      rules: { 'no-restricted-imports': ['error', { patterns }] },
    },
  ];
}

/** Kubernetes types have one way in, so that one file shows which the project uses. */
const kubernetesTypesFile = 'src/wire/k8s-types.ts';
const kubernetesTypes = {
  group: ['kubernetes-types', 'kubernetes-types/*'],
  message: `Import Kubernetes types from ${kubernetesTypesFile} (re-run the script of its commit to add one).`,
};

const testingOnly = {
  regex: '^\\.\\.?/(?:\\.\\./)*(?:(?:src/)?k8s/)?testing(?:/|$)',
  message: 'src/k8s/testing holds fakes for unit tests: only *.test.ts files may import it.',
};

/** Two config blocks per layer (shipped code, tests); eslint.config.js includes them, and a test checks them. */
export const layerConfigs = [
  ...allLayers.flatMap(layerRule),
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [kubernetesTypes] }] },
  },
];
