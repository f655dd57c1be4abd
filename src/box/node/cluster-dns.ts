import type { ClusterRole, ClusterRoleBinding, EndpointSlice, Service } from '../../wire/k8s-types.js';

/**
 * The real node's cluster DNS: upstream CoreDNS with its `kubernetes` plugin, the way a cluster's DNS
 * add-on serves `<service>.<namespace>.svc.cluster.local`. It runs as a process of the node (in the
 * node's network namespace, on the node's address) rather than as a pod, because the box has no
 * registry to pull its image from; pods reach it through the `kube-dns` Service, as in any cluster,
 * so the kubelet's `clusterDNS` and kube-proxy's UDP and TCP rules are the upstream ones.
 */

export const clusterDomain = 'cluster.local';
/** The `kube-dns` Service's address: the tenth of the box's Service range, as kubeadm picks it. */
export const clusterDnsIp = '198.19.0.10';
/** The identity CoreDNS authenticates as, bound to {@link coreDnsClusterRole} only. */
export const coreDnsUser = 'system:box:coredns';
/** Port of CoreDNS's `ready` plugin: 200 once the kubernetes plugin has synced its informers. */
export const coreDnsReadyPort = 8181;

/** The Corefile: only cluster names, answered from the API server; nothing is forwarded out of the box. */
export function corefile(p: { bindIp: string; kubeconfig: string }): string {
  return `${clusterDomain}:53 in-addr.arpa:53 ip6.arpa:53 {
    bind ${p.bindIp}
    errors
    ready ${p.bindIp}:${coreDnsReadyPort}
    kubernetes ${clusterDomain} in-addr.arpa ip6.arpa {
        kubeconfig ${p.kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
`;
}

/** What CoreDNS's kubernetes plugin reads, and nothing more. */
export const coreDnsClusterRole: ClusterRole = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name: 'box:coredns' },
  rules: [
    { apiGroups: [''], resources: ['services', 'namespaces', 'pods', 'endpoints'], verbs: ['list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  ],
};

export const coreDnsClusterRoleBinding: ClusterRoleBinding = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name: 'box:coredns' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'box:coredns' },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: coreDnsUser }],
};

const dnsPorts = [
  { name: 'dns', port: 53, protocol: 'UDP' },
  { name: 'dns-tcp', port: 53, protocol: 'TCP' },
] as const;

/** `kube-system/kube-dns`, without a selector: its one endpoint is the node's CoreDNS ({@link kubeDnsEndpoints}). */
export const kubeDnsService: Service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
  spec: { clusterIP: clusterDnsIp, ports: dnsPorts.map((p) => ({ ...p, targetPort: p.port })) },
};

export function kubeDnsEndpoints(nodeIp: string): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kube-dns-box',
      namespace: 'kube-system',
      labels: {
        'kubernetes.io/service-name': 'kube-dns',
        'endpointslice.kubernetes.io/managed-by': 'box.stork.libopenstorage.org',
      },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [nodeIp], conditions: { ready: true } }],
    ports: dnsPorts.map((p) => ({ ...p })),
  };
}
