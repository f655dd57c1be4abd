import { describe, expect, it } from 'vitest';
import { dueSuffix, scheduledSnapshotName } from './names.js';

describe('scheduledSnapshotName', () => {
  const due = Date.parse('2026-03-04T05:06:07Z');
  it("is Stork's layout, from the due time", () => {
    expect(dueSuffix(due)).toBe('2026-03-04-050607');
    expect(scheduledSnapshotName('mysql', 'aaaa-bbbb-1234', 'Interval', due)).toBe(
      'mysql-interval-1234-2026-03-04-050607',
    );
  });

  it('is the same for the same run and different for another', () => {
    const a = scheduledSnapshotName('db', 'uid-0001', 'Daily', due);
    expect(scheduledSnapshotName('db', 'uid-0001', 'Daily', due)).toBe(a);
    expect(scheduledSnapshotName('db', 'uid-0001', 'Daily', due + 60_000)).not.toBe(a);
    expect(scheduledSnapshotName('db', 'uid-0001', 'Weekly', due)).not.toBe(a);
    expect(scheduledSnapshotName('db', 'uid-0002', 'Daily', due)).not.toBe(a);
  });

  it('fits 63 characters and ends the cut name in a letter or digit', () => {
    const name = scheduledSnapshotName(`${'a'.repeat(30)}.-${'b'.repeat(40)}`, 'x-9999', 'Monthly', due);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^a{30}-monthly-9999-2026-03-04-050607$/);
    expect(scheduledSnapshotName('c'.repeat(253), 'x-9999', 'Interval', due)).toHaveLength(63);
  });
});
