import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { resources } from '../k8s/paths.js';
import { waitFor } from '../lib/wait.js';
import type { Deployment, EndpointSlice, Service } from '../wire/k8s-types.js';
import type { Box } from './box.js';
import { ensureKubeSchedulerImage } from './image/kube-scheduler-image.js';
import { ensureStorkImage } from './image/stork-image.js';
import { realNodeLabel } from './node/real-node.js';
import type { BoxStorage } from './storage.js';

/**
 * The seed's "Running Stork" on the box's real node: the shipped specs applied with `kubectl apply`, as a
 * user applies them, with the image set and the edits one node forces: every Deployment pinned to the real
 * node (KWOK nodes run no containers), two stork replicas (one per node is only preferred) and one stork
 * scheduler (its anti-affinity is required). The storage driver's `portworx-api` Service points at the
 * box's simulator on this host.
 */
const repo = fileURLToPath(new URL('../../', import.meta.url));
const endpointSlices = {
  group: 'discovery.k8s.io',
  version: 'v1',
  resource: 'endpointslices',
  namespaced: true,
};
export const inClusterReplicas = { stork: 2, 'stork-scheduler': 1 } as const;

/** A shipped spec's documents with `edit` applied to each Deployment and the Deployment pinned to the real node. */
export async function shippedSpec(file: string, edit: (deployment: Deployment) => void): Promise<string> {
  const docs = parseAllDocuments(await readFile(join(repo, 'specs', file), 'utf8')).map(
    (d) => d.toJS() as { kind?: string } | null,
  );
  for (const doc of docs) {
    if (doc?.kind !== 'Deployment') continue;
    const deployment = doc as Deployment;
    const pod = deployment.spec?.template.spec;
    if (pod) pod.nodeSelector = { ...pod.nodeSelector, [realNodeLabel]: 'true' };
    edit(deployment);
  }
  return docs
    .filter((d) => d !== null)
    .map((d) => stringify(d))
    .join('---\n');
}

/** Installs stork and the stork scheduler as pods on the box's real node; resolves once both are available. */
export async function deployStorkInCluster(
  box: Box,
  storage: BoxStorage,
  options: { log?: (line: string) => void; timeoutMs?: number } = {},
): Promise<void> {
  const node = box.realNode;
  if (!node) throw new Error("stork in the cluster needs the box's real node (the realNode option)");
  const storkImage = (await ensureStorkImage(options.log ? { log: options.log } : {})).name;
  const schedulerImage = await ensureKubeSchedulerImage({
    binary: box.binaries.kubeScheduler,
    kubernetes: box.binaries.versions.kubernetes,
    ...(options.log ? { log: options.log } : {}),
  });
  await node.importImage(storkImage);
  await node.importImage(schedulerImage);

  // The storage driver's API Service (Portworx's `portworx-api`), here the simulator on this host.
  const simulatorPort = Number(storage.simulator.grpcEndpoint.split(':').pop());
  const restPort = Number(storage.simulator.restEndpoint.split(':').pop());
  await node.forward(simulatorPort);
  await node.forward(restPort);
  const pxApi: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'portworx-api', namespace: 'kube-system' },
    spec: {
      ports: [
        { name: 'px-sdk', port: 9020, targetPort: simulatorPort, protocol: 'TCP' },
        { name: 'px-api', port: 9001, targetPort: restPort, protocol: 'TCP' },
      ],
    },
  };
  await box.api.create(resources.services, pxApi, 'kube-system');
  const slice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'portworx-api-box',
      namespace: 'kube-system',
      labels: {
        'kubernetes.io/service-name': 'portworx-api',
        'endpointslice.kubernetes.io/managed-by': 'box.stork.libopenstorage.org',
      },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [node.hostIp], conditions: { ready: true } }],
    ports: [
      { name: 'px-sdk', port: simulatorPort, protocol: 'TCP' },
      { name: 'px-api', port: restPort, protocol: 'TCP' },
    ],
  };
  await box.api.create(endpointSlices, slice, 'kube-system');

  const apply = async (file: string, text: string): Promise<void> => {
    const path = join(box.dir, file);
    await writeFile(path, text);
    await box.kubectl(['apply', '-f', path]);
  };
  await apply('stork-crds.yaml', await readFile(join(repo, 'specs', 'stork-crds.yaml'), 'utf8'));
  await apply(
    'stork-deployment.yaml',
    await shippedSpec('stork-deployment.yaml', (d) => {
      if (!d.spec) return;
      d.spec.replicas = inClusterReplicas.stork;
      for (const c of d.spec.template.spec?.containers ?? []) {
        c.image = storkImage;
        c.imagePullPolicy = 'Never';
      }
    }),
  );
  await apply(
    'stork-scheduler.yaml',
    await shippedSpec('stork-scheduler.yaml', (d) => {
      if (d.spec) d.spec.replicas = inClusterReplicas['stork-scheduler'];
    }),
  );
  for (const [name, replicas] of Object.entries(inClusterReplicas)) {
    await waitFor(
      `${name} available`,
      async () => {
        const d = await box.api.get<Deployment>(resources.deployments, { namespace: 'kube-system', name });
        return (d.status?.availableReplicas ?? 0) === replicas || undefined;
      },
      { timeoutMs: options.timeoutMs ?? 300_000, intervalMs: 1000 },
    );
  }
}
