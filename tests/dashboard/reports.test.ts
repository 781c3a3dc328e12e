import { describe, expect, it } from 'vitest';
import { checkCriteria, summariesIn, type LoadSummary } from './load_summary.ts';
import { suiteOf, summariseVitest } from './reports.ts';

const run: LoadSummary = {
  scenario: 'mix',
  started_at: '2026-11-24T08:00:00Z',
  requests: 1_000,
  rps: 100.5,
  p50_ms: 10,
  p95_ms: 499.9,
  p99_ms: 700,
  error_rate: 0.0099,
  balance_mismatches: 0,
};

describe("the seed's criteria for a load run", () => {
  it('passes just inside every limit', () => {
    expect(Object.values(checkCriteria(run)).map((c) => c.pass)).toEqual([true, true, true, true]);
  });

  it('fails at the limits themselves: p95 of 500 ms, 1 % errors, 100 req/s, one mismatch', () => {
    const checks = checkCriteria({ ...run, p95_ms: 500, error_rate: 0.01, rps: 100, balance_mismatches: 1 });
    expect(Object.values(checks).map((c) => c.pass)).toEqual([false, false, false, false]);
  });

  it('fails a figure the run did not measure: unknown is not zero', () => {
    const checks = checkCriteria({ ...run, p95_ms: null, error_rate: null, balance_mismatches: null });
    expect(checks).toEqual({
      p95_ms: { value: null, pass: false },
      error_rate: { value: null, pass: false },
      rps: { value: 100.5, pass: true },
      balance_mismatches: { value: null, pass: false },
    });
  });

  it('reads one summary, an array of them, or the phases of a bench report', () => {
    expect(summariesIn(run)).toEqual([run]);
    expect(summariesIn([run, run])).toEqual([run, run]);
    expect(summariesIn({ scenario: 'bench', phases: [run] })).toEqual([run]);
  });
});

describe('suites from a vitest JSON report', () => {
  it('names a suite after the folder under tests/ its files live in', () => {
    expect(suiteOf('/srv/ci/comings/tests/race_condition_tests/balance_movements.test.ts')).toBe('race_condition_tests');
    expect(suiteOf('/srv/ci/comings/tests/load_tests/bench/bench.test.ts')).toBe('load_tests');
    expect(suiteOf('/srv/ci/comings/tests/smoke.test.ts')).toBe('smoke');
  });

  it('counts a file that failed before any test ran as a failure with its message', () => {
    const [suite] = summariseVitest(
      {
        startTime: Date.parse('2026-11-24T08:00:00Z'),
        testResults: [
          {
            name: '/repo/tests/functions/kiosk.test.ts',
            status: 'failed',
            message: "Failed to load url ./missing.ts\n    at resolve (node:internal)",
            assertionResults: [],
          },
        ],
      },
      'vitest.json',
    );
    expect(suite).toMatchObject({
      name: 'functions',
      status: 'failed',
      passed: 0,
      failed: 1,
      skipped: 0,
      failures: [{ test: 'tests/functions/kiosk.test.ts (file)', file: 'tests/functions/kiosk.test.ts', message: 'Failed to load url ./missing.ts' }],
    });
  });
});
