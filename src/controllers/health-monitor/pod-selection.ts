import type { Pod } from '../../drivers/k8s-types.js';

/** Pods the monitor must never touch: DaemonSet pods (they belong to their node) and mirror (static) pods. */
export function isProtected(pod: Pod): boolean {
  if (pod.metadata?.annotations?.['kubernetes.io/config.mirror']) return true;
  return (pod.metadata?.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet' && o.controller === true);
}

export interface NodePods {
  /** Pods to move: on the node, using driver volumes, not protected, not already on their way out. */
  readonly toEvict: Pod[];
  /** Pods already being deleted (evicted earlier, or by someone else), with when deletion began. */
  readonly terminating: { pod: Pod; sinceMs: number }[];
}

/** Sorts a node's pods into those to evict and those already terminating. */
export function podsToMove(
  pods: readonly Pod[],
  node: string,
  usesDriverVolumes: (pod: Pod) => boolean,
): NodePods {
  const toEvict: Pod[] = [];
  const terminating: { pod: Pod; sinceMs: number }[] = [];
  for (const pod of pods) {
    if (pod.spec?.nodeName !== node || isProtected(pod) || !usesDriverVolumes(pod)) continue;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const deleting = pod.metadata?.deletionTimestamp;
    // deletionTimestamp is when the grace period ends, not when deletion began.
    const grace = (pod.metadata?.deletionGracePeriodSeconds ?? 0) * 1000;
    if (deleting) terminating.push({ pod, sinceMs: Date.parse(deleting) - grace });
    else toEvict.push(pod);
  }
  return { toEvict, terminating };
}
