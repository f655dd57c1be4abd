import { defineConfig } from 'vitest/config';

// Two projects: `unit` is pure logic and runs in parallel; `e2e` runs against the real control plane
// in the box, which is expensive to start, so its files share one box and run one at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/lint/**/*.test.ts', 'test/protocol/**/*.test.ts'],
          exclude: ['src/**/*.e2e.test.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
