// Owners and managers cancel mistaken top-ups: each VU tops up, then cancels a top-up it made earlier
// (journey-rules.ts, JOURNEY.cancel); each reversal must apply exactly once.

import { loadTest, type LoadData } from '../lib/lifecycle.ts';
import { cancelEarlierCharge } from '../lib/journeys.ts';

const test = loadTest('cancel', { shape: 'average' });

export const options = test.options;
export const handleSummary = test.handleSummary;
export { setup, teardown } from '../lib/lifecycle.ts';

export default function (data: LoadData): void {
  cancelEarlierCharge(data);
}
