// storkctl create|get|delete groupsnapshot: Stork's flags, columns and messages.
import {
  groupVolumeSnapshotApiVersion,
  type GroupVolumeSnapshot,
} from '../k8s/crds/group-volume-snapshot.js';
import { resources } from '../k8s/paths.js';
import type { CommandContext } from './context.js';
import { deleteInNamespace, getInNamespace } from './namespaced.js';
import { asList, CliError, formatDocument, formatTable, rfc822 } from './output.js';

export const groupSnapshotColumns = ['NAME', 'STATUS', 'STAGE', 'SNAPSHOTS', 'CREATED'] as const;

export interface GroupSnapshotFlags {
  readonly pvcSelectors?: readonly string[];
  readonly preExecRule?: string;
  readonly postExecRule?: string;
  readonly restoreNamespaces?: readonly string[];
  readonly maxRetries?: string;
  readonly opts?: readonly string[];
}

/** Commander's collector for Stork's comma-separated, repeatable list flags. */
export function collectList(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').filter((v) => v !== '')];
}

/** `key1=value1` entries as a map; the first malformed one is refused (shown cut short). */
export function parseKeyValueList(entries: readonly string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const entry of entries) {
    const at = entry.indexOf('=');
    if (at <= 0) {
      throw new CliError(`Invalid key value: ${entry.slice(0, 100)} provided. Example format: app=mysql`);
    }
    map[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return map;
}

/** The GroupVolumeSnapshot the create command makes from its arguments and flags. */
export function groupSnapshotFromFlags(
  names: readonly string[],
  namespace: string,
  flags: GroupSnapshotFlags,
): GroupVolumeSnapshot {
  if (names.length !== 1) throw new CliError('Exactly one name needs to be provided for groupsnapshot name');
  const selectors = flags.pvcSelectors ?? [];
  if (selectors.length === 0) throw new CliError('PVC label selectors must be provided');
  const matchLabels = parseKeyValueList(selectors);
  const options = flags.opts && flags.opts.length > 0 ? parseKeyValueList(flags.opts) : undefined;
  let maxRetries = 0;
  if (flags.maxRetries !== undefined) {
    maxRetries = Number(flags.maxRetries);
    if (!/^\d{1,9}$/.test(flags.maxRetries))
      throw new CliError(
        `Invalid maxRetries (${flags.maxRetries.slice(0, 20)}): give a whole number, 0 or more`,
      );
  }
  const restoreNamespaces = flags.restoreNamespaces ?? [];
  return {
    apiVersion: groupVolumeSnapshotApiVersion,
    kind: 'GroupVolumeSnapshot',
    metadata: { name: names[0] ?? '', namespace },
    spec: {
      pvcSelector: { matchLabels },
      ...(flags.preExecRule ? { preExecRule: flags.preExecRule } : {}),
      ...(flags.postExecRule ? { postExecRule: flags.postExecRule } : {}),
      ...(restoreNamespaces.length > 0 ? { restoreNamespaces: [...restoreNamespaces] } : {}),
      ...(maxRetries > 0 ? { maxRetries } : {}),
      ...(options ? { options } : {}),
    },
  };
}

export async function createGroupSnapshot(
  ctx: CommandContext,
  names: readonly string[],
  flags: GroupSnapshotFlags,
) {
  const group = groupSnapshotFromFlags(names, ctx.namespace, flags);
  await ctx.api.create(resources.groupVolumeSnapshots, group, ctx.namespace);
  ctx.io.out(`GroupVolumeSnapshot ${group.metadata.name ?? ''} created successfully\n`);
}

export async function getGroupSnapshots(
  ctx: CommandContext,
  names: readonly string[],
  allNamespaces = false,
) {
  const namespace = allNamespaces ? undefined : ctx.namespace;
  let groups: GroupVolumeSnapshot[];
  if (names.length > 0 && !allNamespaces) {
    groups = [];
    for (const name of names) groups.push(await getGroupSnapshot(ctx, name));
  } else {
    groups = (await ctx.api.list<GroupVolumeSnapshot>(resources.groupVolumeSnapshots, namespace)).items;
    if (names.length > 0) groups = groups.filter((g) => names.includes(g.metadata.name ?? ''));
  }
  const format = ctx.options.output;
  if (format !== 'table') {
    const single = names.length === 1 && !allNamespaces ? groups[0] : undefined;
    ctx.io.out(formatDocument(single ?? asList(groups), format));
    return;
  }
  if (groups.length === 0) {
    ctx.io.out('No resources found.\n');
    return;
  }
  const columns = allNamespaces ? ['NAMESPACE', ...groupSnapshotColumns] : [...groupSnapshotColumns];
  const rows = groups.map((g) => [
    ...(allNamespaces ? [g.metadata.namespace ?? ''] : []),
    ...groupSnapshotRow(g),
  ]);
  ctx.io.out(formatTable(columns, rows));
}

export async function deleteGroupSnapshots(ctx: CommandContext, names: readonly string[]) {
  if (names.length === 0)
    throw new CliError('At least one argument needs to be provided for groupsnapshot name');
  for (const name of names) {
    await deleteInNamespace(ctx, resources.groupVolumeSnapshots, 'groupvolumesnapshots', name);
    ctx.io.out(`GroupVolumeSnapshot ${name} deleted successfully\n`);
  }
}

/** One table row, as Stork's: status, stage, how many snapshots, created. */
export function groupSnapshotRow(group: GroupVolumeSnapshot): string[] {
  return [
    group.metadata.name ?? '',
    group.status?.status ?? '',
    group.status?.stage ?? '',
    String(group.status?.volumeSnapshots?.length ?? 0),
    rfc822(group.metadata.creationTimestamp),
  ];
}

const getGroupSnapshot = (ctx: CommandContext, name: string): Promise<GroupVolumeSnapshot> =>
  getInNamespace(ctx, resources.groupVolumeSnapshots, 'groupvolumesnapshots', name);
