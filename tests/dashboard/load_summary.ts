// The shape itself is k6/lib/load-summary.ts, which k6's handleSummary() writes and the bench's
// phases satisfy; this module holds what the dashboard does with it.
import type { LoadSummary } from '../../k6/lib/load-summary.ts';

export type { LoadSample, LoadSummary } from '../../k6/lib/load-summary.ts';

/** The seed report's criteria for going commercial: the floor every load run is held to. */
export const SEED_CRITERIA = {
  p95_ms: { below: 500 },
  error_rate: { below: 0.01 },
  rps: { above: 100 },
  balance_mismatches: { equals: 0 },
} as const;

export type CriterionName = keyof typeof SEED_CRITERIA;

export interface CriterionCheck {
  value: number | null;
  pass: boolean;
}

/** A figure that was not measured is not a pass: an unknown mismatch count is not zero. */
export function checkCriteria(summary: LoadSummary): Record<CriterionName, CriterionCheck> {
  const check = (value: number | null, ok: (v: number) => boolean): CriterionCheck => ({
    value,
    pass: value !== null && ok(value),
  });
  return {
    p95_ms: check(summary.p95_ms, (v) => v < SEED_CRITERIA.p95_ms.below),
    error_rate: check(summary.error_rate, (v) => v < SEED_CRITERIA.error_rate.below),
    rps: check(summary.rps, (v) => v > SEED_CRITERIA.rps.above),
    balance_mismatches: check(summary.balance_mismatches, (v) => v === SEED_CRITERIA.balance_mismatches.equals),
  };
}

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** Checks a parsed summary against the shape; returns what is wrong, so a bad file is shown, not hidden. */
export function loadSummaryProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['not an object'];
  const record = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const field of ['scenario', 'started_at'] as const) {
    if (typeof record[field] !== 'string' || record[field] === '') problems.push(`${field} must be a non-empty string`);
  }
  if (typeof record.started_at === 'string' && Number.isNaN(Date.parse(record.started_at))) {
    problems.push('started_at must be an ISO 8601 date');
  }
  for (const field of ['requests', 'rps'] as const) {
    if (!isNumber(record[field])) problems.push(`${field} must be a number`);
  }
  for (const field of ['p50_ms', 'p95_ms', 'p99_ms', 'error_rate', 'balance_mismatches'] as const) {
    if (record[field] !== null && !isNumber(record[field])) problems.push(`${field} must be a number or null`);
  }
  if (record.latency_series !== undefined) {
    if (!Array.isArray(record.latency_series)) problems.push('latency_series must be an array');
    else {
      record.latency_series.forEach((sample: unknown, index) => {
        const point = (sample ?? {}) as Record<string, unknown>;
        if (!isNumber(point.t_s)) problems.push(`latency_series[${index}].t_s must be a number`);
        for (const field of ['p50_ms', 'p95_ms', 'p99_ms'] as const) {
          if (point[field] !== null && !isNumber(point[field])) problems.push(`latency_series[${index}].${field} must be a number or null`);
        }
      });
    }
  }
  return problems;
}

/** The summaries a file holds: one, an array, or the bench report's `phases`. */
export function summariesIn(content: unknown): unknown[] {
  if (Array.isArray(content)) return content;
  const phases = (content as { phases?: unknown } | null)?.phases;
  return Array.isArray(phases) ? phases : [content];
}
