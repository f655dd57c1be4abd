import { ensureBoxBinaries } from '../../src/box/build.js';

/**
 * Builds (or finds cached) the box's binaries once, before any end-to-end file starts its box, so that a
 * cold build (many minutes) is not charged to a test's timeout and shows its progress.
 */
export default async function setup(): Promise<void> {
  await ensureBoxBinaries({ log: (line) => console.error(line) });
}
