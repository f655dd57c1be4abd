// @ts-check
/**
 * The layers of src/, lowest first. A layer may import only the layers listed for it, so dependencies
 * point downward: drivers know nothing of controllers, the extender nothing of the daemon, and nothing
 * but the test harness (box) knows the harness.
 */
const layers = {
  lib: [],
  k8s: ['lib'],
  drivers: ['lib', 'k8s'],
  extender: ['lib', 'k8s', 'drivers'],
  controllers: ['lib', 'k8s', 'drivers'],
  webhook: ['lib', 'k8s', 'drivers'],
  daemon: ['lib', 'k8s', 'drivers', 'extender', 'controllers', 'webhook'],
  cli: ['lib', 'k8s', 'drivers'],
  simulator: ['lib', 'drivers'],
  box: ['lib', 'k8s', 'drivers', 'extender', 'controllers', 'webhook', 'daemon', 'cli', 'simulator'],
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
  return {
    files: [`src/${layer}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns }] },
  };
}

/** One config block per layer; eslint.config.js includes them, and a test checks them. */
export const layerConfigs = allLayers.map(layerRule);
