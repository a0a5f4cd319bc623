import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Inference tests start onnxruntime sessions; two cores run two files at a time well.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    // Hang guards only, never a measure of speed: on a loaded 2-core machine inference tests
    // took over 60 s (issue 12). A test or hook that needs longer says so itself.
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
});
