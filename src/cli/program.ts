import { Command, CommanderError, Option } from 'commander';
import { CommandContext, describeError, type GlobalOptions } from './context.js';
import { explainPod } from './explain.js';
import { getHealthMonitor } from './healthmonitor.js';
import { getHyperconvergence } from './hyperconvergence.js';
import { CliError, outputFormats, type Io } from './output.js';
import { accessModes, createPvc } from './pvc.js';
import { getRules } from './rules.js';
import { createSnapshot, deleteSnapshots, getSnapshots } from './snapshots.js';
import {
  collectList,
  createGroupSnapshot,
  deleteGroupSnapshots,
  getGroupSnapshots,
} from './group-snapshots.js';
import { createSchedulePolicy, deleteSchedulePolicies, getSchedulePolicies } from './schedule-policies.js';
import {
  createSnapshotSchedule,
  deleteSnapshotSchedules,
  getSnapshotSchedules,
  setSuspended,
} from './snapshot-schedules.js';

const snapshotAliases = ['snapshots', 'snap', 'volumesnapshot', 'volumesnapshots'];
const groupSnapshotAliases = ['groupsnapshots', 'groupvolumesnapshot', 'groupvolumesnapshots'];
// Stork's names for the schedule commands.
const schedulePolicyAliases = ['sp'];
const snapshotScheduleAliases = ['volumesnapshotschedule', 'snapshotschedule', 'snapshotschedules'];

type Action = (ctx: CommandContext, args: string[], flags: Record<string, unknown>) => Promise<void>;

/**
 * The storkctl command tree. kubectl's conventions: global flags anywhere on the line, `-o table|json|yaml`,
 * `Error: ...` on stderr with exit code 1. `name` is what help shows (`kubectl stork` as a plugin).
 */
export function storkctlProgram(
  io: Io,
  name = 'storkctl',
): { program: Command; ran: () => CommandContext | undefined } {
  let context: CommandContext | undefined;
  const program = new Command(name)
    .description('Stork: storage orchestration for Kubernetes')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text),
      writeErr: (text) => io.err(text),
      // Errors are printed once, kubectl-style, by runStorkctl.
      outputError: () => undefined,
    })
    .showSuggestionAfterError(true)
    .option('-n, --namespace <namespace>', 'namespace of the objects', 'default')
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use')
    .addOption(new Option('-o, --output <format>', 'output format').choices(outputFormats).default('table'))
    .option('--stork-namespace <namespace>', 'namespace of the stork service', 'kube-system')
    .option(
      '--stork-service <scheme:name:port>',
      'service and port that reach stork’s status port (through the API server)',
      'https:stork-service:status',
    )
    .option('--stork-url <url>', 'reach stork’s status port directly at this https URL instead')
    .option(
      '--stork-ca-file <path>',
      'CA that signed stork’s serving certificate (ca.crt of stork-extender-tls)',
    );

  const run =
    (action: Action) =>
    async (...params: unknown[]): Promise<void> => {
      const command = params[params.length - 1] as Command;
      context = new CommandContext(command.optsWithGlobals<GlobalOptions>(), io);
      const args = command.args;
      await action(context, args, command.opts());
    };

  const create = program.command('create').description('create stork resources');
  create
    .command('snapshot')
    .aliases(snapshotAliases)
    .description('snapshot a PersistentVolumeClaim')
    .argument('[name...]', 'name of the snapshot')
    .option('-p, --pvc <name>', 'the claim to snapshot')
    .action(run((ctx, args, flags) => createSnapshot(ctx, args, flags.pvc as string | undefined)));
  create
    .command('groupsnapshot')
    .aliases(groupSnapshotAliases)
    .description('snapshot every claim a label selector picks, at one point in time')
    .argument('[name...]', 'name of the group snapshot')
    .option(
      '--pvcSelectors <key=value,...>',
      'labels of the claims (comma-separated, repeatable)',
      collectList,
    )
    .option('--preExecRule <rule>', 'Rule to run before the snapshots are taken')
    .option('--postExecRule <rule>', 'Rule to run after the snapshots are taken')
    .option(
      '--restoreNamespaces <namespace,...>',
      'namespaces the snapshots may be restored into',
      collectList,
    )
    .option('--maxRetries <count>', 'times to retry the group snapshot on failure', '0')
    .option(
      '--opts <key=value,...>',
      'options for the storage driver (comma-separated, repeatable)',
      collectList,
    )
    .action(run((ctx, args, flags) => createGroupSnapshot(ctx, args, flags)));
  create
    .command('pvc')
    .aliases(['pvcs', 'persistentvolumeclaim'])
    .description('create a claim that restores a snapshot')
    .argument('[name...]', 'name of the claim')
    .option('-s, --snapshot <name>', 'the snapshot to restore')
    .option('--size <quantity>', 'size of the claim, e.g. 2Gi')
    .option('--source-ns <namespace>', 'namespace of the snapshot, when not the claim’s')
    .addOption(
      new Option('-a, --access-mode <mode>', `access mode (${accessModes.join(', ')})`).default(
        'ReadWriteOnce',
      ),
    )
    // Stork's own spelling of the flag, kept so existing scripts work.
    .addOption(new Option('--acccess-mode <mode>').hideHelp())
    .action(
      run((ctx, args, flags) =>
        createPvc(ctx, args, {
          ...(flags.snapshot ? { snapshot: flags.snapshot as string } : {}),
          ...(flags.size ? { size: flags.size as string } : {}),
          ...(flags.sourceNs ? { sourceNs: flags.sourceNs as string } : {}),
          accessMode: (flags.acccessMode ?? flags.accessMode) as string,
        }),
      ),
    );

  create
    .command('schedulepolicy')
    .aliases(schedulePolicyAliases)
    .description('create a SchedulePolicy')
    .argument('[name...]', 'name of the policy')
    .option('-t, --policy-type <type>', 'Interval, Daily, Weekly or Monthly', 'Interval')
    .option('-i, --interval-minutes <minutes>', 'minutes between runs (Interval)', '30')
    .option('--retain <count>', 'how many results to keep (default: 10, 30, 7 or 12 by type)')
    .option('--time <time>', 'time of day in the 12-hour AM/PM format (Daily, Weekly, Monthly)', '12:00AM')
    .option('--force-full-snapshot-day <day>', 'day of a full cloud snapshot (Daily)')
    .option('--day-of-week <day>', 'day of the week (Weekly)', 'Sunday')
    .option('--date-of-month <date>', 'date of the month (Monthly)', '1')
    .action(
      run((ctx, args, flags) => {
        const command = create.commands.find((c) => c.name() === 'schedulepolicy');
        const given = new Set(
          ['interval-minutes', 'time', 'day-of-week', 'date-of-month', 'force-full-snapshot-day'].filter(
            (flag) =>
              command?.getOptionValueSource(flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())) ===
              'cli',
          ),
        );
        return createSchedulePolicy(ctx, args, {
          policyType: flags.policyType as string,
          intervalMinutes: flags.intervalMinutes as string,
          retain: flags.retain as string | undefined,
          time: flags.time as string,
          forceFullSnapshotDay: flags.forceFullSnapshotDay as string | undefined,
          dayOfWeek: flags.dayOfWeek as string,
          dateOfMonth: flags.dateOfMonth as string,
          given,
        });
      }),
    );
  create
    .command('volumesnapshotschedules')
    .aliases(snapshotScheduleAliases)
    .description('create a VolumeSnapshotSchedule')
    .argument('[name...]', 'name of the schedule')
    .option('-p, --pvc <name>', 'the claim to snapshot')
    .option('--preExecRule <rule>', 'Rule to run before each snapshot')
    .option('--postExecRule <rule>', 'Rule to run after each snapshot')
    .option('-s, --schedulePolicyName <name>', 'the schedule policy to follow')
    .option('--reclaimPolicy <policy>', 'Retain or Delete the snapshots with the schedule', 'Retain')
    .option('--suspend', 'create the schedule suspended', false)
    .action(
      run((ctx, args, flags) =>
        createSnapshotSchedule(ctx, args, {
          pvc: flags.pvc as string | undefined,
          preExecRule: flags.preExecRule as string | undefined,
          postExecRule: flags.postExecRule as string | undefined,
          schedulePolicyName: flags.schedulePolicyName as string | undefined,
          reclaimPolicy: flags.reclaimPolicy as string,
          suspend: flags.suspend === true,
        }),
      ),
    );

  const get = program.command('get').description('show stork resources');
  get
    .command('schedulepolicy')
    .aliases(schedulePolicyAliases)
    .description('list schedule policies')
    .argument('[name...]', 'policies to show (default: all)')
    .action(run((ctx, args) => getSchedulePolicies(ctx, args)));
  get
    .command('volumesnapshotschedules')
    .aliases(snapshotScheduleAliases)
    .description('list snapshot schedules')
    .argument('[name...]', 'schedules to show (default: all in the namespace)')
    .option('-p, --pvc <name>', 'only schedules of this claim')
    .action(run((ctx, args, flags) => getSnapshotSchedules(ctx, args, flags.pvc as string | undefined)));
  get
    .command('snapshot')
    .aliases(snapshotAliases)
    .description('list snapshots')
    .argument('[name...]', 'snapshots to show (default: all in the namespace)')
    .option('-p, --pvc <name>', 'only snapshots of this claim')
    .action(run((ctx, args, flags) => getSnapshots(ctx, args, flags.pvc as string | undefined)));
  get
    .command('groupsnapshot')
    .aliases(groupSnapshotAliases)
    .description('list group snapshots')
    .argument('[name...]', 'group snapshots to show (default: all in the namespace)')
    .option('-A, --all-namespaces', 'group snapshots of every namespace')
    .action(run((ctx, args, flags) => getGroupSnapshots(ctx, args, flags.allNamespaces === true)));
  get
    .command('rules')
    .aliases(['rule'])
    .description('list rules')
    .argument('[name...]', 'rules to show (default: all in the namespace)')
    .action(run((ctx, args) => getRules(ctx, args)));
  get
    .command('hyperconvergence')
    .aliases(['hc'])
    .description('show how close each pod runs to its volumes’ replicas')
    .option('-A, --all-namespaces', 'pods of every namespace')
    .action(
      run((ctx, _args, flags) => getHyperconvergence(ctx, { allNamespaces: flags.allNamespaces === true })),
    );

  get
    .command('healthmonitor')
    .aliases(['healthmonitors', 'hm'])
    .description('show the health monitor: its circuit breaker and the nodes whose storage is not Online')
    .action(run((ctx) => getHealthMonitor(ctx)));

  const del = program.command('delete').description('delete stork resources');
  del
    .command('snapshot')
    .aliases(snapshotAliases)
    .description('delete snapshots by name, or all of a claim’s')
    .argument('[name...]', 'snapshots to delete')
    .option('-p, --pvc <name>', 'delete every snapshot of this claim')
    .action(run((ctx, args, flags) => deleteSnapshots(ctx, args, flags.pvc as string | undefined)));

  del
    .command('groupsnapshot')
    .aliases(groupSnapshotAliases)
    .description('delete group snapshots (and the snapshots they made)')
    .argument('[name...]', 'group snapshots to delete')
    .action(run((ctx, args) => deleteGroupSnapshots(ctx, args)));

  del
    .command('schedulepolicy')
    .aliases(schedulePolicyAliases)
    .description('delete schedule policies no snapshot schedule uses')
    .argument('[name...]', 'policies to delete')
    .action(run((ctx, args) => deleteSchedulePolicies(ctx, args)));
  del
    .command('volumesnapshotschedules')
    .aliases(snapshotScheduleAliases)
    .description('delete snapshot schedules by name, or all of a claim’s')
    .argument('[name...]', 'schedules to delete')
    .option('-p, --pvc <name>', 'delete every schedule of this claim')
    .action(run((ctx, args, flags) => deleteSnapshotSchedules(ctx, args, flags.pvc as string | undefined)));

  for (const [verb, suspend] of [
    ['suspend', true],
    ['resume', false],
  ] as const) {
    program
      .command(verb)
      .description(`${verb} stork resources`)
      .command('volumesnapshotschedules')
      .aliases(snapshotScheduleAliases)
      .description(`${verb} a snapshot schedule`)
      .argument('[name...]', 'the schedule')
      .action(run((ctx, args) => setSuspended(ctx, args, suspend)));
  }

  const explain = program.command('explain').description('show why stork placed a pod where it did');
  explain
    .command('pod')
    .aliases(['pods', 'po'])
    .description('the filter verdict and score of every node for the pod’s last scheduling decision')
    .argument('<name>', 'the pod')
    .option('--now', 'also ask stork what it would decide now')
    .action(
      run((ctx, args, flags) => explainPod(ctx, args[0] ?? '', flags.now === true ? { now: true } : {})),
    );

  return { program, ran: () => context };
}

/** Runs storkctl with the given arguments (without node and script); resolves to the exit code. */
export async function runStorkctl(argv: readonly string[], io: Io, name?: string): Promise<number> {
  const { program, ran } = storkctlProgram(io, name);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      if (error.code === 'commander.help' || error.code === 'commander.executeSubCommandAsync')
        return error.exitCode;
      io.err(`Error: ${error.message.replace(/^error: /, '')}\n`);
      return 1;
    }
    let server: string | undefined;
    try {
      server = error instanceof CliError ? undefined : ran()?.api.server;
    } catch {
      server = undefined;
    }
    io.err(`Error: ${describeError(error, server)}\n`);
    return 1;
  } finally {
    ran()?.close();
  }
}
