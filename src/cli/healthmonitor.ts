import type { ConfigMap } from '../wire/k8s-types.js';
import {
  healthStatusConfigMap,
  healthStatusKey,
  type HealthStatusDocument,
} from '../drivers/health-status-document.js';
import { isNotFound } from '../k8s/errors.js';
import { resources } from '../k8s/paths.js';
import type { CommandContext } from './context.js';
import { age, CliError, formatDocument, formatTable } from './output.js';
import { errorText } from '../lib/errors.js';

export const healthNodeColumns = ['NODE', 'STORAGE STATUS', 'SINCE', 'ACTION'] as const;
export const healthDriverNodeColumns = ['DRIVER', ...healthNodeColumns] as const;

/** Reads the state the health monitor's leader publishes (ConfigMap stork-health-monitor). */
export async function readHealthStatus(ctx: CommandContext): Promise<HealthStatusDocument> {
  const namespace = ctx.options.storkNamespace;
  let configMap: ConfigMap;
  try {
    configMap = await ctx.api.get<ConfigMap>(resources.configMaps, {
      namespace,
      name: healthStatusConfigMap,
    });
  } catch (error) {
    if (isNotFound(error))
      throw new CliError(
        `no health monitor state in ${namespace}/${healthStatusConfigMap}: is stork running with --health-monitor, ` +
          'and is this its namespace (--stork-namespace)?',
      );
    throw error;
  }
  const text = configMap.data?.[healthStatusKey];
  if (!text) throw new CliError(`${namespace}/${healthStatusConfigMap} has no ${healthStatusKey}`);
  try {
    return JSON.parse(text) as HealthStatusDocument;
  } catch (error) {
    throw new CliError(
      `${namespace}/${healthStatusConfigMap}: ${healthStatusKey} is not JSON (${errorText(error)})`,
    );
  }
}

export async function getHealthMonitor(ctx: CommandContext): Promise<void> {
  const status = await readHealthStatus(ctx);
  if (ctx.options.output !== 'table') {
    ctx.io.out(formatDocument(status, ctx.options.output));
    return;
  }
  ctx.io.out(healthMonitorText(status));
}

const actionText: Record<HealthStatusDocument['nodes'][number]['action'], string> = {
  waiting: 'waiting for the grace period',
  draining: 'moving pods',
  held: 'held by the circuit breaker',
  never: 'none (this status never moves pods)',
};

/** The breaker in one line, the counts and limits, then the nodes whose storage is not Online. */
export function healthMonitorText(status: HealthStatusDocument, now = Date.now()): string {
  if (status.drivers && status.drivers.length > 1) return severalDriversText(status, now);
  const { breaker, limits } = status;
  const lines = [
    `Circuit breaker: ${breaker.state}${breaker.message ? ` (${breaker.message})` : ''}`,
    ...(breaker.openedAt ? [`Opened:          ${age(breaker.openedAt, now)} ago`] : []),
    ...(breaker.closesAt ? [`Closes:          ${breaker.closesAt}, unless it trips again`] : []),
    `Unhealthy nodes: ${status.unhealthyNodes} of ${status.storageNodes} storage nodes` +
      ` (limits: ${limits.maxUnhealthyNodes} nodes, ${limits.maxUnhealthyPercent}%; grace ${limits.graceSeconds}s)`,
    ...(status.quorumLost ? ['Quorum:          lost'] : []),
    ...(status.untrustworthy ? [`Storage view:    not trusted: ${status.untrustworthy}`] : []),
    `Reported by:     ${status.replica}, ${age(status.time, now)} ago`,
    '',
  ];
  const rows = status.nodes.map((n) => nodeRow(n, now));
  return (
    lines.join('\n') +
    (rows.length > 0 ? formatTable(healthNodeColumns, rows) : 'Every storage node is Online.\n')
  );
}

function nodeRow(n: HealthStatusDocument['nodes'][number], now: number): string[] {
  return [
    n.name,
    n.status,
    age(n.since, now),
    n.action === 'waiting' && n.dueAt ? `${actionText.waiting} (until ${n.dueAt})` : actionText[n.action],
  ];
}

/** With several drivers (each CSI driver name is one): a breaker line per driver, one table of nodes. */
function severalDriversText(status: HealthStatusDocument, now: number): string {
  const { limits } = status;
  const drivers = status.drivers ?? [];
  const width = Math.max(...drivers.map((d) => d.driver.length));
  const lines = [
    `Limits:          ${limits.maxUnhealthyNodes} nodes, ${limits.maxUnhealthyPercent}% per driver; grace ${limits.graceSeconds}s`,
    ...drivers.map(
      (d) =>
        `${d.driver.padEnd(width)}  circuit breaker ${d.breaker.state}` +
        `${d.breaker.message ? ` (${d.breaker.message})` : ''}; ` +
        `${d.unhealthyNodes} of ${d.storageNodes} storage nodes unhealthy`,
    ),
    `Reported by:     ${status.replica}, ${age(status.time, now)} ago`,
    '',
  ];
  const rows = drivers.flatMap((d) => d.nodes.map((n) => [d.driver, ...nodeRow(n, now)]));
  return (
    lines.join('\n') +
    (rows.length > 0 ? formatTable(healthDriverNodeColumns, rows) : 'Every storage node is Online.\n')
  );
}
