import type { Pod } from '../../wire/k8s-types.js';
import type { NormalisedAction, NormalisedItem } from './rule-spec.js';

/** One pod a command runs in, and the container it runs in. */
export interface PodTarget {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly container: string;
}

/**
 * The pods a rule may act on: those that mount any of the snapshot's claims (as Stork), running and not
 * being deleted (a command cannot run in any other), each once, in name order so that runInSinglePod
 * always picks the same pod.
 */
export function podsUsingClaims(pods: readonly Pod[], claimNames: readonly string[]): Pod[] {
  const claims = new Set(claimNames);
  const seen = new Set<string>();
  return pods
    .filter((pod) => [...claims].some((claim) => mountsClaim(pod, claim)))
    .filter((pod) => pod.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp)
    .filter((pod) => {
      const uid = pod.metadata?.uid ?? `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
      if (seen.has(uid)) return false;
      seen.add(uid);
      return true;
    })
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

/** Whether a pod mounts the claim (by name, in its own namespace). */
export function mountsClaim(pod: Pod, claimName: string): boolean {
  return (
    claimName !== '' &&
    (pod.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === claimName)
  );
}

/** Whether a pod carries every label of the selector (an empty selector matches every pod). */
export function matchesSelector(pod: Pod, selector: Readonly<Record<string, string>>): boolean {
  const labels = pod.metadata?.labels ?? {};
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** Where an action of an item runs: the matching pods, or the first of them for runInSinglePod. */
export function actionTargets(
  pods: readonly Pod[],
  item: NormalisedItem,
  action: NormalisedAction,
): PodTarget[] {
  const matching = pods.filter((pod) => matchesSelector(pod, item.podSelector));
  const chosen = action.runInSinglePod ? matching.slice(0, 1) : matching;
  return chosen.map((pod) => target(pod, item.container));
}

function target(pod: Pod, container: string | undefined): PodTarget {
  const namespace = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  const containers = pod.spec?.containers ?? [];
  if (container !== undefined && !containers.some((c) => c.name === container)) {
    throw new TargetError(`pod ${namespace}/${name} has no container ${container}`);
  }
  const chosen = container ?? containers[0]?.name;
  if (chosen === undefined) throw new TargetError(`pod ${namespace}/${name} has no containers`);
  return { namespace, name, uid: pod.metadata?.uid ?? '', container: chosen };
}

/** A rule names a container a pod does not have. */
export class TargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetError';
  }
}
