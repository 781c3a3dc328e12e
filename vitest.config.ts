import { defineConfig } from 'vitest/config';

// The planner's choice of index depends on table statistics that concurrent suites change as they
// write (autoanalyze sees their shops and rows arrive), so the EXPLAIN suite runs first, alone, on a
// database only its own dataset has shaped; everything else runs after it, in parallel.
const PLANS = 'tests/database/indexes_and_advisors.test.ts';
// Each project starts its own isolated stack (or uses the one the environment names).
const STACK = 'tests/setup/global-setup.ts';

export default defineConfig({
  test: {
    environment: 'node',
    // Tests talk to a real stack over HTTP and PostgreSQL: seconds, not milliseconds.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    // Two cores are shared by the stack and the test workers; more workers only slow both down.
    maxWorkers: 2,
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/vitest.json' },
    projects: [
      { extends: true, test: { name: 'plans', globalSetup: [STACK], include: [PLANS], sequence: { groupOrder: 0 } } },
      {
        extends: true,
        test: { name: 'suites', globalSetup: [STACK], include: ['tests/**/*.test.ts'], exclude: [PLANS], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
