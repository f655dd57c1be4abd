import type { CSIStorageCapacity, Node, NodeSelector } from '../../wire/k8s-types.js';
import { describeNodeSelector, labelSelectorMatches, nodeSelectorMatches } from '../node-selectors.js';
import { quantityValue } from '../quantity.js';
import { registeredDrivers, registration, tracksCapacity, type CSINode, type CsiView } from './csi-view.js';
import type { BoundCsiVolume, WaitingCsiClaim } from './pod-csi-volumes.js';

/** The CSI facts a placement decision uses for one pod (see podCsiVolumes). */
export interface CsiPodPlacement {
  readonly bound: readonly BoundCsiVolume[];
  readonly waiting: readonly WaitingCsiClaim[];
  readonly drivers: readonly string[];
}

/** How close a node is to one CSI volume, in the tiers stork scores pxd replicas by. */
export type CsiTier = 'replica' | 'rack' | 'zone' | 'region' | 'capacity';

/** One volume's contribution to a node's score (what `storkctl explain` shows). */
export interface CsiScorePart {
  readonly volume: string;
  readonly tier: CsiTier;
  readonly points: number;
}

const hostnameLabel = 'kubernetes.io/hostname';
const zoneLabels = new Set(['topology.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/zone']);
const regionLabels = new Set(['topology.kubernetes.io/region', 'failure-domain.beta.kubernetes.io/region']);

function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ['Ti', 2 ** 40],
    ['Gi', 2 ** 30],
    ['Mi', 2 ** 20],
    ['Ki', 2 ** 10],
  ] as const) {
    if (bytes >= size) return `${Math.round((bytes / size) * 10) / 10}${unit}`;
  }
  return `${bytes}B`;
}

/** How much one CSIStorageCapacity can give a single new volume, as kube-scheduler reads it. */
function volumeLimit(capacity: CSIStorageCapacity): number | undefined {
  return quantityValue(capacity.maximumVolumeSize ?? capacity.capacity);
}

interface CapacityIndex {
  /**
   * Objects by the key, then the value, of the first entry of their `matchLabels`: a node can only match
   * those whose value it carries under that key. Node-local drivers use one key (their topology key), so
   * finding a node's objects is one label read and one lookup, whatever the number of nodes.
   */
  readonly byLabel: Map<string, Map<string, CSIStorageCapacity[]>>;
  /** Objects without `matchLabels` (expressions only, or empty: every node), checked on every node. */
  readonly others: CSIStorageCapacity[];
}

// Per list of a class's objects (the view hands out the same array until the objects change), so
// finding a node's objects costs its labels, not a pass over every node's objects.
const indexes = new WeakMap<readonly CSIStorageCapacity[], CapacityIndex>();

function capacityIndex(list: readonly CSIStorageCapacity[]): CapacityIndex {
  let index = indexes.get(list);
  if (index) return index;
  index = { byLabel: new Map(), others: [] };
  for (const c of list) {
    // An object without nodeTopology describes storage no node can reach.
    if (!c.nodeTopology) continue;
    const [first] = Object.entries(c.nodeTopology.matchLabels ?? {});
    if (!first) {
      index.others.push(c);
      continue;
    }
    const [key, value] = first;
    let byValue = index.byLabel.get(key);
    if (!byValue) index.byLabel.set(key, (byValue = new Map<string, CSIStorageCapacity[]>()));
    const bucket = byValue.get(value);
    if (bucket) bucket.push(c);
    else byValue.set(value, [c]);
  }
  indexes.set(list, index);
  return index;
}

/** The CSIStorageCapacity objects of a class that describe storage this node can reach. */
function reachableCapacities(list: readonly CSIStorageCapacity[], node: Node): CSIStorageCapacity[] {
  const index = capacityIndex(list);
  const labels = node.metadata?.labels ?? {};
  const candidates = [...index.others];
  for (const [key, byValue] of index.byLabel) {
    const value = labels[key];
    const bucket = value === undefined ? undefined : byValue.get(value);
    if (bucket) candidates.push(...bucket);
  }
  return candidates.filter((c) => c.nodeTopology !== undefined && labelSelectorMatches(c.nodeTopology, node));
}

/** A node's largest volume per class, as of the class's list of objects it was worked out from. */
type LargestByClass = Map<string, { readonly list: readonly CSIStorageCapacity[]; readonly bytes?: number }>;

// Per Node object (the informer hands out a new one when the node changes) and per class list (a new
// array when any CSIStorageCapacity changes): a request reads the answer instead of matching selectors
// and parsing quantities for every node it is asked about.
const largestMemo = new WeakMap<Node, LargestByClass>();

// The last answer of largestVolumeIn, by node and list (the answer depends on nothing else; plain
// variables: no object per call).
let lastNode: Node | undefined;
let lastList: readonly CSIStorageCapacity[] | undefined;
let lastBytes: number | undefined;

function remember(node: Node, list: readonly CSIStorageCapacity[], bytes: number | undefined): void {
  lastNode = node;
  lastList = list;
  lastBytes = bytes;
}

/** The largest single volume the node's storage for this class can take, or undefined if it reports none. */
export function largestVolumeFor(view: CsiView, storageClass: string, node: Node): number | undefined {
  return largestVolumeIn(view.capacities(storageClass), storageClass, node);
}

/** {@link largestVolumeFor} with the class's list already looked up (once per request, not per node). */
function largestVolumeIn(
  list: readonly CSIStorageCapacity[],
  storageClass: string,
  node: Node,
): number | undefined {
  // A pod's claims of one class ask about the same node one after the other: the last answer first.
  if (lastNode === node && lastList === list) return lastBytes;
  let byClass = largestMemo.get(node);
  const known = byClass?.get(storageClass);
  if (known?.list === list) {
    remember(node, list, known.bytes);
    return known.bytes;
  }
  let best: number | undefined;
  for (const c of reachableCapacities(list, node)) {
    const limit = volumeLimit(c);
    if (limit !== undefined && (best === undefined || limit > best)) best = limit;
  }
  if (!byClass) {
    byClass = new Map();
    largestMemo.set(node, byClass);
  }
  byClass.set(storageClass, best === undefined ? { list } : { list, bytes: best });
  remember(node, list, best);
  return best;
}

/** What one request's CSI checks need about a waiting claim, looked up once rather than per node. */
interface WaitingCheck {
  readonly claim: WaitingCsiClaim;
  /** Whether its driver publishes capacity (else capacity neither filters nor scores). */
  readonly tracked: boolean;
  readonly capacities: readonly CSIStorageCapacity[];
}

/** The facts of one request that are the same for every node: made once, passed to the per-node checks. */
export interface CsiRequest {
  readonly waiting: readonly WaitingCheck[];
}

export function csiRequest(pod: CsiPodPlacement, view: CsiView): CsiRequest {
  return {
    waiting: pod.waiting.map((claim) => {
      const tracked = tracksCapacity(view, claim.driver);
      return { claim, tracked, capacities: tracked ? view.capacities(claim.storageClass) : [] };
    }),
  };
}

/**
 * Why the node cannot run the pod as far as its CSI volumes go, or undefined when it can:
 * 1. a CSI driver the pod needs has no entry in the node's CSINode (its node plugin is not registered:
 *    the kubelet could not mount the volume);
 * 2. a bound volume's PV node affinity excludes the node;
 * 3. a WaitForFirstConsumer claim of a driver with capacity tracking (`CSIDriver.spec.storageCapacity`)
 *    finds no CSIStorageCapacity reachable from the node that holds its request (the limit of one
 *    object is `maximumVolumeSize`, else `capacity`, as kube-scheduler's VolumeBinding plugin reads it).
 */
export function csiFilterReason(
  node: Node,
  pod: CsiPodPlacement,
  view: CsiView,
  request: CsiRequest = csiRequest(pod, view),
): string | undefined {
  const name = node.metadata?.name ?? '';
  const csiNode = view.csiNode(name);
  for (const driver of pod.drivers) {
    if (!registration(csiNode, driver)) {
      const registered = registeredDrivers(csiNode).map((d) => d.name);
      const listed = csiNode
        ? registered.length > 0
          ? `its CSINode lists only ${registered.join(', ')}`
          : 'its CSINode lists no driver'
        : 'the node has no CSINode';
      return `CSI driver ${driver} is not registered on this node (${listed}): its node plugin is not running here`;
    }
  }
  for (const volume of pod.bound) {
    if (volume.nodeAffinity && !nodeSelectorMatches(volume.nodeAffinity, node)) {
      return `outside the topology of volume ${volume.pv} (claim ${volume.claim}), which needs ${describeNodeSelector(volume.nodeAffinity)}`;
    }
  }
  for (const { claim, tracked, capacities } of request.waiting) {
    if (!tracked) continue;
    const largest = largestVolumeIn(capacities, claim.storageClass, node);
    if (largest === undefined) {
      return `no CSIStorageCapacity of storage class ${claim.storageClass} reaches this node, so claim ${claim.claim} cannot be provisioned here`;
    }
    if (largest < claim.requestBytes) {
      return `not enough ${claim.storageClass} capacity for claim ${claim.claim}: ${formatBytes(claim.requestBytes)} requested, at most ${formatBytes(largest)} available here`;
    }
  }
  return undefined;
}

/** The tier a bound volume's node affinity gives a node that satisfies it. */
function affinityTier(
  selector: NodeSelector,
  rackLabel: string,
  topologyKeys: ReadonlySet<string>,
): Exclude<CsiTier, 'capacity'> {
  const keys = new Set<string>();
  for (const term of selector.nodeSelectorTerms) {
    for (const r of term.matchExpressions ?? []) keys.add(r.key);
    for (const r of term.matchFields ?? []) keys.add(r.key);
  }
  // A volume pinned to nodes (by name, or by a key its driver registers per node) is local to them.
  if (keys.has(hostnameLabel) || keys.has('metadata.name')) return 'replica';
  if (keys.has(rackLabel) || keys.has('px/rack')) return 'rack';
  if ([...keys].some((k) => zoneLabels.has(k))) return 'zone';
  if ([...keys].some((k) => regionLabels.has(k))) return 'region';
  if ([...keys].some((k) => topologyKeys.has(k))) return 'replica';
  return 'region';
}

const tierPoints: Readonly<Record<Exclude<CsiTier, 'capacity'>, number>> = {
  replica: 100,
  rack: 50,
  zone: 25,
  region: 10,
};

/**
 * The node's points for the pod's CSI volumes, on stork's scale (a replica is worth 100):
 * - a bound volume with node affinity the node satisfies scores by how narrow that affinity is: pinned to
 *   the node (hostname or the driver's per-node topology key) 100, rack 50, zone 25, region 10, the pxd
 *   driver's tiers; a volume without node affinity (reachable from every node) expresses no preference;
 * - a WaitForFirstConsumer claim of a driver with capacity tracking scores
 *   `100 × (1 − request / largest volume the node can take)`: the node left with the most room wins.
 *   That is the shape of upstream's StorageCapacityScoring default (utilisation 0 → 10, 100 → 0,
 *   linear), on stork's 0..100 scale, summed over claims.
 * Nodes the filter drops are not scored (their parts would be meaningless).
 */
export function csiScoreParts(
  node: Node,
  pod: CsiPodPlacement,
  view: CsiView,
  rackLabel: string,
  request: CsiRequest = csiRequest(pod, view),
  csiNode: CSINode | undefined = view.csiNode(node.metadata?.name ?? ''),
): CsiScorePart[] {
  const parts: CsiScorePart[] = [];
  for (const volume of pod.bound) {
    if (!volume.nodeAffinity || !nodeSelectorMatches(volume.nodeAffinity, node)) continue;
    const keys = new Set(registration(csiNode, volume.driver)?.topologyKeys ?? []);
    const tier = affinityTier(volume.nodeAffinity, rackLabel, keys);
    parts.push({ volume: volume.pv, tier, points: tierPoints[tier] });
  }
  for (const { claim, tracked, capacities } of request.waiting) {
    if (!tracked) continue;
    const largest = largestVolumeIn(capacities, claim.storageClass, node);
    if (largest === undefined || largest <= 0 || largest < claim.requestBytes) continue;
    const points = Math.round(100 * (1 - claim.requestBytes / largest));
    parts.push({ volume: claim.claim, tier: 'capacity', points });
  }
  return parts;
}
