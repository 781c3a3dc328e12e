// Named load shapes: what distinguishes a smoke run from a stress run is only the shape of the
// traffic, never what a virtual user does. All but smoke and contention are open models (an
// arrival rate of journeys per second), so a slow stack shows up as latency and dropped
// iterations instead of quietly lowering the load. RATE, VUS and DURATION override the defaults.

import type { Scenario } from 'k6/options';
import { config } from './config.ts';
import type { ShapeName } from './shape-names.ts';

/** Journeys per second at the plateau of the average shape: the seed asks for > 100 req/s. */
const DEFAULT_RATE = 150;
const DEFAULT_VUS = 50;

function arrivalVUs() {
  const preAllocatedVUs = config.vus ?? DEFAULT_VUS;
  return { preAllocatedVUs, maxVUs: preAllocatedVUs * 4 };
}

export function loadShape(name: ShapeName): Scenario {
  const rate = config.rate ?? DEFAULT_RATE;
  switch (name) {
    // Does every journey work at all? One user, no think time.
    case 'smoke':
      return { executor: 'constant-vus', vus: config.vus ?? 1, duration: config.duration ?? '30s' };
    // The traffic we expect: ramp up, hold the plateau we judge, ramp down.
    case 'average':
      return {
        executor: 'ramping-arrival-rate',
        startRate: 0,
        timeUnit: '1s',
        ...arrivalVUs(),
        stages: [
          { duration: '1m', target: rate },
          { duration: config.duration ?? '5m', target: rate },
          { duration: '30s', target: 0 },
        ],
      };
    // Past the expected traffic in steps, to find where the criteria stop holding.
    case 'stress': {
      const plateau = config.duration ?? '3m';
      return {
        executor: 'ramping-arrival-rate',
        startRate: 0,
        timeUnit: '1s',
        ...arrivalVUs(),
        stages: [1, 2, 3, 4].flatMap((step) => [
          { duration: '1m', target: rate * step },
          { duration: plateau, target: rate * step },
        ]).concat([{ duration: '1m', target: 0 }]),
      };
    }
    // A sudden burst from a quiet baseline and back: does the stack recover, not only survive?
    case 'spike': {
      const baseline = Math.max(1, Math.round(rate / 5));
      return {
        executor: 'ramping-arrival-rate',
        startRate: baseline,
        timeUnit: '1s',
        ...arrivalVUs(),
        stages: [
          { duration: '30s', target: baseline },
          { duration: '10s', target: rate * 5 },
          { duration: config.duration ?? '1m', target: rate * 5 },
          { duration: '10s', target: baseline },
          { duration: '1m', target: baseline },
          { duration: '10s', target: 0 },
        ],
      };
    }
    // The expected traffic for a long time: leaks, growing tables, expiring sessions.
    case 'soak':
      return {
        executor: 'constant-arrival-rate',
        rate,
        timeUnit: '1s',
        duration: config.duration ?? '1h',
        ...arrivalVUs(),
      };
    // A fixed crowd that never lets go: every VU always has a request in flight.
    case 'contention':
      return { executor: 'constant-vus', vus: config.vus ?? DEFAULT_VUS, duration: config.duration ?? '1m' };
  }
}
