import { describe, expect, it } from 'vitest';
import type { HealthStatusDocument } from '../drivers/health-status-document.js';
import { healthMonitorText } from './healthmonitor.js';

const now = Date.parse('2026-01-01T00:10:00Z');
const base: HealthStatusDocument = {
  time: '2026-01-01T00:09:58Z',
  replica: 'stork-0',
  breaker: { state: 'Closed' },
  limits: { maxUnhealthyNodes: 1, maxUnhealthyPercent: 34, graceSeconds: 150 },
  storageNodes: 4,
  unhealthyNodes: 0,
  quorumLost: false,
  nodes: [],
};

describe('healthMonitorText', () => {
  it('says all is well when every node is Online', () => {
    const text = healthMonitorText(base, now);
    expect(text).toContain('Circuit breaker: Closed');
    expect(text).toContain('0 of 4 storage nodes (limits: 1 nodes, 34%; grace 150s)');
    expect(text).toContain('Every storage node is Online.');
  });

  it('shows an open breaker with its reason, and what happens to each unhealthy node', () => {
    const text = healthMonitorText(
      {
        ...base,
        breaker: {
          state: 'Open',
          reason: 'too-many-unhealthy',
          message: '3 of 4 storage nodes are unhealthy at once (75%)',
          openedAt: '2026-01-01T00:09:00Z',
        },
        unhealthyNodes: 3,
        nodes: [
          { name: 'node-1', status: 'Offline', since: '2026-01-01T00:09:00Z', action: 'held' },
          { name: 'node-2', status: 'Maintenance', since: '2026-01-01T00:08:00Z', action: 'never' },
        ],
      },
      now,
    );
    expect(text).toContain('Circuit breaker: Open (3 of 4 storage nodes are unhealthy at once (75%))');
    expect(text).toContain('Opened:          60s ago');
    expect(text).toMatch(/node-1\s+Offline\s+60s\s+held by the circuit breaker/);
    expect(text).toMatch(/node-2\s+Maintenance\s+2m\s+none \(this status never moves pods\)/);
  });

  it('with several drivers, shows each driver’s breaker and its unhealthy nodes', () => {
    const offline = {
      name: 'node-1',
      status: 'Offline',
      since: '2026-01-01T00:09:00Z',
      action: 'held',
    } as const;
    const text = healthMonitorText(
      {
        ...base,
        drivers: [
          { driver: 'pxd', breaker: { state: 'Closed' }, storageNodes: 4, unhealthyNodes: 0, nodes: [] },
          {
            driver: 'network.csi.example.com',
            breaker: { state: 'Open', message: '3 of 4 storage nodes are unhealthy at once (75%)' },
            storageNodes: 4,
            unhealthyNodes: 3,
            nodes: [offline],
          },
        ],
      },
      now,
    );
    expect(text).toMatch(/pxd\s+circuit breaker Closed; 0 of 4 storage nodes unhealthy/);
    expect(text).toContain('network.csi.example.com  circuit breaker Open (3 of 4 storage nodes');
    expect(text).toMatch(/network\.csi\.example\.com\s+node-1\s+Offline\s+60s\s+held by the circuit breaker/);
  });
});
