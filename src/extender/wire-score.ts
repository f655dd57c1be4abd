/** kube-scheduler's MaxExtenderPriority: an extender's scores must lie in 0..10. */
export const maxExtenderPriority = 10;

/**
 * Maps raw scores (Stork's 100/50/25/10/5 per volume, summed) onto 0..10 without changing the ranking.
 *
 * Raw scores exceed the protocol's range, and no fixed scaling keeps them apart (with two volumes, 10
 * and 5 would both round to 0 next to a 200). So the distinct raw values of one request are ranked and
 * spread evenly over 0..10: the best gets 10, the worst 0, and equal raw scores stay equal. With more
 * than 11 distinct values (many volumes at many distances at once), scores fall back to proportional
 * scaling, which keeps the order but may tie close values. If every node scores the same there is no
 * preference, and every node gets 0.
 */
export function wireScores(raw: readonly number[]): number[] {
  const distinct = [...new Set(raw)].sort((a, b) => a - b);
  if (distinct.length <= 1) return raw.map(() => 0);
  if (distinct.length <= maxExtenderPriority + 1) {
    const step = maxExtenderPriority / (distinct.length - 1);
    const rank = new Map(distinct.map((value, i) => [value, Math.round(i * step)]));
    return raw.map((value) => rank.get(value) ?? 0);
  }
  const min = distinct[0] ?? 0;
  const max = distinct[distinct.length - 1] ?? 0;
  return raw.map((value) => Math.round(((value - min) / (max - min)) * maxExtenderPriority));
}
