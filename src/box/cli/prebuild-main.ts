// `npm run box:prebuild`: builds (or finds cached) every upstream part the end-to-end suite uses, one after
// the other, in the order the suite first needs them. `.ci/run` starts it in the background right after
// `npm ci`, so that on a cold cache the Go compiles overlap the unit suite, lint and typecheck instead of
// each waiting for the first test that needs it. Every build holds its cache's lock, so a test that needs a
// part meanwhile waits for this build instead of starting a second one.
import { ensureBoxBinaries } from '../build.js';
import { ensureCsiProvisioner, ensureCsiSnapshotter } from '../csi/build.js';
import { ensureBaseImage } from '../image/base-image.js';
import { ensureNodeBinaries } from '../node/build.js';
import { ensureCoreDns } from '../node/coredns-build.js';

const log = (line: string): void => console.error(line);
const parts: ReadonlyArray<readonly [string, () => Promise<unknown>]> = [
  ['box', () => ensureBoxBinaries({ log })],
  ['csi-provisioner', () => ensureCsiProvisioner({ log })],
  ['csi-snapshotter', () => ensureCsiSnapshotter({ log })],
  ['real-node', () => ensureNodeBinaries({ log })],
  ['coredns', () => ensureCoreDns({ log })],
  ['base-image', () => ensureBaseImage({ log })],
];
let failed = false;
for (const [name, build] of parts) {
  const started = Date.now();
  try {
    await build();
    console.log(`[prebuild] ${name}: ${Math.round((Date.now() - started) / 1000)} s`);
  } catch (error) {
    // A failed part is not fatal here: the test that needs it builds it again and fails with the cause.
    failed = true;
    console.log(
      `[prebuild] ${name} failed after ${Math.round((Date.now() - started) / 1000)} s: ${String(error)}`,
    );
  }
}
process.exitCode = failed ? 1 : 0;
