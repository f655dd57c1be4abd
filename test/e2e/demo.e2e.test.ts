import type { PersistentVolumeClaim, Pod } from '../../src/wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import { Box } from '../../src/box/box.js';
import { runDemo } from '../../src/box/demo/demo.js';
import { topologyNodes } from '../../src/box/nodes.js';
import { freePorts } from '../../src/box/ports.js';
import type { VolumeSnapshot } from '../../src/k8s/crds/volume-snapshot.js';
import { resources } from '../../src/k8s/paths.js';

// The README's main command runs this walk-through; here it runs as a test. Each step checks what it
// narrates (placement on a replica node, the move to the other replica, the snapshot's order of rules,
// the restore, the webhook) and throws otherwise; the test also reads back what the steps left behind.
describe('the demo', () => {
  it("walks the seed's story: placement, failover, consistent snapshot, restore, webhook", async () => {
    const [port = 0] = await freePorts(1);
    const box = await Box.start({
      nodes: topologyNodes(6),
      storkScheduler: { urlPrefix: `http://127.0.0.1:${port}`, shipped: true },
    });
    try {
      const output: string[] = [];
      const steps = await runDemo(box, port, (text) => output.push(text));
      expect(steps.map((s) => s.step)).toEqual([
        'MySQL placed',
        'MySQL moved after the driver failed',
        'mysql-snapshot (pre/post rules)',
        'mysql-snap-clone restored and used',
        'pod opted in by the webhook',
      ]);
      const text = output.join('\n');
      expect(text).toMatch(/StorageDriverOffline: Evicting pod/);
      expect(text).toMatch(/<- mysql$/m);
      // The timeline: lock, driver snapshot, unlock, post, in that order.
      expect(text).toMatch(
        /lock taken[^\n]*\n[^\n]*driver snapshot \S+ taken\n[^\n]*lock released\n[^\n]*post rule ran/,
      );
      expect(text).toMatch(/^mysql-snapshot\s/m);
      expect(text).toMatch(/k8s-volume-snapshot-/);
      expect(text).toMatch(/<- mysql-clone$/m);
      expect(text).toMatch(/as admitted: schedulerName stork/);
      expect(text).toMatch(/<- app$/m);
      expect(text).toMatch(/^STEP\s+RESULT\s+SECONDS/m);

      const snapshot = await box.api.get<VolumeSnapshot>(resources.volumeSnapshots, {
        namespace: 'default',
        name: 'mysql-snapshot',
      });
      expect(snapshot.status?.conditions?.at(-1)).toMatchObject({ type: 'Ready', status: 'True' });
      const clone = await box.api.get<PersistentVolumeClaim>(resources.persistentVolumeClaims, {
        namespace: 'default',
        name: 'mysql-snap-clone',
      });
      expect(clone.status?.phase).toBe('Bound');
      const app = await box.api.get<Pod>(resources.pods, { namespace: 'default', name: 'app' });
      expect(app.spec?.schedulerName).toBe('stork');
      expect(app.spec?.nodeName).toBeTruthy();
    } finally {
      await box.stop();
    }
  });
});
