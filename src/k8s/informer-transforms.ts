import type { Node, Pod } from '../wire/k8s-types.js';
import type { KubeObject } from './informer.js';
import { StringPool } from '../lib/string-pool.js';

/**
 * What an informer keeps of each object, as client-go's transform functions do: a cache holds every
 * object of its kind for the life of the process, so fields no reader uses are memory paid per object.
 * `managedFields` (server-side apply's bookkeeping) is often the largest part of an object and is never
 * read by stork.
 */
export function withoutManagedFields<T extends KubeObject>(object: T): T {
  const metadata = object.metadata as { managedFields?: unknown } | undefined;
  if (metadata?.managedFields === undefined) return object;
  const { managedFields: _dropped, ...rest } = metadata;
  return { ...object, metadata: rest };
}

/**
 * The strings many pods carry (their namespace, node, scheduler, phase, owner kind), kept once: each
 * parsed pod brings its own copy of every value, so 50,000 pods on 5,000 nodes would keep 50,000 copies
 * of a few thousand strings. Bounded by node names of the largest clusters, with a margin.
 */
export const podStrings = new StringPool(20_000);
const intern = (value: string): string => podStrings.intern(value);

/** Pod annotations stork's readers act on: stork's own, and the kubelet's mark of a static (mirror) pod. */
function readAnnotation(key: string): boolean {
  return key.startsWith('stork.libopenstorage.org/') || key === 'kubernetes.io/config.mirror';
}

/** The pod volumes stork's readers follow: claims, and Portworx inline volumes. */
function readVolume(volume: NonNullable<NonNullable<Pod['spec']>['volumes']>[number]): boolean {
  return volume.persistentVolumeClaim !== undefined || volume.portworxVolume !== undefined;
}

/**
 * A pod as stork's readers use it (scheduling decisions and explain, the health monitor, placement
 * reports, the extender's pod check), and nothing else: the cache holds every pod of the cluster, 50,000
 * in a big one, so each field kept is paid that many times (this keeps about a fifth of a typical pod).
 * Kept: name, namespace, uid, resourceVersion, owners, deletion time and grace, stork's annotations and
 * the mirror-pod mark; node, scheduler, the claim and Portworx volumes, container names; phase and the
 * Ready condition's status. A new reader of another field must add it here (the unit test lists them).
 */
export function podForStork(pod: Pod): Pod {
  const metadata = pod.metadata ?? {};
  let annotations: Record<string, string> | undefined;
  for (const [key, value] of Object.entries(metadata.annotations ?? {})) {
    if (readAnnotation(key)) (annotations ??= {})[key] = value;
  }
  const spec = pod.spec;
  const volumes = spec?.volumes?.filter(readVolume);
  const named = (c: { readonly name: string }) => ({ name: c.name });
  const status = pod.status;
  const ready = status?.conditions?.find((c) => c.type === 'Ready');
  const owners = metadata.ownerReferences?.map((o) => ({
    ...o,
    apiVersion: intern(o.apiVersion),
    kind: intern(o.kind),
  }));
  return {
    ...(pod.apiVersion !== undefined ? { apiVersion: pod.apiVersion } : {}),
    ...(pod.kind !== undefined ? { kind: pod.kind } : {}),
    metadata: {
      ...(metadata.name !== undefined ? { name: metadata.name } : {}),
      ...(metadata.namespace !== undefined ? { namespace: intern(metadata.namespace) } : {}),
      ...(metadata.uid !== undefined ? { uid: metadata.uid } : {}),
      ...(metadata.resourceVersion !== undefined ? { resourceVersion: metadata.resourceVersion } : {}),
      ...(owners !== undefined ? { ownerReferences: owners } : {}),
      ...(metadata.deletionTimestamp !== undefined ? { deletionTimestamp: metadata.deletionTimestamp } : {}),
      ...(metadata.deletionGracePeriodSeconds !== undefined
        ? { deletionGracePeriodSeconds: metadata.deletionGracePeriodSeconds }
        : {}),
      ...(annotations ? { annotations } : {}),
    },
    ...(spec
      ? {
          spec: {
            ...(spec.nodeName !== undefined ? { nodeName: intern(spec.nodeName) } : {}),
            ...(spec.schedulerName !== undefined ? { schedulerName: intern(spec.schedulerName) } : {}),
            containers: spec.containers.map(named),
            ...(spec.initContainers ? { initContainers: spec.initContainers.map(named) } : {}),
            ...(volumes && volumes.length > 0 ? { volumes } : {}),
          },
        }
      : {}),
    ...(status
      ? {
          status: {
            ...(status.phase !== undefined ? { phase: intern(status.phase) } : {}),
            ...(ready ? { conditions: [{ type: 'Ready', status: intern(ready.status) }] } : {}),
          },
        }
      : {}),
  };
}

/**
 * A Node as stork's readers use it (node matching, locality, the health monitor, CSI placement): its
 * metadata without `managedFields`, its spec, and of its status only the addresses and the conditions'
 * type, status and reason. The rest of a kubelet's status (the images on the node, often fifty entries;
 * capacity, node info, attached volumes) is most of a Node object and is read by nothing here.
 */
export function nodeForStork(node: Node): Node {
  const lean = withoutManagedFields(node);
  const status = lean.status;
  if (!status) return lean;
  return {
    ...lean,
    status: {
      ...(status.addresses ? { addresses: status.addresses } : {}),
      ...(status.conditions
        ? {
            conditions: status.conditions.map((c) => ({
              type: c.type,
              status: c.status,
              ...(c.reason !== undefined ? { reason: c.reason } : {}),
            })),
          }
        : {}),
    },
  };
}

/**
 * Whether two Nodes, as {@link nodeForStork} keeps them, differ in more than their resourceVersion and
 * generation (bookkeeping: the spec, compared whole, is what a generation counts).
 */
export function sameNodeContent(previous: Node, next: Node): boolean {
  const { resourceVersion: _p, generation: _pg, ...before } = previous.metadata ?? {};
  const { resourceVersion: _n, generation: _ng, ...after } = next.metadata ?? {};
  return (
    JSON.stringify(before) === JSON.stringify(after) &&
    JSON.stringify(previous.spec) === JSON.stringify(next.spec) &&
    JSON.stringify(previous.status) === JSON.stringify(next.status)
  );
}
