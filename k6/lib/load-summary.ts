// The shape of a load run's summary in reports/load/*.json, written once for its writers (k6's
// summary.ts, the Node bench) and its reader (tests/dashboard/load_summary.ts). No k6 import, so Node
// loads it too.

/**
 * What the dashboard reads from reports/load/*.json: the summary of one measured load run. k6's
 * handleSummary() (summary.ts) writes one per file (its LoadReport extends this); the Node bench writes one per phase in
 * the `phases` array of its report. A file may hold one summary, an array of them, or an object
 * with a `phases` array. tests/README.md documents the shape for their authors.
 */
export interface LoadSummary {
  /** e.g. "kiosk-payment", "hot-customer", "bench/rpc-deduct". */
  scenario: string;
  /** ISO 8601 instant the measured phase started. */
  started_at: string;
  /** The load shape or the tool, shown beside the scenario. */
  shape?: string;
  tool?: string;
  duration_ms?: number;
  requests: number;
  /** Requests per second over the measured phase. */
  rps: number;
  /** null when nothing was measured. */
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  /** Unexpected failures over requests, 0..1; business refusals such as insufficient_balance are not errors. */
  error_rate: number | null;
  /** Rows of reconcile_balances() after the run; null when the reconciliation did not run (unknown, not zero). */
  balance_mismatches: number | null;
  /** Business refusals by code, counted apart from errors. */
  refusals?: Record<string, number>;
  /** One point per second of the run, for the latency chart (k6's end-of-test summary has none). */
  latency_series?: LoadSample[];
}

export interface LoadSample {
  /** Seconds since the measured window opened. */
  t_s: number;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  requests?: number;
}

