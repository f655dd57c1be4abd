import type { PersistentVolume, Pod } from '../../wire/k8s-types.js';
import { podClaims, type ClaimLookups } from '../../drivers/pod-claims.js';

/** What the monitor does with one pod on a node being drained. */
export type PodVerdict =
  /** Never touched, and why. */
  | {
      readonly kind: 'skip';
      readonly why: 'other-node' | 'finished' | 'daemonset' | 'mirror' | 'no-driver-volumes';
    }
  /** Never evicted: these volumes' data lives only on this node. */
  | { readonly kind: 'local'; readonly volumes: readonly string[] }
  /** Already being deleted, since `since` (wall-clock ms). */
  | { readonly kind: 'terminating'; readonly since: number }
  | { readonly kind: 'evict' };

export interface PodSelectionDeps {
  usesDriverVolumes(pod: Pod): boolean;
  readonly claims: ClaimLookups;
  /**
   * Whether the driver knows a volume to live on one node only, beyond the hostname pins every driver
   * shares (e.g. a CSI driver's own per-node topology key).
   */
  readonly localToOneNode?: (pv: PersistentVolume) => boolean;
}

/** DaemonSet pods belong to their node; mirror (static) pods are the kubelet's. */
function protectedKind(pod: Pod): 'daemonset' | 'mirror' | undefined {
  if (pod.metadata?.annotations?.['kubernetes.io/config.mirror']) return 'mirror';
  if ((pod.metadata?.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet' && o.controller === true))
    return 'daemonset';
  return undefined;
}

/**
 * Whether a PersistentVolume can only ever be used on one node: its node affinity requires, in every
 * term, one single `kubernetes.io/hostname` value or one single node name (local volumes, and CSI
 * drivers whose volumes live on one node's disks). Its data is only there: evicting its pod cannot
 * bring the pod back anywhere else.
 */
export function pinnedToOneNode(pv: PersistentVolume): boolean {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
  if (terms.length === 0) return false;
  const values = new Set<string>();
  for (const term of terms) {
    const pins = [
      ...(term.matchExpressions ?? []).filter((e) => e.key === 'kubernetes.io/hostname'),
      ...(term.matchFields ?? []).filter((e) => e.key === 'metadata.name'),
    ].filter((e) => e.operator === 'In' && e.values?.length === 1);
    if (pins.length === 0) return false;
    for (const pin of pins) values.add(`${pin.key}=${pin.values?.[0] ?? ''}`);
  }
  // Terms are ORed: pinned only if they all name the same node (by one key).
  return values.size === 1;
}

/** The pod's claims whose volumes are pinned to one node (by PV name). */
export function localVolumes(
  pod: Pod,
  claims: ClaimLookups,
  localToOneNode?: (pv: PersistentVolume) => boolean,
): string[] {
  return podClaims(pod, claims).flatMap(({ pv }) =>
    pv && (pinnedToOneNode(pv) || localToOneNode?.(pv) === true) ? [pv.metadata?.name ?? ''] : [],
  );
}

/** The PersistentVolumes a pod's claims are bound to. */
export function podVolumeNames(pod: Pod, claims: ClaimLookups): string[] {
  return podClaims(pod, claims).flatMap(({ pvName }) => (pvName ? [pvName] : []));
}

/** Sorts one pod on `node` (a node whose storage failed). */
export function classifyPod(pod: Pod, node: string, deps: PodSelectionDeps): PodVerdict {
  if (pod.spec?.nodeName !== node) return { kind: 'skip', why: 'other-node' };
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return { kind: 'skip', why: 'finished' };
  const kind = protectedKind(pod);
  if (kind) return { kind: 'skip', why: kind };
  if (!deps.usesDriverVolumes(pod)) return { kind: 'skip', why: 'no-driver-volumes' };
  const deleting = pod.metadata?.deletionTimestamp;
  if (deleting) {
    // deletionTimestamp is when the grace period ends, not when deletion began.
    const grace = (pod.metadata?.deletionGracePeriodSeconds ?? 0) * 1000;
    return { kind: 'terminating', since: Date.parse(deleting) - grace };
  }
  const local = localVolumes(pod, deps.claims, deps.localToOneNode);
  if (local.length > 0) return { kind: 'local', volumes: local };
  return { kind: 'evict' };
}
