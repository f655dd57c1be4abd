// storkctl create|get|delete|suspend|resume volumesnapshotschedules: Stork's flags, messages and columns.
import {
  schedulePolicyTypes,
  volumeSnapshotScheduleApiVersion,
  type VolumeSnapshotSchedule,
} from '../k8s/crds/volume-snapshot-schedule.js';
import { resources } from '../k8s/paths.js';
import type { CommandContext } from './context.js';
import { deleteInNamespace, getInNamespace } from './namespaced.js';
import { asList, CliError, formatDocument, formatTable, rfc822 } from './output.js';

export const snapshotScheduleColumns = [
  'NAME',
  'PVC',
  'POLICYNAME',
  'PRE-EXEC-RULE',
  'POST-EXEC-RULE',
  'RECLAIM-POLICY',
  'SUSPEND',
  'LAST-SUCCESS-TIME',
] as const;

export interface CreateScheduleFlags {
  readonly pvc?: string | undefined;
  readonly preExecRule?: string | undefined;
  readonly postExecRule?: string | undefined;
  readonly schedulePolicyName?: string | undefined;
  readonly reclaimPolicy: string;
  readonly suspend: boolean;
}

export async function createSnapshotSchedule(
  ctx: CommandContext,
  names: readonly string[],
  flags: CreateScheduleFlags,
) {
  if (names.length !== 1) {
    throw new CliError('exactly one name needs to be provided for volume snapshot schedule name');
  }
  if (!flags.schedulePolicyName) throw new CliError('need to provide schedulePolicyName');
  if (flags.reclaimPolicy !== 'Retain' && flags.reclaimPolicy !== 'Delete') {
    throw new CliError(`invalid reclaimPolicy "${flags.reclaimPolicy}": Retain or Delete`);
  }
  const [name = ''] = names;
  const body: VolumeSnapshotSchedule = {
    apiVersion: volumeSnapshotScheduleApiVersion,
    kind: 'VolumeSnapshotSchedule',
    metadata: { name, namespace: ctx.namespace },
    spec: {
      template: { spec: { persistentVolumeClaimName: flags.pvc ?? '' } },
      schedulePolicyName: flags.schedulePolicyName,
      suspend: flags.suspend,
      reclaimPolicy: flags.reclaimPolicy,
      ...(flags.preExecRule ? { preExecRule: flags.preExecRule } : {}),
      ...(flags.postExecRule ? { postExecRule: flags.postExecRule } : {}),
    },
  };
  await ctx.api.create(resources.volumeSnapshotSchedules, body, ctx.namespace);
  ctx.io.out(`VolumeSnapshotSchedule ${name} created successfully\n`);
}

/** The kind as Stork's storkctl names it in a not-found message. */
const scheduleKind = 'volumesnapshotschedules.stork.libopenstorage.org';
const getSchedule = (ctx: CommandContext, name: string): Promise<VolumeSnapshotSchedule> =>
  getInNamespace(ctx, resources.volumeSnapshotSchedules, scheduleKind, name);

export async function getSnapshotSchedules(
  ctx: CommandContext,
  names: readonly string[],
  pvc: string | undefined,
) {
  let schedules: VolumeSnapshotSchedule[];
  if (names.length > 0) {
    schedules = [];
    for (const name of names) schedules.push(await getSchedule(ctx, name));
  } else {
    schedules = (await ctx.api.list<VolumeSnapshotSchedule>(resources.volumeSnapshotSchedules, ctx.namespace))
      .items;
  }
  if (pvc) schedules = schedules.filter((s) => s.spec?.template?.spec?.persistentVolumeClaimName === pvc);
  const format = ctx.options.output;
  if (format !== 'table') {
    ctx.io.out(formatDocument(names.length === 1 && !pvc ? schedules[0] : asList(schedules), format));
    return;
  }
  if (schedules.length === 0) {
    ctx.io.out('No resources found.\n');
    return;
  }
  ctx.io.out(formatTable(snapshotScheduleColumns, schedules.map(snapshotScheduleRow)));
}

/** Stork's row; the last success is the latest finish time of a Ready snapshot in the record. */
export function snapshotScheduleRow(schedule: VolumeSnapshotSchedule): string[] {
  let last = '';
  for (const type of schedulePolicyTypes) {
    for (const item of schedule.status?.items?.[type] ?? []) {
      if (item.status === 'Ready' && item.finishTimestamp && item.finishTimestamp > last)
        last = item.finishTimestamp;
    }
  }
  const spec = schedule.spec ?? {};
  return [
    schedule.metadata.name ?? '',
    spec.template?.spec?.persistentVolumeClaimName ?? '',
    spec.schedulePolicyName ?? '',
    spec.preExecRule ?? '',
    spec.postExecRule ?? '',
    spec.reclaimPolicy || 'Delete',
    String(spec.suspend === true),
    rfc822(last),
  ];
}

export async function deleteSnapshotSchedules(
  ctx: CommandContext,
  names: readonly string[],
  pvc: string | undefined,
) {
  let targets: string[];
  if (pvc) {
    if (names.length > 0) throw new CliError('Give either schedule names or --pvc, not both');
    const all = (await ctx.api.list<VolumeSnapshotSchedule>(resources.volumeSnapshotSchedules, ctx.namespace))
      .items;
    targets = all
      .filter((s) => s.spec?.template?.spec?.persistentVolumeClaimName === pvc)
      .map((s) => s.metadata.name ?? '');
    if (targets.length === 0) {
      ctx.io.out('No resources found.\n');
      return;
    }
  } else {
    if (names.length === 0) {
      throw new CliError(
        "at least one argument needs to be provided for snapshot schedule name if pvc isn't provided",
      );
    }
    targets = [...names];
  }
  for (const name of targets) {
    await deleteInNamespace(ctx, resources.volumeSnapshotSchedules, scheduleKind, name);
    ctx.io.out(`VolumeSnapshotSchedule ${name} deleted successfully\n`);
  }
}

/** `suspend` / `resume`: sets spec.suspend on the named schedule. */
export async function setSuspended(ctx: CommandContext, names: readonly string[], suspend: boolean) {
  const [name] = names;
  if (name === undefined) {
    throw new CliError('at least one argument needs to be provided for volumesnapshot schedule name');
  }
  await getSchedule(ctx, name);
  await ctx.api.patch(
    resources.volumeSnapshotSchedules,
    { namespace: ctx.namespace, name },
    { spec: { suspend } },
  );
  ctx.io.out(`VolumeSnapshotSchedule ${name} ${suspend ? 'suspended' : 'resumed'} successfully\n`);
}
