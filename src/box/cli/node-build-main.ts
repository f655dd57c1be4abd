// `npm run box:build-node`: builds (or finds cached) what a real node of the box runs: kubelet,
// kube-proxy and pause, from the box's Kubernetes version.
import { ensureNodeBinaries } from '../node/build.js';

const binaries = await ensureNodeBinaries({ log: (line) => console.error(line) });
console.log(JSON.stringify(binaries, null, 2));
