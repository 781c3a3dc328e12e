// Kiosk payments: a customer types phone and PIN at their shop's kiosk, which pays with a fresh
// Idempotency-Key. Every PIN is typed right, so a single pin_locked means the PIN counting is wrong.

import { loadTest, type LoadData } from '../lib/lifecycle.ts';
import { kioskPayment } from '../lib/journeys.ts';

const test = loadTest('kiosk-payment', { shape: 'average', thresholds: { pin_locked: ['count==0'] } });

export const options = test.options;
export const handleSummary = test.handleSummary;
export { setup, teardown } from '../lib/lifecycle.ts';

export default function (data: LoadData): void {
  kioskPayment(data);
}
