// Staff top up customers' balances at the counter.

import { loadTest, type LoadData } from '../lib/lifecycle.ts';
import { staffCharge } from '../lib/journeys.ts';

const test = loadTest('staff-charge', { shape: 'average' });

export const options = test.options;
export const handleSummary = test.handleSummary;
export { setup, teardown } from '../lib/lifecycle.ts';

export default function (data: LoadData): void {
  staffCharge(data);
}
