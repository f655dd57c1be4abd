// `npm run box:build-csi [-- provisioner|snapshotter]`: builds (or finds cached) the box's CSI parts (both
// by default) and prints where they are.
import { ensureCsiProvisioner, ensureCsiSnapshotter } from '../csi/build.js';

const parts = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['provisioner', 'snapshotter'];
const log = (line: string): void => console.error(line);
for (const part of parts) {
  const started = Date.now();
  const built =
    part === 'provisioner'
      ? await ensureCsiProvisioner({ log })
      : part === 'snapshotter'
        ? await ensureCsiSnapshotter({ log })
        : undefined;
  if (!built) {
    console.error(`unknown part "${part}"; known: provisioner, snapshotter`);
    process.exit(2);
  }
  console.log(JSON.stringify({ ...built, seconds: Math.round((Date.now() - started) / 100) / 10 }, null, 2));
}
