// How far a snapshot's rules got, recorded on the VolumeSnapshot itself, so that a stork that takes over
// after a restart (or a change of leader) in the middle of them knows what is left to do: the post rule of
// a snapshot that was cut, or the whole snapshot again when the cut did not happen under the pre rule.
// This annotation is stork-ts's own (Stork records only the held background commands).
import type { VolumeSnapshot } from '../../k8s/crds/volume-snapshot.js';

export const rulesInFlightAnnotation = 'stork.libopenstorage.org/snapshot-rules-in-flight';

export interface RulesInFlight {
  /** `running` from just before the pre rule starts; `done` once the snapshot was cut after it. */
  readonly pre: 'running' | 'done';
  /** Whether the storage snapshot was cut while the pre rule held (its post rule is then still due). */
  readonly cut: boolean;
}

export const preRunning: RulesInFlight = { pre: 'running', cut: false };
export const cutDone: RulesInFlight = { pre: 'done', cut: true };

export function formatRulesInFlight(record: RulesInFlight): string {
  return JSON.stringify({ pre: record.pre, cut: record.cut });
}

/** The longest value read: what stork writes is under 30 characters; anything much longer is not its. */
const maxLength = 200;

/**
 * The record on a snapshot (or a group snapshot): undefined when there is none, `invalid` for a value stork did not write
 * (the annotation is user-writable), which is reported and otherwise ignored rather than acted on.
 */
export function readRulesInFlight(object: {
  readonly metadata: Pick<VolumeSnapshot['metadata'], 'annotations'>;
}): RulesInFlight | 'invalid' | undefined {
  const value = object.metadata.annotations?.[rulesInFlightAnnotation];
  if (value === undefined) return undefined;
  if (value.length > maxLength) return 'invalid';
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return 'invalid';
  }
  if (typeof parsed !== 'object' || parsed === null) return 'invalid';
  const { pre, cut } = parsed as { pre?: unknown; cut?: unknown };
  if ((pre !== 'running' && pre !== 'done') || typeof cut !== 'boolean') return 'invalid';
  return { pre, cut };
}
