// The end of a run: k6's standard text summary on stdout, and a JSON report that the test
// dashboard (tests/dashboard.html) reads from reports/load/<scenario>.json.

import { textSummary } from 'https://jslib.k6.io/k6-summary/0.1.0/index.js';
import { config } from './config.ts';
import { REFUSAL_STATUS, type Refusal } from './metrics.ts';

/** The part of k6's summary data this report reads. */
interface MetricSummary {
  type: 'counter' | 'gauge' | 'rate' | 'trend';
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

interface SummaryData {
  metrics: Record<string, MetricSummary | undefined>;
  state: { testRunDurationMs: number; isStdOutTTY: boolean };
}

export interface LoadReport {
  scenario: string;
  shape: string;
  started_at: string;
  duration_ms: number;
  requests: number;
  rps: number;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  error_rate: number | null;
  /** null when the reconciliation did not run: unknown, which is not the same as zero. */
  balance_mismatches: number | null;
  refusals: Record<Refusal, number>;
  thresholds: { passed: string[]; failed: string[] };
  ok: boolean;
}

function value(data: SummaryData, metric: string, stat: string): number | null {
  const found = data.metrics[metric]?.values[stat];
  return typeof found === 'number' && Number.isFinite(found) ? found : null;
}

export function loadReport(scenario: string, shape: string, data: SummaryData, finishedAt: number): LoadReport {
  const passed: string[] = [];
  const failed: string[] = [];
  for (const [metric, summary] of Object.entries(data.metrics)) {
    for (const [expression, result] of Object.entries(summary?.thresholds ?? {})) {
      (result.ok ? passed : failed).push(`${metric}: ${expression}`);
    }
  }
  const refusals = {} as Record<Refusal, number>;
  for (const refusal of Object.keys(REFUSAL_STATUS) as Refusal[]) refusals[refusal] = value(data, refusal, 'count') ?? 0;
  const reconciled = (value(data, 'reconciliations', 'count') ?? 0) > 0;
  return {
    scenario,
    shape,
    started_at: new Date(finishedAt - data.state.testRunDurationMs).toISOString(),
    duration_ms: Math.round(data.state.testRunDurationMs),
    requests: value(data, 'http_reqs', 'count') ?? 0,
    rps: value(data, 'http_reqs', 'rate') ?? 0,
    p50_ms: value(data, 'http_req_duration', 'med'),
    p95_ms: value(data, 'http_req_duration', 'p(95)'),
    p99_ms: value(data, 'http_req_duration', 'p(99)'),
    error_rate: value(data, 'errors', 'rate'),
    balance_mismatches: reconciled ? (value(data, 'balance_mismatches', 'count') ?? 0) : null,
    refusals,
    thresholds: { passed, failed },
    ok: failed.length === 0,
  };
}

export function summaryHandler(scenario: string, shape: string) {
  return (data: SummaryData): Record<string, string> => ({
    stdout: textSummary(data, { indent: ' ', enableColors: data.state.isStdOutTTY }),
    [`${config.reportDir}/${scenario}.json`]: `${JSON.stringify(loadReport(scenario, shape, data, Date.now()), null, 2)}\n`,
  });
}
