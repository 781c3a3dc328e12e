// What one phase of the benchmark measured: every answer's latency and outcome, kept whole (a ten
// second phase is at most a few hundred thousand numbers), so percentiles are exact, not bucketed.

import { REFUSALS, type Outcome, type Refusal } from '../../../k6/lib/journey-rules.ts';

/** Nearest-rank percentile of values sorted ascending; null when there are none. */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface LatencySummary {
  requests: number;
  errors: number;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
}

export interface SeriesPoint extends LatencySummary {
  /** Seconds since the measured window opened; the point covers [t_s, t_s + 1). */
  t_s: number;
}

export interface PhaseSummary extends LatencySummary {
  duration_ms: number;
  rps: number;
  error_rate: number;
  refusals: Record<Refusal, number>;
  latency_series: SeriesPoint[];
  /** The same per kind of request, for phases that mix several. */
  by_request: Record<string, LatencySummary & { refusals: number }>;
}

const round = (value: number | null) => (value === null ? null : Math.round(value * 100) / 100);

class Samples {
  private latencies: number[] = [];
  errors = 0;
  refused = 0;

  add(latencyMs: number, outcome: Outcome): void {
    this.latencies.push(latencyMs);
    if (outcome === 'error') this.errors += 1;
    else if (outcome !== 'ok') this.refused += 1;
  }

  summary(): LatencySummary {
    const sorted = Float64Array.from(this.latencies).sort();
    return {
      requests: sorted.length,
      errors: this.errors,
      p50_ms: round(percentile(sorted, 50)),
      p95_ms: round(percentile(sorted, 95)),
      p99_ms: round(percentile(sorted, 99)),
    };
  }
}

/**
 * Collects a phase's answers. Times are performance.now() milliseconds; an answer belongs to the
 * second in which its request was sent (or, in the open loop, was due).
 */
export class PhaseRecorder {
  private readonly all = new Samples();
  private readonly seconds: Samples[] = [];
  private readonly byName = new Map<string, Samples>();
  private readonly refusals = Object.fromEntries(REFUSALS.map((r) => [r, 0])) as Record<Refusal, number>;
  /** The first few unexpected answers, so a failing run says why. */
  readonly errorSamples: string[] = [];

  constructor(readonly windowStart: number) {}

  record(name: string, sentAt: number, latencyMs: number, outcome: Outcome, why?: string): void {
    this.all.add(latencyMs, outcome);
    const second = Math.max(0, Math.floor((sentAt - this.windowStart) / 1000));
    this.seconds[second] ??= new Samples();
    this.seconds[second].add(latencyMs, outcome);
    let named = this.byName.get(name);
    if (!named) {
      named = new Samples();
      this.byName.set(name, named);
    }
    named.add(latencyMs, outcome);
    if (outcome !== 'ok' && outcome !== 'error') this.refusals[outcome] += 1;
    if (outcome === 'error' && why !== undefined && this.errorSamples.length < 5) this.errorSamples.push(`${name}: ${why}`);
  }

  summarize(durationMs: number): PhaseSummary {
    const total = this.all.summary();
    const series: SeriesPoint[] = [];
    for (let t = 0; t < this.seconds.length; t++) {
      series.push({ t_s: t, ...(this.seconds[t]?.summary() ?? { requests: 0, errors: 0, p50_ms: null, p95_ms: null, p99_ms: null }) });
    }
    const byRequest: PhaseSummary['by_request'] = {};
    for (const [name, samples] of [...this.byName].sort(([a], [b]) => a.localeCompare(b))) {
      byRequest[name] = { ...samples.summary(), refusals: samples.refused };
    }
    return {
      ...total,
      duration_ms: Math.round(durationMs),
      rps: Math.round((total.requests / (durationMs / 1000)) * 10) / 10,
      error_rate: total.requests === 0 ? 0 : total.errors / total.requests,
      refusals: { ...this.refusals },
      latency_series: series,
      by_request: byRequest,
    };
  }
}
