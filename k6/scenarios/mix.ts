// A realistic day at many shops at once: kiosk payments (some with a mistyped PIN), counter top-ups
// and deducts, cancels, and the frontend's searches and histories. Each journey's latency is held
// to the SLO on its own, so a slow one cannot hide behind many fast reads.

import { loadTest, type LoadData } from '../lib/lifecycle.ts';
import { realisticMix } from '../lib/journeys.ts';
import { REQUEST } from '../lib/journey-rules.ts';

const test = loadTest('mix', {
  shape: 'average',
  thresholds: Object.fromEntries(Object.values(REQUEST).map((name) => [`http_req_duration{name:${name}}`, ['p(95)<500']])),
});

export const options = test.options;
export const handleSummary = test.handleSummary;
export { setup, teardown } from '../lib/lifecycle.ts';

export default function (data: LoadData): void {
  realisticMix(data);
}
