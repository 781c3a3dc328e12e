// The custom metrics every scenario shares, and the one place that decides whether an answer was
// correct, a business refusal, or an error.
//
// A refusal (the customer's balance is too low, their PIN is locked) is the product working: it is
// counted under its own name and never as an error, so the error rate measures only failures of
// the system. A refusal that a request cannot legitimately get is an error like any other.

import { check } from 'k6';
import { Counter, Rate } from 'k6/metrics';
import { errorCode, jsonBody, type Response } from './http.ts';
import { REFUSALS, refusalStatus, type Outcome, type Refusal } from './journey-rules.ts';

export const errors = new Rate('errors');

export const refusals = Object.fromEntries(REFUSALS.map((refusal) => [refusal, new Counter(refusal)])) as Record<Refusal, Counter>;

/** Customers whose balance differs from their ledger after the run (teardown, must stay 0). */
export const balanceMismatches = new Counter('balance_mismatches');

/** Reconciliations that ran to the end: proves balance_mismatches was measured, not merely empty. */
export const reconciliations = new Counter('reconciliations');

let errorsLogged = 0;
const ERRORS_LOGGED_PER_VU = 5;

export interface Expectation {
  /** Refusals this request may legitimately get. */
  allowed?: readonly Refusal[];
  /** The request was sent to be refused (a wrong PIN): a 2xx is then the error. */
  mustRefuse?: boolean;
  /** What a 2xx body must say; a fast wrong answer is still an error. */
  answerIsRight?: (body: unknown, res: Response) => boolean;
}

/**
 * Records one answer as ok, a named refusal, or an error, and logs the first few errors of each VU
 * with their status and code so that a failing run says why.
 */
export function recordOutcome(res: Response, name: string, expectation: Expectation = {}): Outcome {
  const outcome = classify(res, expectation);
  errors.add(outcome === 'error', { name });
  if (outcome !== 'ok' && outcome !== 'error') refusals[outcome].add(1, { name });
  check(res, { [`${name}: answered as the contract says`]: () => outcome !== 'error' });
  if (outcome === 'error' && errorsLogged < ERRORS_LOGGED_PER_VU) {
    errorsLogged += 1;
    console.warn(`${name}: unexpected ${res.status} ${res.error ?? ''} ${String(res.body).slice(0, 300)}`);
  }
  return outcome;
}

function classify(res: Response, { allowed = [], mustRefuse = false, answerIsRight }: Expectation): Outcome {
  if (res.status >= 200 && res.status < 300) {
    if (mustRefuse) return 'error';
    return !answerIsRight || answerIsRight(jsonBody(res), res) ? 'ok' : 'error';
  }
  const code = errorCode(res);
  const refusal = allowed.find((candidate) => candidate === code);
  return refusal !== undefined && refusalStatus(refusal) === res.status ? refusal : 'error';
}
