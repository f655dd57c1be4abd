import { buildah, imageExists } from './containers.js';

/**
 * The image specs/stork-scheduler.yaml runs, `registry.k8s.io/kube-scheduler:v<version>`, made from the
 * box's own kube-scheduler (a static binary of the same release) because the box has no registry to pull
 * from: a scratch image holding only the binary at the path and PATH the upstream image has, as a
 * non-root user. The kubelet finds it in the node's containerd, so the shipped spec runs unchanged.
 */
export function kubeSchedulerImageName(kubernetes: string): string {
  return `registry.k8s.io/kube-scheduler:v${kubernetes}`;
}

export async function ensureKubeSchedulerImage(options: {
  readonly binary: string;
  readonly kubernetes: string;
  readonly log?: (line: string) => void;
}): Promise<string> {
  const name = kubeSchedulerImageName(options.kubernetes);
  if (await imageExists(name)) return name;
  options.log?.(`[image] making ${name} from the box's kube-scheduler`);
  const container = (await buildah(['from', '--quiet', 'scratch'])).trim();
  try {
    await buildah(['copy', '--chmod', '0755', container, options.binary, '/usr/local/bin/kube-scheduler']);
    await buildah([
      'config',
      '--env',
      'PATH=/usr/local/bin',
      '--user',
      '65532:65532',
      '--entrypoint',
      '["/usr/local/bin/kube-scheduler"]',
      container,
    ]);
    await buildah(['commit', '--quiet', container, name]);
  } finally {
    await buildah(['rm', container]).catch(() => undefined);
  }
  return name;
}
