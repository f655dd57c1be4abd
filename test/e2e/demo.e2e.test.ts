import { describe, expect, it } from 'vitest';
import { Box } from '../../src/box/box.js';
import { runDemo } from '../../src/box/demo/demo.js';
import { topologyNodes } from '../../src/box/nodes.js';
import { freePorts } from '../../src/box/ports.js';

// The README's main command runs this walk-through; here it runs as a test. Each step checks what it
// narrates (placement on a replica node, the move to the other replica) and throws otherwise.
describe('the demo', () => {
  it('places MySQL with its data and moves it when the storage driver fails', async () => {
    const [port = 0] = await freePorts(1);
    const box = await Box.start({
      nodes: topologyNodes(6),
      storkScheduler: { urlPrefix: `http://127.0.0.1:${port}`, shipped: true },
    });
    try {
      const output: string[] = [];
      const steps = await runDemo(box, port, (text) => output.push(text));
      expect(steps.map((s) => s.step)).toEqual(['MySQL placed', 'MySQL moved after the driver failed']);
      expect(output.join('\n')).toMatch(/StorageDriverOffline: Evicting pod/);
      expect(output.join('\n')).toMatch(/<- mysql/);
    } finally {
      await box.stop();
    }
  });
});
