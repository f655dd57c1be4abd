/** How the stork kube-scheduler calls the extender; the fields of `KubeSchedulerConfiguration.extenders[]`. */
export interface ExtenderRegistration {
  readonly urlPrefix: string;
  readonly weight?: number;
  readonly nodeCacheCapable?: boolean;
  readonly ignorable?: boolean;
  /** A Go duration, e.g. `5s`. */
  readonly httpTimeout?: string;
}

/**
 * A `kubescheduler.config.k8s.io/v1` configuration for one profile. JSON is valid YAML, and the scheduler
 * reads it either way. Leader election is off: each box runs one replica of each scheduler.
 */
export function schedulerConfiguration(options: {
  schedulerName: string;
  kubeconfig: string;
  extender?: ExtenderRegistration;
}): string {
  const config: Record<string, unknown> = {
    apiVersion: 'kubescheduler.config.k8s.io/v1',
    kind: 'KubeSchedulerConfiguration',
    clientConnection: { kubeconfig: options.kubeconfig, qps: 500, burst: 1000 },
    leaderElection: { leaderElect: false },
    // Score every feasible node, so that replica nodes are never left out of the extender's view.
    percentageOfNodesToScore: 100,
    profiles: [{ schedulerName: options.schedulerName }],
  };
  if (options.extender) {
    const e = options.extender;
    config.extenders = [
      {
        urlPrefix: e.urlPrefix,
        filterVerb: 'filter',
        prioritizeVerb: 'prioritize',
        weight: e.weight ?? 5,
        enableHTTPS: false,
        nodeCacheCapable: e.nodeCacheCapable ?? false,
        ignorable: e.ignorable ?? false,
        httpTimeout: e.httpTimeout ?? '5s',
      },
    ];
  }
  return JSON.stringify(config, null, 2) + '\n';
}
