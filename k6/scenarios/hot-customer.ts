// Contention: every VU pays, deducts or tops up the same customer, so all wait on one row lock. The
// books must still balance, no payment may overspend, and no PIN typed right may ever lock.

import { loadTest, type LoadData } from '../lib/lifecycle.ts';
import { hotCustomer } from '../lib/journeys.ts';

const test = loadTest('hot-customer', { shape: 'contention', thresholds: { pin_locked: ['count==0'] } });

export const options = test.options;
export const handleSummary = test.handleSummary;
export { setup, teardown } from '../lib/lifecycle.ts';

export default function (data: LoadData): void {
  hotCustomer(data);
}
