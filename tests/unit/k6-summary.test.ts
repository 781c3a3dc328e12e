// k6/lib/summary.ts runs inside k6; here its pure part runs under Node with k6's modules stood in for,
// fed the summary data k6 hands handleSummary().
import { expect, test, vi } from 'vitest';

vi.mock('k6', () => ({ check: () => true }));
vi.mock('k6/metrics', () => ({ Counter: class {}, Rate: class {}, Trend: class {} }));
vi.mock('k6/http', () => ({ default: {} }));
vi.mock('k6/crypto', () => ({ randomBytes: () => new ArrayBuffer(16) }));
(globalThis as { __ENV?: Record<string, string> }).__ENV = {
  API_URL: 'http://127.0.0.1:9', ANON_KEY: 'anon', SERVICE_ROLE_KEY: 'service', DATASET: 'dataset.json', REPORT_DIR: 'reports/load',
};

const { summaryHandler } = await import('../../k6/lib/summary.ts');

const data = {
  state: { testRunDurationMs: 60_000, isStdOutTTY: false },
  metrics: {
    http_reqs: { type: 'counter' as const, values: { count: 6_000, rate: 100 } },
    http_req_duration: {
      type: 'trend' as const,
      contains: 'time' as const,
      values: { avg: 40.5, min: 3, med: 31.25, max: 900, 'p(90)': 80, 'p(95)': 120.5, 'p(99)': 400 },
      thresholds: { 'p(95)<500': { ok: true } },
    },
    errors: { type: 'rate' as const, values: { rate: 0.02, passes: 120, fails: 5_880 }, thresholds: { 'rate<0.01': { ok: false } } },
    reconciliations: { type: 'counter' as const, values: { count: 1, rate: 0.02 } },
    balance_mismatches: { type: 'counter' as const, values: { count: 0, rate: 0 }, thresholds: { 'count==0': { ok: true } } },
    vus: { type: 'gauge' as const, values: { value: 0, min: 0, max: 50 } },
  },
};

test('handleSummary prints the run, every threshold with its verdict and every metric, and writes the JSON report', () => {
  const outputs = summaryHandler('mix', 'average')(data);
  expect(Object.keys(outputs).sort()).toEqual(['reports/load/mix.json', 'stdout']);
  const text = outputs.stdout;
  expect(text).toContain('mix (average): FAIL, 60.0 s');
  expect(text).toContain('requests 6000 (100/s), p50 31.25 ms, p95 120.50 ms, p99 400 ms');
  expect(text).toContain('errors 2%, balance mismatches 0');
  expect(text).toContain('✓ http_req_duration: p(95)<500');
  expect(text).toContain('✗ errors: rate<0.01');
  expect(text).toMatch(/http_req_duration\s+avg=40\.50ms min=3ms med=31\.25ms max=900ms p\(90\)=80ms p\(95\)=120\.50ms p\(99\)=400ms/);
  expect(text).toMatch(/errors\s+2% \(120 of 6000\)/);
  expect(text).toMatch(/vus\s+0 \(min 0, max 50\)/);
  expect(text).not.toContain('\u001b[');
  const report = JSON.parse(outputs['reports/load/mix.json']);
  expect(report).toMatchObject({ scenario: 'mix', shape: 'average', requests: 6_000, rps: 100, p95_ms: 120.5, error_rate: 0.02, balance_mismatches: 0, ok: false });
  expect(report.thresholds).toEqual({ passed: ['http_req_duration: p(95)<500', 'balance_mismatches: count==0'], failed: ['errors: rate<0.01'] });
});
