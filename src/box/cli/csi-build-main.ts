// `npm run box:build-csi`: builds (or finds cached) the box's CSI sidecars and prints where they are.
import { ensureCsiBinaries } from '../csi/build.js';

const started = Date.now();
const binaries = await ensureCsiBinaries({ log: (line) => console.error(line) });
console.log(JSON.stringify({ ...binaries, seconds: Math.round((Date.now() - started) / 100) / 10 }, null, 2));
