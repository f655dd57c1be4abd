import {
  hyperconvergenceSummary,
  type HyperconvergenceReport,
  type PodPlacementReport,
} from '../wire/scheduling-documents.js';
import type { CommandContext } from './context.js';
import { formatDocument, formatTable } from './output.js';
import { storkDocument } from './stork-endpoint.js';

export const hyperconvergenceColumns = ['NAMESPACE', 'POD', 'NODE', 'PLACEMENT', 'VOLUMES'] as const;

const placementText: Record<PodPlacementReport['placement'], string> = {
  hyperconverged: 'hyper-converged',
  'semi-hyperconverged': 'same rack/zone',
  'non-hyperconverged': 'not hyper-converged',
};

export async function getHyperconvergence(ctx: CommandContext, flags: { allNamespaces?: boolean }) {
  // Asking for one namespace needs only `list pods` there (stork filters the report to it).
  const report = await storkDocument<HyperconvergenceReport>(
    ctx,
    '/hyperconvergence',
    flags.allNamespaces ? {} : { namespace: ctx.namespace },
  );
  const shown = flags.allNamespaces ? report : inNamespace(report, ctx.namespace);
  if (ctx.options.output !== 'table') {
    ctx.io.out(formatDocument(shown, ctx.options.output));
    return;
  }
  if (shown.pods.length === 0) {
    ctx.io.out('No resources found.\n');
    return;
  }
  ctx.io.out(hyperconvergenceText(shown));
}

/** The report restricted to one namespace, its summary recounted. */
export function inNamespace(report: HyperconvergenceReport, namespace: string): HyperconvergenceReport {
  const pods = report.pods.filter((p) => p.namespace === namespace);
  return { ...report, summary: hyperconvergenceSummary(pods), pods };
}

export function hyperconvergenceText(report: HyperconvergenceReport): string {
  const rows = [...report.pods]
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.pod.localeCompare(b.pod))
    .map((p) => [
      p.namespace,
      p.pod,
      p.node,
      placementText[p.placement],
      p.volumes.map((v) => `${v.claim}:[${v.replicaNodes.join(',')}]`).join(' '),
    ]);
  const { summary: s } = report;
  const percent = (n: number): string => (s.total === 0 ? '0%' : `${Math.round((n / s.total) * 100)}%`);
  return (
    formatTable(hyperconvergenceColumns, rows) +
    `\n${s.total} pod(s) with driver volumes: ${s.hyperconverged} hyper-converged (${percent(s.hyperconverged)}), ` +
    `${s.semiHyperconverged} in the same rack or zone (${percent(s.semiHyperconverged)}), ` +
    `${s.nonHyperconverged} not hyper-converged (${percent(s.nonHyperconverged)}).\n`
  );
}
