/**
 * The upstream versions the box is built from. etcd is not listed: it is read from the go.mod of this
 * Kubernetes release, so the box always runs the etcd that release was tested with.
 */
export const boxVersions = {
  kubernetes: '1.36.3',
  kwok: '0.8.0',
} as const;
