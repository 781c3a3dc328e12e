// The seed's criteria for going commercial, as one thresholds block. A scenario may add
// thresholds of its own; it never loosens these.
//
// balance_mismatches is emitted once, by teardown(). k6 evaluates thresholds every two seconds
// while the test runs (skipping metrics that have no sample yet) and once more after teardown,
// over every sample including teardown's, and that last evaluation decides the exit code and the
// summary. But that final evaluation also judges metrics that never got a sample: an empty
// Counter has count 0, so `count==0` alone would pass when the reconciliation never ran (teardown
// failed, timed out, or --no-teardown). `reconciliations count==1` closes that hole.

import type { Threshold } from 'k6/options';
import type { ShapeName } from './shape-names.ts';

export type Thresholds = Record<string, Threshold[]>;

export const SLO: Thresholds = {
  http_req_duration: ['p(95)<500'],
  errors: ['rate<0.01'],
  http_reqs: ['rate>100'],
  balance_mismatches: ['count==0'],
  reconciliations: ['count==1'],
};

/**
 * The criteria for one run. A smoke run (one VU) checks that every journey works; the throughput
 * floor measures capacity, which a single user never tests, so it is the one criterion it skips.
 */
export function thresholdsFor(shape: ShapeName, scenarioThresholds: Thresholds = {}): Thresholds {
  const criteria: Thresholds = { ...SLO };
  if (shape === 'smoke') delete criteria.http_reqs;
  for (const [metric, rules] of Object.entries(scenarioThresholds)) {
    criteria[metric] = [...(criteria[metric] ?? []), ...rules];
  }
  return criteria;
}
