import { describe, expect, it } from 'vitest';
import { candidateRange, ephemeralPortRange, freePorts } from './ports.js';

describe('freePorts', () => {
  it('hands out distinct ports outside the kernel ephemeral range', async () => {
    const ephemeral = ephemeralPortRange();
    const ports = await freePorts(50);
    expect(new Set(ports).size).toBe(50);
    for (const port of ports) {
      expect(port >= ephemeral.low && port <= ephemeral.high, `port ${String(port)}`).toBe(false);
    }
  });

  it('never hands out the same port twice in one process', async () => {
    const first = await freePorts(20);
    const second = await freePorts(20);
    expect(first.filter((p) => second.includes(p))).toEqual([]);
  });
});

describe('candidateRange', () => {
  it('lies below the Linux default ephemeral range', () => {
    expect(candidateRange({ low: 32768, high: 60999 })).toEqual({ low: 10000, high: 32767 });
  });
  it('uses the ports above a range that starts too low', () => {
    expect(candidateRange({ low: 10500, high: 60999 })).toEqual({ low: 61000, high: 65535 });
  });
  it('gives up when the ephemeral range covers everything', () => {
    expect(candidateRange({ low: 1024, high: 65535 })).toBeUndefined();
  });
});
