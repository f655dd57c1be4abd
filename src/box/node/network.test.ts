import { describe, expect, it } from 'vitest';
import {
  freeLinkIndex,
  inBenchmarkRange,
  kubernetesServiceIp,
  kwokPodCidr,
  nodeLink,
  podCidr,
  podGateway,
  serviceCidr,
} from './network.js';

describe('the real node addresses', () => {
  it('are all in 198.18.0.0/15, never in a private range', () => {
    const link = nodeLink(8191);
    for (const ip of [
      link.hostIp,
      link.nodeIp,
      nodeLink(1).hostIp,
      kubernetesServiceIp,
      podGateway,
      ...[serviceCidr, podCidr, kwokPodCidr].map((c) => c.split('/')[0] ?? ''),
    ]) {
      expect(inBenchmarkRange(ip), ip).toBe(true);
      expect(ip).not.toMatch(/^(10\.|172\.(1[6-9]|2\d|3[01])\.|192\.168\.)/);
    }
  });

  it('gives each link its own /30 below 198.18.128.0 (the KWOK range above)', () => {
    expect(nodeLink(1)).toEqual({ index: 1, hostIp: '198.18.0.5', nodeIp: '198.18.0.6', prefixLength: 30 });
    expect(nodeLink(64)).toMatchObject({ hostIp: '198.18.1.1', nodeIp: '198.18.1.2' });
    expect(nodeLink(8191)).toMatchObject({ hostIp: '198.18.127.253', nodeIp: '198.18.127.254' });
    expect(() => nodeLink(0)).toThrow(RangeError);
    expect(() => nodeLink(8192)).toThrow(RangeError);
  });

  it('picks a link no interface of the host uses', () => {
    const addr = '3: sb-abc    inet 198.18.0.5/30 scope global sb-abc\n';
    const draws = [0, 0, 1 / 8191];
    // The first two draws give index 1, which is taken; the third gives index 2.
    expect(freeLinkIndex(addr, () => draws.shift() ?? 0)).toBe(2);
    expect(() => freeLinkIndex(addr, () => 0)).toThrow(/no free/);
  });

  it('recognises the range', () => {
    expect(inBenchmarkRange('198.17.255.255')).toBe(false);
    expect(inBenchmarkRange('198.20.0.0')).toBe(false);
    expect(inBenchmarkRange('10.96.0.1')).toBe(false);
  });
});
