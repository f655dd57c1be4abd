// `npm run node-dist`: fetches (or finds cached) the Node.js the image is built on and prints its bin
// directory, so that CI can run the unit and protocol suites under that version too.
import { ensureNodeDist } from '../image/node-dist.js';

const dist = await ensureNodeDist({ log: (line) => console.error(line) });
console.log(dist.binDir);
