// The end of a run: a text summary on stdout, and a JSON report that the test dashboard
// (tests/dashboard.html) reads from reports/load/<scenario>.json. The text is written here rather than
// by jslib's k6-summary: k6 fetches a remote module when a run starts, so it could not run offline.

import { config } from './config.ts';
import { REFUSALS, type Refusal } from './journey-rules.ts';
import type { LoadSummary } from './load-summary.ts';

/** The part of k6's summary data (the same in k6 v0.5x, v1 and v2) that this report reads. */
interface MetricSummary {
  type: 'counter' | 'gauge' | 'rate' | 'trend';
  contains?: 'default' | 'time' | 'data';
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

interface SummaryData {
  metrics: Record<string, MetricSummary | undefined>;
  state: { testRunDurationMs: number; isStdOutTTY: boolean };
}

/** What k6 writes: the dashboard's LoadSummary with every optional figure k6 knows, and the verdicts. */
export interface LoadReport extends LoadSummary {
  shape: string;
  duration_ms: number;
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
  for (const refusal of REFUSALS) refusals[refusal] = value(data, refusal, 'count') ?? 0;
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

const MS_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'];

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/** One metric's figures as k6's own summary shows them: durations in ms, rates as percentages. */
function describeMetric(metric: MetricSummary): string {
  const v = metric.values;
  switch (metric.type) {
    case 'trend':
      return MS_STATS.filter((stat) => typeof v[stat] === 'number')
        .map((stat) => `${stat}=${formatNumber(v[stat])}${metric.contains === 'time' ? 'ms' : ''}`)
        .join(' ');
    case 'rate':
      return `${formatNumber((v.rate ?? 0) * 100)}% (${v.passes ?? 0} of ${(v.passes ?? 0) + (v.fails ?? 0)})`;
    case 'counter':
      return `${v.count ?? 0} (${formatNumber(v.rate ?? 0)}/s)`;
    case 'gauge':
      return `${formatNumber(v.value ?? 0)} (min ${formatNumber(v.min ?? 0)}, max ${formatNumber(v.max ?? 0)})`;
  }
}

/** The end-of-test text: the run's key figures, every threshold with its verdict, then every metric. */
export function textSummary(report: LoadReport, data: SummaryData, colours: boolean): string {
  const paint = (ok: boolean, text: string) => (colours ? `\u001b[${ok ? 32 : 31}m${text}\u001b[0m` : text);
  const ms = (n: number | null) => (n === null ? 'n/a' : `${formatNumber(n)} ms`);
  const lines = [
    '',
    `  ${report.scenario} (${report.shape}): ${paint(report.ok, report.ok ? 'PASS' : 'FAIL')}, ${(report.duration_ms / 1000).toFixed(1)} s`,
    `  requests ${report.requests} (${formatNumber(report.rps)}/s), p50 ${ms(report.p50_ms)}, p95 ${ms(report.p95_ms)}, p99 ${ms(report.p99_ms)}`,
    `  errors ${report.error_rate === null ? 'n/a' : `${formatNumber(report.error_rate * 100)}%`}, balance mismatches ${report.balance_mismatches ?? 'not reconciled'}`,
    `  refusals ${Object.entries(report.refusals).map(([code, n]) => `${code}=${n}`).join(' ')}`,
    '',
    '  thresholds',
    ...report.thresholds.passed.map((t) => `    ${paint(true, '✓')} ${t}`),
    ...report.thresholds.failed.map((t) => `    ${paint(false, '✗')} ${t}`),
    '',
    '  metrics',
  ];
  const names = Object.keys(data.metrics).sort();
  const width = Math.max(0, ...names.map((n) => n.length));
  for (const name of names) {
    const metric = data.metrics[name];
    if (metric) lines.push(`    ${name.padEnd(width)}  ${describeMetric(metric)}`);
  }
  return `${lines.join('\n')}\n\n`;
}

export function summaryHandler(scenario: string, shape: string) {
  return (data: SummaryData): Record<string, string> => {
    const report = loadReport(scenario, shape, data, Date.now());
    return {
      stdout: textSummary(report, data, data.state.isStdOutTTY),
      [`${config.reportDir}/${scenario}.json`]: `${JSON.stringify(report, null, 2)}\n`,
    };
  };
}
