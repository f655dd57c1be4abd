import { describe, expect, it } from 'vitest';
import type { PodPlacement } from '../extender/placement-report.js';
import { createMetrics } from './metrics.js';

const placement = (
  pod: string,
  ours: PodPlacement['placement'],
  stork: PodPlacement['placement'],
  ready = true,
) =>
  ({
    namespace: 'ns',
    pod,
    node: 'n',
    volumes: [],
    placement: ours,
    storkPlacement: stork,
    ready,
  }) as PodPlacement;

describe('hyper-convergence gauges', () => {
  it("carry Stork's classes under Stork's names (Ready pods only) and ours under stork_pod_placement", async () => {
    const metrics = createMetrics({
      placements: () => [
        placement('near', 'semi-hyperconverged', 'non-hyperconverged'),
        placement('local', 'hyperconverged', 'hyperconverged'),
        placement('starting', 'hyperconverged', 'hyperconverged', false),
      ],
    });
    const text = await metrics.registry.metrics();
    expect(text).toContain('stork_non_hyperconverged_pods_total{pod="near",namespace="ns"} 1');
    expect(text).not.toContain('stork_semi_hyperconverged_pods_total{pod="near"');
    expect(text).toContain('stork_hyperconverged_pods_total{pod="local",namespace="ns"} 1');
    expect(text).not.toContain('stork_hyperconverged_pods_total{pod="starting"');
    expect(text).toContain(
      'stork_pod_placement{pod="near",namespace="ns",placement="semi-hyperconverged"} 1',
    );
    expect(text).toContain('stork_pod_placement{pod="starting",namespace="ns",placement="hyperconverged"} 1');
  });
});
