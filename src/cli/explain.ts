import type { Pod } from '../wire/k8s-types.js';
import {
  schedulingDecisionAnnotation,
  type NodeVerdict,
  type SchedulingDecision,
} from '../wire/scheduling-documents.js';
import type { SchedulingDecisionObject } from '../k8s/crds/scheduling-decision.js';
import { isForbidden, isNotFound } from '../k8s/errors.js';
import { resources } from '../k8s/paths.js';
import type { CommandContext } from './context.js';
import { CliError, formatDocument, formatTable } from './output.js';
import { storkDocument } from './stork-endpoint.js';
import { errorText } from '../lib/errors.js';

export const explainColumns = [
  'NODE',
  'FILTER',
  'REASON',
  'SCORE',
  'REPLICA',
  'RACK',
  'ZONE',
  'REGION',
] as const;

/** What `explain pod` prints with -o json|yaml. */
export interface PodExplanation {
  readonly pod: {
    readonly namespace: string;
    readonly name: string;
    readonly phase: string;
    readonly node?: string;
  };
  /** The extender's last answer for the pod, as recorded on it. */
  readonly recorded?: SchedulingDecision;
  /** What the extender would answer now (for a pending pod, or with --now). */
  readonly now?: SchedulingDecision;
  /** Why `now` is missing although it was wanted. */
  readonly nowError?: string;
}

export async function explainPod(ctx: CommandContext, name: string, flags: { now?: boolean }) {
  let pod: Pod;
  try {
    pod = await ctx.api.get<Pod>(resources.pods, { namespace: ctx.namespace, name });
  } catch (error) {
    if (isNotFound(error)) throw new CliError(`pods "${name}" not found in namespace "${ctx.namespace}"`);
    throw error;
  }
  const node = pod.spec?.nodeName;
  const recorded = (await storedDecision(ctx, pod)) ?? recordedDecision(pod);
  let now: SchedulingDecision | undefined;
  let nowError: string | undefined;
  if (!node || flags.now) {
    try {
      now = await storkDocument<SchedulingDecision>(ctx, '/explain', { namespace: ctx.namespace, pod: name });
    } catch (error) {
      // A recorded decision is still worth showing; without one there is nothing to say.
      if (!recorded) throw error;
      nowError = errorText(error);
    }
  }
  const explanation: PodExplanation = {
    pod: { namespace: ctx.namespace, name, phase: pod.status?.phase ?? '', ...(node ? { node } : {}) },
    ...(recorded ? { recorded } : {}),
    ...(now ? { now } : {}),
    ...(nowError ? { nowError } : {}),
  };
  if (nowError) ctx.io.err(`Warning: ${nowError}\n`);
  if (!recorded && !now) {
    throw new CliError(
      `no scheduling decision is recorded for pod ${ctx.namespace}/${name}: it was not scheduled by stork ` +
        '(schedulerName: stork), or stork runs with --record-decisions=false',
    );
  }
  if (ctx.options.output !== 'table') {
    ctx.io.out(formatDocument(explanation, ctx.options.output));
    return;
  }
  ctx.io.out(explanationText(explanation));
}

/** The pod's SchedulingDecision (same namespace and name), if stork recorded one for this very pod. */
async function storedDecision(ctx: CommandContext, pod: Pod): Promise<SchedulingDecision | undefined> {
  const name = pod.metadata?.name ?? '';
  try {
    const object = await ctx.api.get<SchedulingDecisionObject>(resources.schedulingDecisions, {
      namespace: ctx.namespace,
      name,
    });
    return decisionOfRecord(pod, object);
  } catch (error) {
    // No record (or no CRD: stork never recorded in this cluster).
    if (isNotFound(error)) return undefined;
    if (isForbidden(error)) {
      ctx.io.err(
        `Warning: you may not read schedulingdecisions in namespace ${ctx.namespace}: the recorded decision is not shown\n`,
      );
      return undefined;
    }
    throw error;
  }
}

/**
 * The decision a SchedulingDecision holds, when it belongs to this pod: a record owned by another UID is a
 * former pod's of the same name (a StatefulSet's) that the garbage collector has not removed yet.
 */
export function decisionOfRecord(pod: Pod, object: SchedulingDecisionObject): SchedulingDecision | undefined {
  const uid = pod.metadata?.uid;
  const owned = (object.metadata.ownerReferences ?? []).some((o) => o.kind === 'Pod' && o.uid === uid);
  if (!uid || !owned) return undefined;
  const decision = object.decision;
  if (!isDecision(decision)) {
    throw new CliError(`the SchedulingDecision ${recordName(object)} is not a decision document`);
  }
  return decision;
}

function isDecision(value: unknown): value is SchedulingDecision {
  return typeof value === 'object' && value !== null && Array.isArray((value as { nodes?: unknown }).nodes);
}

const recordName = (object: SchedulingDecisionObject): string =>
  `${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`;

/** A decision recorded on the pod itself, as earlier versions of stork did (annotation). */
export function recordedDecision(pod: Pod): SchedulingDecision | undefined {
  const text = pod.metadata?.annotations?.[schedulingDecisionAnnotation];
  if (!text) return undefined;
  try {
    return JSON.parse(text) as SchedulingDecision;
  } catch {
    throw new CliError(`the annotation ${schedulingDecisionAnnotation} on the pod is not valid JSON`);
  }
}

export function explanationText(explanation: PodExplanation): string {
  const { pod, recorded, now } = explanation;
  const id = `${pod.namespace}/${pod.name}`;
  const sections: string[] = [];
  const where = pod.node ? `runs on node ${pod.node}` : `is not scheduled (${pod.phase || 'Pending'})`;
  sections.push(`Pod ${id} ${where}.\n`);
  if (recorded) sections.push(decisionText('Last scheduling decision', recorded));
  if (now) sections.push(decisionText('What stork would decide now', now));
  return sections.join('\n');
}

export function decisionText(title: string, decision: SchedulingDecision): string {
  const lines = [`${title}: made ${decision.time} by stork replica ${decision.replica}.`];
  if (decision.error) lines.push(`No node passed the filter: ${decision.error}`);
  if (decision.topNode) lines.push(`Stork scored ${decision.topNode} highest.`);
  if (decision.neutralReason) lines.push(`No preference among nodes: ${decision.neutralReason}.`);
  if (decision.omittedNodes) lines.push(`(${decision.omittedNodes} more nodes not recorded)`);
  const header = lines.map((l) => `${l}\n`).join('');
  if (decision.nodes.length === 0) return `${header}No candidate nodes.\n`;
  // The CSI capacity column appears only when a WaitForFirstConsumer CSI claim was scored.
  if (decision.nodes.some((v) => v.capacity !== undefined)) {
    const rows = decision.nodes.map((v) => [
      ...verdictRow(v),
      v.score === undefined ? '' : String(v.capacity ?? 0),
    ]);
    return header + formatTable([...explainColumns, 'CAPACITY'], rows);
  }
  return header + formatTable(explainColumns, decision.nodes.map(verdictRow));
}

export function verdictRow(v: NodeVerdict): string[] {
  const filter = v.passed === undefined ? '' : v.passed ? 'passed' : 'filtered';
  const score = v.score === undefined ? '' : `${v.score} (${v.raw ?? 0})`;
  const points = (n: number | undefined): string => (v.score === undefined ? '' : String(n ?? 0));
  return [
    v.node,
    filter,
    v.reason ?? '',
    score,
    points(v.replica),
    points(v.rack),
    points(v.zone),
    points(v.region),
  ];
}
