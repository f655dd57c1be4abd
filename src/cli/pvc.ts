import type { PersistentVolumeClaim } from '../wire/k8s-types.js';
import { resources } from '../k8s/paths.js';
import type { CommandContext } from './context.js';
import { CliError } from './output.js';
import {
  snapshotAnnotation,
  snapshotStorageClass,
  sourceNamespaceAnnotation,
} from '../wire/snapshot-names.js';

export const accessModes = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'] as const;

/** A Kubernetes quantity: a number with an optional binary, decimal or exponent suffix. */
const quantity = /^[+]?(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;

export interface CreatePvcFlags {
  readonly snapshot?: string;
  readonly size?: string;
  readonly sourceNs?: string;
  readonly accessMode?: string;
}

/** The claim that restores a snapshot: Stork's snapshot storage class and the snapshot annotation. */
export function restoreClaim(name: string, namespace: string, flags: CreatePvcFlags): PersistentVolumeClaim {
  if (!flags.snapshot) throw new CliError('Snapshot name needs to be provided');
  if (!flags.size) throw new CliError('Size needs to be provided');
  if (!quantity.test(flags.size))
    throw new CliError(`invalid size "${flags.size}": expected a quantity like 2Gi`);
  const mode = flags.accessMode ?? 'ReadWriteOnce';
  if (!(accessModes as readonly string[]).includes(mode)) {
    throw new CliError(`invalid access mode "${mode}": expected one of ${accessModes.join(', ')}`);
  }
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name,
      namespace,
      annotations: {
        [snapshotAnnotation]: flags.snapshot,
        ...(flags.sourceNs ? { [sourceNamespaceAnnotation]: flags.sourceNs } : {}),
      },
    },
    spec: {
      storageClassName: snapshotStorageClass,
      accessModes: [mode],
      resources: { requests: { storage: flags.size } },
    },
  };
}

export async function createPvc(ctx: CommandContext, names: readonly string[], flags: CreatePvcFlags) {
  if (names.length !== 1) throw new CliError('Exactly one argument needs to be provided for pvc name');
  const [name = ''] = names;
  // Checked before the kubeconfig is even read: bad arguments are reported as such.
  const claim = restoreClaim(name, ctx.namespace, flags);
  await ctx.api.create(resources.persistentVolumeClaims, claim, ctx.namespace);
  ctx.io.out(`PersistentVolumeClaim ${name} created successfully\n`);
}
