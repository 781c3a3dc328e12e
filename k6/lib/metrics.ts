// The custom metrics every scenario shares, and the one place that decides whether an answer was
// correct, a business refusal, or an error.
//
// A refusal (the customer's balance is too low, their PIN is locked) is the product working: it is
// counted under its own name and never as an error, so the error rate measures only failures of
// the system. A refusal that a request cannot legitimately get is an error like any other.

import { check } from 'k6';
import { Counter, Rate } from 'k6/metrics';
import { jsonBody, type Response } from './http.ts';
import { judge, REFUSALS, type Expectation, type Outcome, type Refusal } from './journey-rules.ts';

export const errors = new Rate('errors');

export const refusals = Object.fromEntries(REFUSALS.map((refusal) => [refusal, new Counter(refusal)])) as Record<Refusal, Counter>;

/** Customers whose balance differs from their ledger after the run (teardown, must stay 0). */
export const balanceMismatches = new Counter('balance_mismatches');

/** Reconciliations that ran to the end: proves balance_mismatches was measured, not merely empty. */
export const reconciliations = new Counter('reconciliations');

let errorsLogged = 0;
const ERRORS_LOGGED_PER_VU = 5;

/**
 * Records one answer as ok, a named refusal, or an error (journey-rules.ts judges it), and logs the
 * first few errors of each VU with their status and body so that a failing run says why. The body is
 * parsed here once and handed back, for a journey that remembers what it made.
 */
export function recordOutcome(res: Response, name: string, expectation: Expectation = {}): { outcome: Outcome; body: unknown } {
  const body = jsonBody(res);
  const verdict = judge({ status: res.status, body, replayed: res.headers['Idempotent-Replayed'] === 'true' }, expectation);
  const { outcome } = verdict;
  errors.add(outcome === 'error', { name });
  if (outcome !== 'ok' && outcome !== 'error') refusals[outcome].add(1, { name });
  check(res, { [`${name}: answered as the contract says`]: () => outcome !== 'error' });
  if (verdict.outcome === 'error' && errorsLogged < ERRORS_LOGGED_PER_VU) {
    errorsLogged += 1;
    console.warn(`${name}: ${verdict.why}: ${res.status} ${res.error ?? ''} ${String(res.body).slice(0, 300)}`);
  }
  return { outcome, body };
}
