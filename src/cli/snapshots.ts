import {
  snapshotApiVersion,
  type VolumeSnapshot,
  type VolumeSnapshotData,
} from '../k8s/crds/volume-snapshot.js';
import { resources } from '../k8s/paths.js';
import type { CommandContext } from './context.js';
import { deleteInNamespace, getInNamespace } from './namespaced.js';
import { asList, CliError, formatDocument, formatTable, rfc822 } from './output.js';

export const snapshotColumns = ['NAME', 'PVC', 'STATUS', 'CREATED', 'COMPLETED', 'TYPE'] as const;

export async function createSnapshot(ctx: CommandContext, names: readonly string[], pvc: string | undefined) {
  if (names.length !== 1) throw new CliError('Exactly one argument needs to be provided for snapshot name');
  const [name = ''] = names;
  if (!pvc) throw new CliError('PVC name needs to be given');
  const snapshot: VolumeSnapshot = {
    apiVersion: snapshotApiVersion,
    kind: 'VolumeSnapshot',
    metadata: { name, namespace: ctx.namespace },
    spec: { persistentVolumeClaimName: pvc },
  };
  await ctx.api.create(resources.volumeSnapshots, snapshot, ctx.namespace);
  ctx.io.out(`Snapshot ${name} created successfully\n`);
}

export async function getSnapshots(ctx: CommandContext, names: readonly string[], pvc: string | undefined) {
  let snapshots: VolumeSnapshot[];
  if (names.length > 0) {
    snapshots = [];
    for (const name of names) snapshots.push(await getSnapshot(ctx, name));
  } else {
    snapshots = (await ctx.api.list<VolumeSnapshot>(resources.volumeSnapshots, ctx.namespace)).items;
  }
  if (pvc) snapshots = snapshots.filter((s) => s.spec.persistentVolumeClaimName === pvc);
  const format = ctx.options.output;
  if (format !== 'table') {
    const single = names.length === 1 && !pvc ? snapshots[0] : undefined;
    ctx.io.out(formatDocument(single ?? asList(snapshots), format));
    return;
  }
  if (snapshots.length === 0) {
    ctx.io.out('No resources found.\n');
    return;
  }
  const types = await snapshotTypes(ctx, snapshots);
  const rows = snapshots.map((s) => snapshotRow(s, types.get(s.spec.snapshotDataName ?? '')));
  ctx.io.out(formatTable(snapshotColumns, rows));
}

export async function deleteSnapshots(
  ctx: CommandContext,
  names: readonly string[],
  pvc: string | undefined,
) {
  let targets: string[];
  if (pvc) {
    if (names.length > 0) throw new CliError('Give either snapshot names or --pvc, not both');
    const all = (await ctx.api.list<VolumeSnapshot>(resources.volumeSnapshots, ctx.namespace)).items;
    targets = all.filter((s) => s.spec.persistentVolumeClaimName === pvc).map((s) => s.metadata.name ?? '');
    if (targets.length === 0) {
      ctx.io.out('No resources found.\n');
      return;
    }
  } else {
    if (names.length === 0) {
      throw new CliError(
        "At least one argument needs to be provided for snapshot name if pvc isn't provided",
      );
    }
    targets = [...names];
  }
  for (const name of targets) {
    await deleteInNamespace(ctx, resources.volumeSnapshots, 'volumesnapshots', name);
    ctx.io.out(`Snapshot ${name} deleted successfully\n`);
  }
}

const getSnapshot = (ctx: CommandContext, name: string): Promise<VolumeSnapshot> =>
  getInNamespace(ctx, resources.volumeSnapshots, 'volumesnapshots', name);

/** One table row: Ready when the Ready condition holds, else Pending (as Stork's storkctl). */
export function snapshotRow(snapshot: VolumeSnapshot, type: string | undefined): string[] {
  const conditions = snapshot.status?.conditions ?? [];
  const ready = conditions.find((c) => c.type === 'Ready' && c.status === 'True');
  return [
    snapshot.metadata.name ?? '',
    snapshot.spec.persistentVolumeClaimName,
    ready ? 'Ready' : 'Pending',
    rfc822(snapshot.metadata.creationTimestamp),
    ready ? rfc822(ready.lastTransitionTime) : '',
    type ?? 'Local',
  ];
}

/** The snapshot type from its data object: `local`, `cloud`, or `group local` for a group's member set. */
export function snapshotType(data: VolumeSnapshotData): string {
  const source = data.spec.portworxVolume;
  if (!source) return 'Local';
  const kind = source.snapshotType ?? 'local';
  return source.snapshotData ? `group ${kind}` : kind;
}

/** Types by data object name; without permission to read data objects, every snapshot shows as Local. */
async function snapshotTypes(ctx: CommandContext, snapshots: readonly VolumeSnapshot[]) {
  const types = new Map<string, string>();
  if (!snapshots.some((s) => s.spec.snapshotDataName)) return types;
  try {
    const datas = await ctx.api.list<VolumeSnapshotData>(resources.volumeSnapshotDatas);
    for (const data of datas.items) types.set(data.metadata.name ?? '', snapshotType(data));
  } catch {
    // The type is a detail; the list is still worth showing.
  }
  return types;
}
