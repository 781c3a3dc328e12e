// Owners and managers cancel a mistaken top-up right after making it: the charge, then its
// reversal, which must apply exactly once.

import { loadTest, type LoadData } from '../lib/lifecycle.ts';
import { chargeThenCancel } from '../lib/journeys.ts';

const test = loadTest('cancel', { shape: 'average' });

export const options = test.options;
export const handleSummary = test.handleSummary;
export { setup, teardown } from '../lib/lifecycle.ts';

export default function (data: LoadData): void {
  chargeThenCancel(data);
}
