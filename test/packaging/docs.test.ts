// The reference docs must name what the code has: every flag, metric, annotation and doc page. Adding a
// flag or a metric without documenting it fails here.
import { readdir, readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { storkctlProgram } from '../../src/cli/program.js';
import { runningCommandsAnnotation } from '../../src/controllers/rules/tracking.js';
import { ruleAnnotations } from '../../src/controllers/rules/rule-spec.js';
import * as snapshotNames from '../../src/controllers/snapshot/names.js';
import * as groupNames from '../../src/controllers/group-snapshot/names.js';
import { storkCommand } from '../../src/daemon/flags.js';
import { createMetrics } from '../../src/daemon/metrics.js';
import { scheduleMetrics } from '../../src/daemon/schedule-metrics.js';
import * as scheduleNames from '../../src/controllers/schedule/names.js';
import { defaultRackLabel } from '../../src/drivers/locality.js';
import { schedulingDecisionAnnotation } from '../../src/wire/scheduling-documents.js';
import { preferLocalNodeOnlyAnnotation, operatorUnschedulableAnnotation } from '../../src/extender/filter.js';
import { restoreInProgressAnnotation, skipScoringLabel } from '../../src/extender/pod-volumes.js';
import { disableHyperconvergenceAnnotation } from '../../src/extender/prioritize.js';
import { defaultSkipAnnotation } from '../../src/webhook/decision.js';
import { webhookConfigurationName, webhookName } from '../../src/webhook/registration.js';

const root = new URL('../../', import.meta.url);
const read = (path: string): Promise<string> => readFile(new URL(path, root), 'utf8');

function longFlags(command: Command): string[] {
  return command.options.map((o) => o.long).filter((l): l is string => l !== undefined && l !== '--help');
}

describe('docs/configuration.md', () => {
  it('documents every stork flag', async () => {
    const doc = await read('docs/configuration.md');
    const flags = longFlags(storkCommand());
    expect(flags.length).toBeGreaterThan(30);
    expect(flags.filter((f) => !doc.includes(`\`${f}`) && !doc.includes(`-d, ${f}`))).toEqual([]);
  });

  it('documents every storkctl global flag and command', async () => {
    const doc = await read('docs/configuration.md');
    const { program } = storkctlProgram({ out: () => undefined, err: () => undefined });
    expect(longFlags(program).filter((f) => !doc.includes(f))).toEqual([]);
    const commands = program.commands.flatMap((verb) =>
      verb.commands.map((noun) => ({ line: `${verb.name()} ${noun.name()}`, flags: longFlags(noun) })),
    );
    expect(commands.length).toBeGreaterThan(5);
    expect(commands.filter((c) => !doc.includes(`\`${c.line}`)).map((c) => c.line)).toEqual([]);
    const missing = commands.flatMap((c) =>
      c.flags.filter((f) => !doc.includes(f)).map((f) => `${c.line} ${f}`),
    );
    expect(missing).toEqual([]);
  });

  it('documents the annotations, labels and names users see', async () => {
    const doc = await read('docs/configuration.md');
    const names = [
      snapshotNames.snapshotAnnotation,
      snapshotNames.sourceNamespaceAnnotation,
      snapshotNames.restoreNamespacesAnnotation,
      snapshotNames.snapshotFinalizer,
      snapshotNames.provisionerIdentityAnnotation,
      snapshotNames.provisionedByAnnotation,
      snapshotNames.snapshotProvisionerName,
      ...ruleAnnotations.pre,
      ...ruleAnnotations.post,
      runningCommandsAnnotation,
      schedulingDecisionAnnotation,
      defaultSkipAnnotation,
      preferLocalNodeOnlyAnnotation,
      operatorUnschedulableAnnotation,
      restoreInProgressAnnotation,
      disableHyperconvergenceAnnotation,
      skipScoringLabel,
      defaultRackLabel,
      webhookConfigurationName,
      webhookName,
      scheduleNames.scheduleNameAnnotation,
      scheduleNames.policyTypeAnnotation,
      scheduleNames.snapshotNameLabel,
      scheduleNames.scheduleUidAnnotation,
      scheduleNames.dueTimeAnnotation,
      groupNames.groupSnapshotFinalizer,
      groupNames.groupSnapshotUidLabel,
    ];
    expect(names.filter((n) => !doc.includes(n))).toEqual([]);
  });
});

describe('docs/operations.md', () => {
  it('documents every metric stork exports', async () => {
    const doc = await read('docs/operations.md');
    const { registry } = createMetrics();
    scheduleMetrics(registry);
    const metrics = await registry.getMetricsAsJSON();
    const names = metrics.map((m) => m.name);
    expect(names.length).toBeGreaterThan(8);
    expect(names.filter((n) => !doc.includes(`\`${n}\``))).toEqual([]);
  });
});

describe('doc index', () => {
  it('links every page of docs/ from the README and from the architecture page', async () => {
    const pages = (await readdir(new URL('docs/', root))).filter((f) => f.endsWith('.md'));
    expect(pages.length).toBeGreaterThan(10);
    const readme = await read('README.md');
    const architecture = await read('docs/architecture.md');
    expect(pages.filter((p) => !readme.includes(`(docs/${p}`))).toEqual([]);
    expect(pages.filter((p) => p !== 'architecture.md' && !architecture.includes(`(${p}`))).toEqual([]);
  });
});
