import { describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock.js';
import { idleWatchdog } from './idle-watchdog.js';

describe('idleWatchdog', () => {
  it.each([
    { name: 'silence for the whole time fires at it', touches: [], idleMs: 1000, at: 999, fired: false },
    {
      name: 'silence for the whole time fires at it (reached)',
      touches: [],
      idleMs: 1000,
      at: 1000,
      fired: true,
    },
    { name: 'a touch starts the time over', touches: [600], idleMs: 1000, at: 1500, fired: false },
    { name: 'a touch starts the time over (reached)', touches: [600], idleMs: 1000, at: 1600, fired: true },
    {
      name: 'touches more often than the time keep it quiet',
      touches: [400, 800, 1200, 1600, 2000],
      idleMs: 500,
      at: 2400,
      fired: false,
    },
    {
      name: 'then the silence after the last touch counts',
      touches: [400, 800, 1200, 1600, 2000],
      idleMs: 500,
      at: 2500,
      fired: true,
    },
  ])('$name', async ({ touches, idleMs, at, fired }) => {
    const clock = new FakeClock();
    let calls = 0;
    const dog = idleWatchdog(clock, idleMs, () => (calls += 1));
    let now = 0;
    for (const t of [...touches, at]) {
      await clock.advance(t - now);
      now = t;
      if (t !== at) dog.touch();
    }
    expect(calls).toBe(fired ? 1 : 0);
    dog.dispose();
  });

  it('fires once, and never after dispose', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const dog = idleWatchdog(clock, 100, () => (calls += 1));
    await clock.advance(1000);
    expect(calls).toBe(1);
    const other = idleWatchdog(clock, 100, () => (calls += 1));
    other.dispose();
    await clock.advance(1000);
    expect(calls).toBe(1);
    expect(clock.pending).toBe(0);
    dog.dispose();
  });
});
