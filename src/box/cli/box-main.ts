// `npm run box`: starts the box and keeps it running for kubectl until Ctrl-C.
// `npm run demo`: starts the box and walks through what stork does on it (src/box/demo/demo.ts), then
// stops it, or keeps it running with --keep.
import { parseArgs } from 'node:util';
import { Box } from '../box.js';
import { runDemo } from '../demo/demo.js';
import { topologyNodes } from '../nodes.js';
import { freePorts } from '../ports.js';
import { errorText } from '../../lib/errors.js';

const usage = `Usage: npm run box -- [--nodes N] [--real-node]
       npm run demo -- [--nodes N] [--keep] [--real-node]

  --nodes N   KWOK nodes to create, spread over racks and zones (default 3; 6 for the demo)
  --demo      show the box working, then stop (unless --keep)
  --keep      with --demo: keep the box running afterwards
  --real-node also run a real node (containerd, kubelet, kube-proxy; root only; docs/box.md);
              with --demo, the story ends with stork and the stork scheduler as pods on it
  --help      this text`;

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '3' },
    demo: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'real-node': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const nodeCount = Number(values.demo && values.nodes === '3' ? '6' : values.nodes);
if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 5000) {
  console.error(`Error: --nodes must be a whole number from 1 to 5000, got "${values.nodes}"\n\n${usage}`);
  process.exit(2);
}

const [extenderPort = 0] = await freePorts(1);
const box = await Box.start({
  nodes: topologyNodes(nodeCount),
  ...(values['real-node'] ? { realNode: true } : {}),
  // The stork scheduler as users install it (specs/stork-scheduler.yaml); the demo starts the extender.
  ...(values.demo
    ? { storkScheduler: { urlPrefix: `http://127.0.0.1:${extenderPort}`, shipped: true } }
    : {}),
});
try {
  if (values.demo) await runDemo(box, extenderPort, (text) => console.log(text));
} catch (error) {
  console.error(`\nThe demo failed: ${errorText(error)}`);
  for (const component of [
    'kube-apiserver',
    'kube-controller-manager',
    'kube-scheduler',
    'stork-scheduler',
    'kwok',
  ]) {
    console.error(`\n--- ${component} (last lines) ---\n${await box.logTail(component, 15)}`);
  }
  await box.stop();
  process.exit(1);
}

if (!values.demo || values.keep) {
  console.log(
    `\nThe box is running. In another shell:\n\n  export KUBECONFIG=${box.kubeconfigPath}\n  ${box.binaries.kubectl} get nodes -L px/rack,topology.kubernetes.io/zone\n\nPress Ctrl-C to stop it.`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}
await box.stop();
console.log('The box has stopped.');
