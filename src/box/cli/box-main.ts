// `npm run box`: starts the box and keeps it running for kubectl until Ctrl-C.
// `npm run demo`: starts the box, shows it working (a Deployment scheduled and running, an exec into a
// pod), and stops it, or keeps it running with --keep.
import { parseArgs } from 'node:util';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { execInPod } from '../../k8s/exec.js';
import { resources } from '../../k8s/paths.js';
import { waitFor } from '../../lib/wait.js';
import { Box } from '../box.js';
import { topologyNodes } from '../nodes.js';

const usage = `Usage: npm run box -- [--nodes N]
       npm run demo -- [--nodes N] [--keep]

  --nodes N   KWOK nodes to create, spread over racks and zones (default 3)
  --demo      show the box working, then stop (unless --keep)
  --keep      with --demo: keep the box running afterwards
  --help      this text`;

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '3' },
    demo: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const nodeCount = Number(values.nodes);
if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 5000) {
  console.error(`Error: --nodes must be a whole number from 1 to 5000, got "${values.nodes}"\n\n${usage}`);
  process.exit(2);
}

const box = await Box.start({ nodes: topologyNodes(nodeCount) });
try {
  if (values.demo) await demo(box);
} catch (error) {
  console.error(`\nThe demo failed: ${error instanceof Error ? error.message : String(error)}`);
  for (const component of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok']) {
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

async function demo(box: Box): Promise<void> {
  const step = (text: string): void => console.log(`\n==> ${text}`);
  step('The nodes (KWOK: real Node objects, heartbeats and pod lifecycle, no containers)');
  console.log(await box.kubectl(['get', 'nodes', '-L', 'px/rack,topology.kubernetes.io/zone']));

  step('A Deployment of 3 replicas: kube-controller-manager creates the pods, kube-scheduler places them');
  const started = Date.now();
  await box.api.create(
    resources.deployments,
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'hello' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'hello' } },
        template: {
          metadata: { labels: { app: 'hello' } },
          spec: { containers: [{ name: 'hello', image: 'registry.invalid/hello:1' }] },
        },
      },
    },
    'default',
  );
  const pods = await waitFor(
    'three Running pods',
    async () => {
      const list = await box.api.list<Pod>(resources.pods, 'default', { labelSelector: 'app=hello' });
      return list.items.filter((p) => p.status?.phase === 'Running').length === 3 ? list.items : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  console.log(await box.kubectl(['get', 'pods', '-o', 'wide', '-l', 'app=hello']));
  console.log(
    `All 3 pods Running ${((Date.now() - started) / 1000).toFixed(1)}s after the Deployment was created.`,
  );

  const pod = pods[0]?.metadata?.name ?? '';
  step(`kubectl exec into ${pod} through the API server (KWOK runs the command on this host)`);
  const result = await execInPod(box.kubeConfig(), {
    namespace: 'default',
    pod,
    container: 'hello',
    command: ['sh', '-c', 'echo "hello from $(hostname)"; exit 3'],
    timeoutMs: 10_000,
  });
  console.log(`stdout: ${result.stdout.trim()}\nexit code: ${result.exitCode} (the command's own)`);
  if (result.exitCode !== 3) throw new Error(`expected exit code 3 from exec, got ${result.exitCode}`);
  step('Done: a real control plane on loopback, as the end-to-end tests use it.');
}
