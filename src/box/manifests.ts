import { parseAllDocuments } from 'yaml';
import type { KubeApi } from '../k8s/api.js';
import { isAlreadyExists } from '../k8s/errors.js';
import { resources, type ResourceType } from '../k8s/paths.js';

const kindToResource: Record<string, ResourceType> = {
  PersistentVolumeClaim: resources.persistentVolumeClaims,
  PersistentVolume: resources.persistentVolumes,
  StorageClass: resources.storageClasses,
  Deployment: resources.deployments,
  StatefulSet: resources.statefulSets,
  Pod: resources.pods,
  ConfigMap: resources.configMaps,
  Service: resources.services,
  PodDisruptionBudget: resources.podDisruptionBudgets,
  VolumeSnapshot: resources.volumeSnapshots,
  Rule: resources.rules,
};

/** Creates every document of a multi-document YAML manifest (namespaced ones in `namespace`). */
export async function applyManifests(api: KubeApi, text: string, namespace: string): Promise<void> {
  for (const doc of parseAllDocuments(text)) {
    const object = doc.toJS() as { kind?: string } | null;
    if (!object) continue;
    const type = kindToResource[object.kind ?? ''];
    if (!type) throw new Error(`applyManifests: unsupported kind ${object.kind ?? '(none)'}`);
    try {
      await api.create(type, object, type.namespaced ? namespace : undefined);
    } catch (error) {
      // Cluster-scoped objects such as StorageClasses may be shared by several tests.
      if (type.namespaced || !isAlreadyExists(error)) throw error;
    }
  }
}
