import type { DriverVolume } from './driver.js';

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  let count = 0;
  for (const key in a) {
    if (a[key] !== b[key]) return false;
    count++;
  }
  return count === Object.keys(b).length;
}

/**
 * Whether two listings of a volume say the same thing (every field a decision reads). The driver cache
 * keeps the earlier object when they do, so what is derived from a volume survives refreshes that changed
 * nothing. Written out field by field: a JSON fingerprint of 10,000 volumes per refresh costs more than
 * the comparison saves.
 */
export function sameVolume(a: DriverVolume, b: DriverVolume): boolean {
  return (
    a.id === b.id &&
    a.name === b.name &&
    a.sizeBytes === b.sizeBytes &&
    a.parentId === b.parentId &&
    sameList(a.replicaNodeIds, b.replicaNodeIds) &&
    sameList(a.localTo, b.localTo) &&
    sameLabels(a.labels, b.labels)
  );
}
