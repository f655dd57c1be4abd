import { KubeConfig } from '@kubernetes/client-node';

export { KubeConfig };

export interface KubeConfigSource {
  /** A kubeconfig file; without it: $KUBECONFIG, ~/.kube/config, then the in-cluster service account. */
  readonly kubeconfig?: string | undefined;
  /** A context of that file other than its current one. */
  readonly context?: string | undefined;
}

/** Loads client configuration the way kubectl does, and fails with a clear message when there is none. */
export function loadKubeConfig(source: KubeConfigSource = {}): KubeConfig {
  const kc = new KubeConfig();
  if (source.kubeconfig) kc.loadFromFile(source.kubeconfig);
  else kc.loadFromDefault();
  if (source.context) {
    if (!kc.getContextObject(source.context)) {
      throw new Error(`context "${source.context}" does not exist in the kubeconfig`);
    }
    kc.setCurrentContext(source.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new Error(
      'no Kubernetes cluster is configured: set --kubeconfig or KUBECONFIG, or run in a cluster',
    );
  }
  return kc;
}
