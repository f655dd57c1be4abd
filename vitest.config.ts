import { defineConfig } from 'vitest/config';

// Three projects:
// - `unit`: pure logic (and loopback servers of our own), in parallel;
// - `protocol`: our OpenStorage client against the upstream proto and the upstream osd server, which is
//   built from the Go module proxy on first use;
// - `e2e`: against the real control plane in the box. Each file starts its own box, so files run one
//   at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/lint/**/*.test.ts', 'test/packaging/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'protocol',
          include: ['test/protocol/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 1_200_000,
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
