import type { Node, Pod } from '../src/wire/k8s-types.js';
import type { ClusterState } from '../src/extender/cluster-state.js';
import { staticCsiView } from '../src/drivers/csi/csi-view.js';
import { capacity, csiDriver, csiNode, localDriver, nodeKey } from '../src/drivers/csi/testing-fixtures.js';
import { benchFixture } from './fixture.js';

/**
 * The bench cluster with CSI storage instead: every node runs the node-local CSI driver's plugin and
 * reports its own CSIStorageCapacity (sizes vary), and the pod uses two WaitForFirstConsumer claims
 * of that driver, so filter checks registration and capacity and prioritize scores room left.
 */
export function csiBenchFixture(count: number) {
  const base = benchFixture(count);
  const names = base.nodes.map((n) => n.metadata?.name ?? '');
  const nodes: Node[] = base.nodes.map((n, i) => ({
    ...n,
    metadata: { ...n.metadata, labels: { ...n.metadata?.labels, [nodeKey]: names[i] ?? '' } },
  }));
  const byName = new Map(nodes.map((n) => [n.metadata?.name ?? '', n]));
  const view = staticCsiView({
    drivers: [csiDriver(localDriver, true)],
    nodes: names.map((n) => csiNode(n, [localDriver])),
    capacities: names.map((n, i) => capacity('csi-local', n, `${10 + (i % 50)}Gi`)),
  });
  const claims = new Map(
    ['data', 'logs'].map((name) => [
      name,
      {
        metadata: { name, namespace: 'default' },
        spec: { storageClassName: 'csi-local', resources: { requests: { storage: '5Gi' } } },
        status: { phase: 'Pending' },
      },
    ]),
  );
  const state: ClusterState = {
    ...base.state,
    getClaim: (name, namespace) => (namespace === 'default' ? claims.get(name) : undefined),
    getStorageClass: (name) =>
      name === 'csi-local'
        ? { metadata: { name }, provisioner: localDriver, volumeBindingMode: 'WaitForFirstConsumer' }
        : base.state.getStorageClass(name),
    listNodes: () => nodes,
    // The nodes with the driver's topology label (the base fixture's lack it, so no capacity would match).
    getNode: (name) => byName.get(name),
    csi: view,
  };
  const pod = (claimNames: readonly string[]): Pod => base.pod(claimNames);
  return { state, nodes, pod };
}
