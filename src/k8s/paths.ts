/** Identifies a kind of resource on the API server, e.g. `{group: 'apps', version: 'v1', resource: 'deployments'}`. */
export interface ResourceType {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  /** The plural, lower-case resource name. */
  readonly resource: string;
  readonly namespaced: boolean;
}

export interface ResourceRef {
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
  readonly subresource?: string | undefined;
}

/** The REST path of a collection or an object, e.g. `/apis/apps/v1/namespaces/ns/deployments/name`. */
export function resourcePath(type: ResourceType, ref: ResourceRef = {}): string {
  const base = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  const parts = [base];
  if (type.namespaced && ref.namespace) parts.push('namespaces', encodeURIComponent(ref.namespace));
  if (!type.namespaced && ref.namespace) {
    throw new RangeError(`${type.resource} is cluster-scoped but namespace "${ref.namespace}" was given`);
  }
  parts.push(type.resource);
  if (ref.name !== undefined) {
    if (ref.name === '') throw new RangeError(`empty name for ${type.resource}`);
    parts.push(encodeURIComponent(ref.name));
  }
  if (ref.subresource) {
    if (ref.name === undefined) throw new RangeError(`subresource ${ref.subresource} needs a name`);
    parts.push(ref.subresource);
  }
  return parts.join('/');
}

const core = (resource: string, namespaced = true): ResourceType => ({
  group: '',
  version: 'v1',
  resource,
  namespaced,
});

/** The built-in resources this project uses. */
export const resources = {
  namespaces: core('namespaces', false),
  nodes: core('nodes', false),
  pods: core('pods'),
  events: core('events'),
  configMaps: core('configmaps'),
  secrets: core('secrets'),
  services: core('services'),
  serviceAccounts: core('serviceaccounts'),
  persistentVolumes: core('persistentvolumes', false),
  persistentVolumeClaims: core('persistentvolumeclaims'),
  deployments: { group: 'apps', version: 'v1', resource: 'deployments', namespaced: true },
  replicaSets: { group: 'apps', version: 'v1', resource: 'replicasets', namespaced: true },
  statefulSets: { group: 'apps', version: 'v1', resource: 'statefulsets', namespaced: true },
  storageClasses: { group: 'storage.k8s.io', version: 'v1', resource: 'storageclasses', namespaced: false },
  volumeAttachments: {
    group: 'storage.k8s.io',
    version: 'v1',
    resource: 'volumeattachments',
    namespaced: false,
  },
  leases: { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespaced: true },
  podDisruptionBudgets: {
    group: 'policy',
    version: 'v1',
    resource: 'poddisruptionbudgets',
    namespaced: true,
  },
  customResourceDefinitions: {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    resource: 'customresourcedefinitions',
    namespaced: false,
  },
  mutatingWebhookConfigurations: {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    resource: 'mutatingwebhookconfigurations',
    namespaced: false,
  },
  // Stork's custom resources (CRDs it installs).
  volumeSnapshots: {
    group: 'volumesnapshot.external-storage.k8s.io',
    version: 'v1',
    resource: 'volumesnapshots',
    namespaced: true,
  },
  volumeSnapshotDatas: {
    group: 'volumesnapshot.external-storage.k8s.io',
    version: 'v1',
    resource: 'volumesnapshotdatas',
    namespaced: false,
  },
  rules: { group: 'stork.libopenstorage.org', version: 'v1alpha1', resource: 'rules', namespaced: true },
  groupVolumeSnapshots: {
    group: 'stork.libopenstorage.org',
    version: 'v1alpha1',
    resource: 'groupvolumesnapshots',
    namespaced: true,
  },
  // Snapshot schedules.
  schedulePolicies: {
    group: 'stork.libopenstorage.org',
    version: 'v1alpha1',
    resource: 'schedulepolicies',
    namespaced: false,
  },
  namespacedSchedulePolicies: {
    group: 'stork.libopenstorage.org',
    version: 'v1alpha1',
    resource: 'namespacedschedulepolicies',
    namespaced: true,
  },
  volumeSnapshotSchedules: {
    group: 'stork.libopenstorage.org',
    version: 'v1alpha1',
    resource: 'volumesnapshotschedules',
    namespaced: true,
  },
  schedulingDecisions: {
    group: 'stork.libopenstorage.org',
    version: 'v1alpha1',
    resource: 'schedulingdecisions',
    namespaced: true,
  },
} as const satisfies Record<string, ResourceType>;
