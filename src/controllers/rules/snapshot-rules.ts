import { randomUUID } from 'node:crypto';
import type { Pod } from '../../wire/k8s-types.js';
import type { KubeClient } from '../../k8s/client.js';
import type { KubeConfig } from '../../k8s/kubeconfig.js';
import type { Rule } from '../../k8s/crds/rule.js';
import { getOrUndefined, isNotFound } from '../../k8s/errors.js';
import { objectReference, type EventRecorder } from '../../k8s/events.js';
import { execInPod } from '../../k8s/exec.js';
import { resources } from '../../k8s/paths.js';
import type { Logger } from '../../lib/log.js';
import {
  SnapshotHookError,
  type AfterSnapshot,
  type RestartPoint,
  type SnapshotHooks,
  type SnapshotSubject,
} from '../snapshot/hooks.js';
import { BackgroundTask, releaseInPod } from './background.js';
import { runInAll, type PodExec } from './commands.js';
import { defaultRulesConfig, type RulesConfig } from './config.js';
import { actionTargets, mountsClaim, podsUsingClaims, type PodTarget } from './rule-targets.js';
import { volumeSnapshotSubject, type RuleSubjectKind } from './rule-subject.js';
import { normaliseRule, RuleValidationError, type NormalisedRule, type RulePhase } from './rule-spec.js';
import {
  formatTasks,
  parseTasks,
  podsInScope,
  recordTask,
  runningCommandsAnnotation,
  type RecordedTask,
} from './tracking.js';
import { validateRule } from './validation.js';
import { errorText } from '../../lib/errors.js';

export interface SnapshotRulesOptions {
  /** The API; its `config` (KubeApi's) is what exec connects with unless `exec` is given. */
  readonly api: KubeClient & { readonly config?: KubeConfig };
  readonly logger: Logger;
  readonly events?: EventRecorder;
  readonly config?: Partial<RulesConfig>;
  /** How commands reach pods; the API server's exec unless a caller has another way. */
  readonly exec?: PodExec;
  /** What the rules run for: VolumeSnapshots (the default) or GroupVolumeSnapshots. */
  readonly subject?: RuleSubjectKind;
}

type EventType = 'Normal' | 'Warning';

/** What one snapshot's run of its rules uses of SnapshotRules: handed to it, not made public. */
interface RunContext {
  readonly config: RulesConfig;
  readonly exec: PodExec;
  readonly logger: Logger;
  note(snapshot: SnapshotSubject, type: EventType, reason: string, message: string): void;
  podGone(target: { namespace: string; name: string; uid: string }): Promise<boolean>;
  getPod(namespace: string, name: string): Promise<Pod | undefined>;
  listPods(namespace: string, signal: AbortSignal): Promise<Pod[]>;
  patchRecord(snapshot: SnapshotSubject, value: string | null): Promise<unknown>;
}

/** The snapshot hooks that run Stork's pre- and post-snapshot Rules. */
export class SnapshotRules implements SnapshotHooks {
  private readonly config: RulesConfig;
  private readonly api: KubeClient;
  private readonly log: Logger;
  private readonly events: EventRecorder | undefined;
  private readonly exec: PodExec;
  private readonly context: RunContext;
  private readonly subject: RuleSubjectKind;

  constructor(options: SnapshotRulesOptions) {
    this.api = options.api;
    this.subject = options.subject ?? volumeSnapshotSubject;
    this.log = options.logger.child({ controller: 'snapshot-rules' });
    this.events = options.events;
    this.config = { ...defaultRulesConfig, ...options.config };
    const kubeConfig = options.api.config;
    if (!options.exec && !kubeConfig) throw new Error('snapshot rules need an exec or an API with a config');
    this.exec = options.exec ?? ((request) => execInPod(kubeConfig as KubeConfig, request));
    this.context = {
      config: this.config,
      exec: this.exec,
      logger: this.log,
      note: (...args) => {
        this.note(...args);
      },
      podGone: (target) => this.podGone(target),
      getPod: (namespace, name) => this.getPod(namespace, name),
      listPods: (namespace, signal) => this.listPods(namespace, signal),
      patchRecord: (snapshot, value) => this.patchRecord(snapshot, value),
    };
  }

  async beforeSnapshot(
    snapshot: SnapshotSubject,
    claimNames: readonly string[],
    signal: AbortSignal,
  ): Promise<AfterSnapshot> {
    let pre: NormalisedRule | undefined;
    let post: NormalisedRule | undefined;
    try {
      pre = await this.loadRule(snapshot, 'pre', signal);
      post = await this.loadRule(snapshot, 'post', signal);
    } catch (error) {
      throw this.fail(snapshot, `failed to validate snap rule due to: ${errorText(error)}`, error);
    }
    const run = new SnapshotRun(this.context, snapshot, claimNames);
    if (pre) {
      this.note(snapshot, 'Normal', 'RuleRunning', `running pre-snapshot rule ${pre.name}`);
      try {
        await run.runRule(pre, signal);
      } catch (error) {
        await run.releaseAll();
        throw this.fail(snapshot, `failed to run pre-snap rule due to: ${errorText(error)}`, error);
      }
      this.note(snapshot, 'Normal', 'RuleSucceeded', `pre-snapshot rule ${pre.name} done`);
    }
    let called = false;
    return {
      afterSnapshot: async (ok: boolean, afterSignal: AbortSignal): Promise<void> => {
        if (called) return;
        called = true;
        // Background commands are released first, whatever happened: they hold the application.
        await run.releaseAll();
        if (!ok || !post) return;
        this.note(snapshot, 'Normal', 'RuleRunning', `running post-snapshot rule ${post.name}`);
        try {
          await run.runRule(post, afterSignal);
        } catch (error) {
          throw this.fail(snapshot, `failed to run post-snap rule due to: ${errorText(error)}`, error);
        }
        this.note(snapshot, 'Normal', 'RuleSucceeded', `post-snapshot rule ${post.name} done`);
      },
    };
  }

  runsRules(snapshot: SnapshotSubject): boolean {
    try {
      return (
        this.subject.ruleName(snapshot, 'pre') !== undefined ||
        this.subject.ruleName(snapshot, 'post') !== undefined
      );
    } catch {
      // Ambiguous names: beforeSnapshot reports it; the snapshot does name rules.
      return true;
    }
  }

  async afterRestart(
    snapshot: SnapshotSubject,
    claimNames: readonly string[],
    signal: AbortSignal,
    after: RestartPoint = 'cut',
  ): Promise<void> {
    let post: NormalisedRule | undefined;
    try {
      post = await this.loadRule(snapshot, 'post', signal);
    } catch (error) {
      // A rule that cannot be read now (the API server) is retried; only an invalid one is final.
      if (!(error instanceof RuleValidationError)) throw error;
      throw this.fail(snapshot, `failed to validate snap rule due to: ${errorText(error)}`, error);
    }
    if (!post) return;
    this.note(
      snapshot,
      'Normal',
      'RuleRunning',
      after === 'cut'
        ? `running post-snapshot rule ${post.name}, left to run by an earlier stork that stopped after the snapshot was cut`
        : `running post-snapshot rule ${post.name} to undo the pre-snapshot rule an earlier stork stopped in, before the cut`,
    );
    try {
      await new SnapshotRun(this.context, snapshot, claimNames).runRule(post, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      throw this.fail(snapshot, `failed to run post-snap rule due to: ${errorText(error)}`, error);
    }
    this.note(snapshot, 'Normal', 'RuleSucceeded', `post-snapshot rule ${post.name} done`);
  }

  /**
   * Releases every background command an earlier stork recorded on a snapshot and could not release
   * (it stopped in the middle), then clears the record. A record that cannot be read is left as it is,
   * with a Warning, rather than dropped on a guess.
   */
  async recover(signal: AbortSignal): Promise<void> {
    let snapshots: SnapshotSubject[];
    try {
      snapshots = (await this.api.list<SnapshotSubject>(this.subject.resource, undefined, { signal })).items;
    } catch (error) {
      this.log.warn(
        { err: error, kind: this.subject.kind },
        'cannot list snapshots to release background rule commands',
      );
      return;
    }
    for (const snapshot of snapshots) {
      signal.throwIfAborted();
      const value = snapshot.metadata.annotations?.[runningCommandsAnnotation];
      if (value === undefined) continue;
      let tasks: RecordedTask[];
      try {
        tasks = parseTasks(value);
      } catch (error) {
        this.note(snapshot, 'Warning', 'RuleRecoveryFailed', errorText(error));
        continue;
      }
      const scoped = podsInScope(tasks, snapshot.metadata.namespace ?? '');
      if (scoped.refused.length > 0) {
        this.note(
          snapshot,
          'Warning',
          'RuleRecoveryRefused',
          `not releasing recorded background commands in ${scoped.refused.slice(0, 20).join(', ')}: stork ` +
            "acts only on pods of the snapshot's own namespace that mount its claim",
        );
      }
      let claims: readonly string[];
      try {
        claims = await this.subject.claimsOf(snapshot, this.api, signal);
      } catch (error) {
        this.note(snapshot, 'Warning', 'RuleRecoveryFailed', errorText(error));
        continue;
      }
      const run = new SnapshotRun(this.context, snapshot, claims);
      await run.recoverTasks(scoped.tasks);
    }
  }

  private async loadRule(
    snapshot: SnapshotSubject,
    phase: RulePhase,
    signal: AbortSignal,
  ): Promise<NormalisedRule | undefined> {
    const name = this.subject.ruleName(snapshot, phase);
    if (name === undefined) return undefined;
    const namespace = snapshot.metadata.namespace ?? '';
    let rule: Rule;
    try {
      rule = await this.api.get<Rule>(resources.rules, { namespace, name }, { signal });
    } catch (error) {
      if (isNotFound(error)) throw new RuleValidationError(`rule ${namespace}/${name} not found`);
      throw error;
    }
    const normalised = normaliseRule(rule);
    validateRule(normalised, phase);
    return normalised;
  }

  private fail(snapshot: SnapshotSubject, message: string, cause: unknown): SnapshotHookError {
    this.note(snapshot, 'Warning', 'RuleFailed', message);
    return new SnapshotHookError(message, { cause });
  }

  /** An Event on the snapshot, and the same in the log. */
  private note(snapshot: SnapshotSubject, type: EventType, reason: string, message: string): void {
    const where = { namespace: snapshot.metadata.namespace, snapshot: snapshot.metadata.name, reason };
    if (type === 'Warning') this.log.warn(where, message);
    else this.log.info(where, message);
    this.events?.record(
      objectReference({
        apiVersion: this.subject.apiVersion,
        kind: this.subject.kind,
        metadata: snapshot.metadata,
      }),
      type,
      reason,
      message,
    );
  }

  /** Whether a recorded pod is gone (deleted, or replaced by another of the same name). */
  private async podGone(target: { namespace: string; name: string; uid: string }): Promise<boolean> {
    const pod = await this.getPod(target.namespace, target.name);
    return !pod || (target.uid !== '' && pod.metadata?.uid !== target.uid);
  }

  /** The pod, or undefined when it does not exist. */
  private async getPod(namespace: string, name: string): Promise<Pod | undefined> {
    return getOrUndefined(() => this.api.get<Pod>(resources.pods, { namespace, name }));
  }

  private listPods(namespace: string, signal: AbortSignal): Promise<Pod[]> {
    return this.api.list<Pod>(resources.pods, namespace, { signal }).then((list) => list.items);
  }

  private patchRecord(snapshot: SnapshotSubject, value: string | null): Promise<unknown> {
    return this.api.patch(
      this.subject.resource,
      { namespace: snapshot.metadata.namespace, name: snapshot.metadata.name ?? '' },
      { metadata: { annotations: { [runningCommandsAnnotation]: value } } },
    );
  }
}

/** The rules of one snapshot: what ran, and the background tasks still to release. */
class SnapshotRun {
  private readonly held: { task: BackgroundTask | undefined; record: RecordedTask }[] = [];

  constructor(
    private readonly rules: RunContext,
    private readonly snapshot: SnapshotSubject,
    private readonly claimNames: readonly string[],
  ) {}

  async runRule(rule: NormalisedRule, signal: AbortSignal): Promise<void> {
    const namespace = this.snapshot.metadata.namespace ?? '';
    const pods = podsUsingClaims(await this.rules.listPods(namespace, signal), this.claimNames);
    const log = this.rules.logger.child({
      namespace,
      snapshot: this.snapshot.metadata.name,
      rule: rule.name,
    });
    if (pods.length === 0) {
      log.info(
        { claims: this.claimNames },
        'no running pod uses the snapshot claims; rule has nothing to do',
      );
      return;
    }
    const config = this.rules.config;
    for (const [i, item] of rule.items.entries()) {
      for (const action of item.actions) {
        const targets = actionTargets(pods, item, action);
        if (targets.length === 0) {
          log.warn(
            { item: i + 1, podSelector: item.podSelector },
            'no pod using the claims matches the item; skipped',
          );
          continue;
        }
        if (!action.background) {
          log.info({ command: action.value, pods: targets.map((t) => t.name) }, 'running rule command');
          await runInAll(
            this.rules.exec,
            targets,
            action.value,
            {
              timeoutMs: config.commandTimeoutMs,
              attempts: config.commandAttempts,
              intervalMs: config.retryIntervalMs,
            },
            signal,
          );
          continue;
        }
        await this.startBackground(targets, action.value, signal);
        log.info(
          { command: action.value, pods: targets.map((t) => t.name) },
          'background rule command holding',
        );
      }
    }
  }

  private async startBackground(targets: PodTarget[], command: string, signal: AbortSignal): Promise<void> {
    const taskID = randomUUID();
    const task = new BackgroundTask(taskID, targets, command, this.rules.exec, this.rules.config);
    const entry = { task, record: recordTask(taskID, targets) };
    // Recorded before anything starts: a stork that stops from here on leaves what its successor releases.
    this.held.push(entry);
    try {
      await this.persist();
    } catch (error) {
      this.held.pop();
      throw new Error(`could not record the background command on the snapshot: ${errorText(error)}`, {
        cause: error,
      });
    }
    await task.start(signal);
  }

  /** Releases every held task; tasks that could not be released stay recorded for the next start. */
  async releaseAll(): Promise<void> {
    if (this.held.length === 0) return;
    await Promise.all(
      [...this.held].map(async (entry) => {
        if (await this.release(entry.record)) {
          this.held.splice(this.held.indexOf(entry), 1);
          const exit = await entry.task?.awaitExit();
          if (exit && exit.stillRunning.length > 0) {
            this.rules.logger.warn(
              { taskID: entry.record.taskID, pods: exit.stillRunning.map((t) => t.name) },
              'released background command has not exited yet',
            );
          }
          if (exit && exit.unexpected.length > 0) {
            this.rules.logger.warn(
              { taskID: entry.record.taskID, exits: exit.unexpected },
              'background command failed',
            );
          }
        }
      }),
    );
    await this.persist().catch((error: unknown) => {
      this.rules.logger.warn({ err: error }, `could not update ${runningCommandsAnnotation} on the snapshot`);
    });
  }

  /** The tasks an earlier stork left recorded on this snapshot. */
  async recoverTasks(tasks: readonly RecordedTask[]): Promise<void> {
    this.held.push(...tasks.map((record) => ({ task: undefined, record })));
    const before = this.held.length;
    await this.releaseAll();
    const released = before - this.held.length;
    if (released > 0) {
      const ids = tasks.filter((t) => !this.held.some((h) => h.record === t)).map((t) => t.taskID);
      this.rules.note(
        this.snapshot,
        'Normal',
        'RuleRecovered',
        `released background rule commands left running by an earlier stork (tasks ${ids.join(', ')})`,
      );
    }
  }

  /** Releases a task in all its pods; false (with a Warning) if some pod could not be reached. */
  private async release(record: RecordedTask): Promise<boolean> {
    const outcomes = await Promise.allSettled(
      record.pods.map(async (pod) => {
        const target = await this.resolve(pod, record.container);
        if (!target) return;
        await releaseInPod(this.rules.exec, target, record.taskID, this.rules.config, () =>
          this.rules.podGone(target),
        );
      }),
    );
    const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failures.length === 0) return true;
    this.rules.note(
      this.snapshot,
      'Warning',
      'RuleReleaseFailed',
      `${failures.map((f) => errorText(f.reason)).join('; ')}; it stays recorded in ` +
        `${runningCommandsAnnotation} and is released when stork next starts leading`,
    );
    return false;
  }

  /** The pod and container of a recorded pod, or undefined when the pod no longer exists. */
  private async resolve(
    pod: RecordedTask['pods'][number],
    container: string | undefined,
  ): Promise<PodTarget | undefined> {
    let found: Pod | undefined;
    if (pod.name !== undefined) {
      found = await this.rules.getPod(pod.namespace, pod.name);
    } else {
      const pods = await this.rules.listPods(pod.namespace, AbortSignal.timeout(60_000));
      found = pods.find((p) => p.metadata?.uid === pod.uid);
    }
    // A pod that is gone, or another pod under the same name, holds nothing of this task any more.
    if (!found || (pod.uid !== '' && found.metadata?.uid !== pod.uid)) return undefined;
    // Rules run only in pods that use the snapshot's claims; a record naming any other pod is not acted on.
    if (!this.claimNames.some((claim) => mountsClaim(found, claim))) {
      this.rules.note(
        this.snapshot,
        'Warning',
        'RuleRecoveryRefused',
        `not releasing a recorded background command in pod ${pod.namespace}/${found.metadata?.name ?? ''}: ` +
          `it does not mount the snapshot's claim ${this.claimNames.slice(0, 20).join(', ')}`,
      );
      return undefined;
    }
    const chosen = pod.container ?? container ?? found.spec?.containers[0]?.name ?? '';
    return { namespace: pod.namespace, name: found.metadata?.name ?? '', uid: pod.uid, container: chosen };
  }

  private persist(): Promise<unknown> {
    return this.rules.patchRecord(this.snapshot, formatTasks(this.held.map((h) => h.record)));
  }
}
