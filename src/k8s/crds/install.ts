import type { CustomResourceDefinition } from '../../wire/k8s-types.js';
import type { KubeApi } from '../api.js';
import { isAlreadyExists, isNotFound } from '../errors.js';
import { resources } from '../paths.js';
import { waitFor } from '../../lib/wait.js';
import { ruleCrd } from './rule.js';
import { volumeSnapshotCrd, volumeSnapshotDataCrd } from './volume-snapshot.js';
import { namespacedSchedulePolicyCrd, schedulePolicyCrd } from './schedule-policy.js';
import { volumeSnapshotScheduleCrd } from './volume-snapshot-schedule.js';
import { groupVolumeSnapshotCrd } from './group-volume-snapshot.js';
import { schedulingDecisionCrd } from './scheduling-decision.js';

/** The CRDs stork installs and owns. */
export const storkCrds: readonly CustomResourceDefinition[] = [
  volumeSnapshotCrd,
  volumeSnapshotDataCrd,
  ruleCrd,
  // Snapshot schedules.
  schedulePolicyCrd,
  namespacedSchedulePolicyCrd,
  volumeSnapshotScheduleCrd,
  // Group snapshots (Stork's kind; see docs/snapshots.md for what acts on it).
  groupVolumeSnapshotCrd,
  // The extender's recorded decisions (storkctl explain).
  schedulingDecisionCrd,
];

/**
 * Creates the CRDs, or updates them to this version's definition, and waits until the API server serves
 * them (Established). Safe to run from several replicas at once.
 */
export async function ensureCrds(
  api: KubeApi,
  crds: readonly CustomResourceDefinition[] = storkCrds,
  timeoutMs = 60_000,
): Promise<void> {
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    for (let attempt = 0; ; attempt++) {
      try {
        const current = await api.get<CustomResourceDefinition>(resources.customResourceDefinitions, {
          name,
        });
        await api.replace(
          resources.customResourceDefinitions,
          { name },
          {
            ...crd,
            metadata: { ...crd.metadata, resourceVersion: current.metadata?.resourceVersion },
          },
        );
        break;
      } catch (error) {
        if (isNotFound(error)) {
          try {
            await api.create(resources.customResourceDefinitions, crd);
            break;
          } catch (createError) {
            if (!isAlreadyExists(createError) || attempt >= 5) throw createError;
            continue;
          }
        }
        // A conflict means another replica updated it in between: read again.
        if (attempt >= 5) throw error;
      }
    }
  }
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    await waitFor(
      `CRD ${name} established`,
      async () => {
        const current = await api.get<CustomResourceDefinition>(resources.customResourceDefinitions, {
          name,
        });
        return (current.status?.conditions ?? []).some(
          (c) => c.type === 'Established' && c.status === 'True',
        );
      },
      { timeoutMs },
    );
  }
}
