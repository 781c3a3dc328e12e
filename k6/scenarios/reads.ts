// The shops' frontend: search customers by a name or phone fragment, then open a customer's history,
// through PostgREST and RLS as a signed-in staff member.

import { loadTest, type LoadData } from '../lib/lifecycle.ts';
import { staffReads } from '../lib/journeys.ts';

const test = loadTest('reads', { shape: 'average' });

export const options = test.options;
export const handleSummary = test.handleSummary;
export { setup, teardown } from '../lib/lifecycle.ts';

export default function (data: LoadData): void {
  staffReads(data);
}
