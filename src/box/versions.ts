/**
 * The upstream versions the box is built from. etcd is not listed: it is read from the go.mod of this
 * Kubernetes release, so the box always runs the etcd that release was tested with.
 */
export const boxVersions = {
  kubernetes: '1.36.3',
  kwok: '0.8.0',
} as const;

/**
 * The upstream CSI parts the box runs when a test asks for CSI storage (`csi` box option). The provisioner
 * v6.4.0 pins the same `k8s.io/kubernetes` (1.36.3) as the box; the snapshot CRDs come from the
 * snapshotter's `client/v8` module of the same version; the CSI spec module supplies `csi.proto` for the
 * box's own CSI plugin (see docs/box.md for why the hostpath driver is not one of them).
 */
export const csiVersions = {
  externalProvisioner: '6.4.0',
  externalSnapshotter: '8.7.0',
  csiSpec: '1.12.0',
} as const;
