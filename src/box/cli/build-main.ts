// `npm run box:build`: builds (or finds cached) the box's upstream binaries and prints where they are.
import { ensureBoxBinaries } from '../build.js';

const started = Date.now();
const binaries = await ensureBoxBinaries({ log: (line) => console.error(line) });
console.log(JSON.stringify({ ...binaries, seconds: Math.round((Date.now() - started) / 100) / 10 }, null, 2));
