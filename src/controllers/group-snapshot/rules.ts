// The record of a group's rules in flight (the annotation of rules-in-flight.ts, as on single snapshots),
// through an attempt: written before the pre rule and at the cut, removed once the post rule ran or the
// attempt ended; and what a stork that takes over does with a record an earlier one left.
import type { GroupVolumeSnapshot } from '../../k8s/crds/group-volume-snapshot.js';
import { resources } from '../../k8s/paths.js';
import { SnapshotHookError, type AfterSnapshot } from '../snapshot/hooks.js';
import {
  cutDone,
  formatRulesInFlight,
  type RulesInFlight,
  readRulesInFlight,
  rulesInFlightAnnotation,
} from '../snapshot/rules-in-flight.js';
import type { GroupContext } from './context.js';
import { GroupFailed } from './failure.js';
import { groupKey } from './group-refs.js';
import { currentMembers } from './members.js';

export class GroupRules {
  constructor(private readonly ctx: GroupContext) {}

  /**
   * Records, on the group, that its snapshots were cut while the pre rule held and its post rule is due
   * (the annotation of rules-in-flight.ts, as on single snapshots): a stork that takes over before the
   * post rule ran runs it. Nothing is recorded for a group without a post rule.
   */
  async markCut(group: GroupVolumeSnapshot): Promise<GroupVolumeSnapshot> {
    if (!this.recordsRules(group)) return group;
    return this.writeRulesInFlight(group, cutDone);
  }

  /**
   * Whether the group's rules are recorded while they run: only with a post rule, the one thing a stork
   * taking over has to run (every attempt discards what an earlier one cut anyway), and rules that can run
   * it alone.
   */
  recordsRules(group: GroupVolumeSnapshot): boolean {
    return Boolean(group.spec.postExecRule) && this.ctx.hooks.afterRestart !== undefined;
  }

  writeRulesInFlight(group: GroupVolumeSnapshot, record: RulesInFlight): Promise<GroupVolumeSnapshot> {
    return this.ctx.options.api.patch<GroupVolumeSnapshot>(
      resources.groupVolumeSnapshots,
      { namespace: group.metadata.namespace ?? '', name: group.metadata.name ?? '' },
      { metadata: { annotations: { [rulesInFlightAnnotation]: formatRulesInFlight(record) } } },
    );
  }

  /**
   * The hold released after an attempt that cut nothing (no post rule, as Stork); its record goes then, as
   * the attempt is over. A stork that is stopping leaves the record: it may have stopped in the pre rule's
   * middle, and its successor undoes it.
   */
  async endWithoutCut(
    group: GroupVolumeSnapshot,
    after: AfterSnapshot,
    signal: AbortSignal,
  ): Promise<GroupVolumeSnapshot> {
    await after.afterSnapshot(false, signal);
    return signal.aborted ? group : this.clearRulesInFlight(group);
  }

  /** The post rule after every snapshot was cut, recorded as due while it runs (see markCut). */
  async postRuleAfterCut(
    group: GroupVolumeSnapshot,
    after: AfterSnapshot,
    signal: AbortSignal,
  ): Promise<GroupVolumeSnapshot> {
    const marked = await this.markCut(group);
    await runPostRule(after, signal);
    return this.clearRulesInFlight(marked);
  }

  async clearRulesInFlight(group: GroupVolumeSnapshot, always = false): Promise<GroupVolumeSnapshot> {
    if (!always && group.metadata.annotations?.[rulesInFlightAnnotation] === undefined) return group;
    return this.ctx.options.api.patch<GroupVolumeSnapshot>(
      resources.groupVolumeSnapshots,
      { namespace: group.metadata.namespace ?? '', name: group.metadata.name ?? '' },
      { metadata: { annotations: { [rulesInFlightAnnotation]: null } } },
    );
  }

  /**
   * The post rule of a group an earlier stork cut (recorded `cut`), run once; the record then goes. A
   * record stork did not write is ignored (with a Warning). What was cut is not adopted: the status did
   * not list it yet, so the attempt is taken again from the pre rule, the thawed application first. An
   * earlier stork that stopped in the pre rule or before the cut (`pre` `running`) left the pre rule run
   * in part or in full: the post rule undoes it, best-effort, and the group is taken again.
   */
  async finishRules(group: GroupVolumeSnapshot, signal: AbortSignal): Promise<GroupVolumeSnapshot> {
    const record = readRulesInFlight(group);
    if (record === 'invalid') {
      this.ctx.record(
        group,
        'Warning',
        'RulesInFlightIgnored',
        `annotation ${rulesInFlightAnnotation} is not one stork wrote; ignored and removed`,
      );
    } else if (record?.cut && this.ctx.hooks.afterRestart) {
      const claims = currentMembers(group, this.ctx.lookup).map((m) => m.claimName);
      try {
        await this.ctx.hooks.afterRestart(group, claims, signal);
      } catch (error) {
        if (!(error instanceof SnapshotHookError)) throw error;
        await this.clearRulesInFlight(group);
        throw new GroupFailed(error.message);
      }
      this.ctx.record(
        group,
        'Normal',
        'PostRuleAfterRestart',
        'ran the post rule of a group snapshot an earlier stork cut and did not finish; taking the group again',
      );
    } else if (record && this.ctx.hooks.afterRestart) {
      await this.undoInterruptedPreRule(group, signal);
    }
    return this.clearRulesInFlight(group);
  }

  /**
   * The post rule after a pre rule an earlier stork stopped in (or after, before the cut), run once. Its
   * failure (a `fsfreeze -u` on a file system never frozen) is reported and does not fail the group; a rule
   * that cannot be read now, or stork stopping, is retried with the record kept.
   */
  private async undoInterruptedPreRule(
    group: GroupVolumeSnapshot,
    signal: AbortSignal,
    deleted = false,
  ): Promise<void> {
    const claims = currentMembers(group, this.ctx.lookup).map((m) => m.claimName);
    try {
      await this.ctx.hooks.afterRestart?.(group, claims, signal, 'interrupted');
    } catch (error) {
      if (!(error instanceof SnapshotHookError) || signal.aborted) throw error;
      this.ctx.options.logger.warn(
        { groupSnapshot: groupKey(group), err: error.message },
        'post rule after an interrupted pre rule failed',
      );
      this.ctx.record(
        group,
        'Warning',
        'PreRuleUndoFailed',
        'the post rule, run to undo the pre rule an earlier stork stopped in, failed ' +
          `(${deleted ? 'the deleted group goes' : 'the group is taken again'} regardless): ${error.message}`,
      );
      return;
    }
    this.ctx.record(
      group,
      'Normal',
      'PostRuleAfterRestart',
      'ran the post rule to undo the pre rule an earlier stork stopped in before the cut; ' +
        (deleted ? 'the deleted group goes' : 'taking the group again'),
    );
  }

  /**
   * The post rule a deleted group's record leaves due (after the cut, or to undo an interrupted pre rule),
   * run once, best-effort: the group goes whatever it does (its failure is the rule's Warning `RuleFailed`),
   * as nothing of it is handed out any more. A rule that cannot be read now is retried with the record kept.
   */
  async finishRulesOfDeleted(group: GroupVolumeSnapshot, signal: AbortSignal): Promise<GroupVolumeSnapshot> {
    const record = readRulesInFlight(group);
    if (record !== undefined && record !== 'invalid' && this.ctx.hooks.afterRestart) {
      if (!record.cut) await this.undoInterruptedPreRule(group, signal, true);
      else {
        const claims = currentMembers(group, this.ctx.lookup).map((m) => m.claimName);
        try {
          await this.ctx.hooks.afterRestart(group, claims, signal);
        } catch (error) {
          if (!(error instanceof SnapshotHookError) || signal.aborted) throw error;
          this.ctx.options.logger.warn(
            { groupSnapshot: groupKey(group), err: error.message },
            'post rule of a deleted group failed',
          );
        }
      }
    }
    return this.clearRulesInFlight(group);
  }
}

/** The post rule after a cut that succeeded; its failure fails the group (counted against retries). */
async function runPostRule(after: AfterSnapshot, signal: AbortSignal): Promise<void> {
  try {
    await after.afterSnapshot(true, signal);
  } catch (error) {
    if (!(error instanceof SnapshotHookError)) throw error;
    throw new GroupFailed(error.message);
  }
}
