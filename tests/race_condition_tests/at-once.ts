// What the race-condition suite shares: sending many requests so that they are really on the wire
// together (and proving it), tallying their outcomes, and checking the books afterwards.
import dc from 'node:diagnostics_channel';
import { expect } from 'vitest';
import { mismatches } from '../database/support.ts';
import { db, stackEnv } from '../support/index.ts';
import { signedAmount } from '../support/movements.ts';
import { balanceOf, type FunctionAnswer } from '../functions/http.ts';

// The floor for "real concurrency": at least this many requests in flight at once.
export const IN_FLIGHT = 50;

// undici (Node's fetch) reports every request it writes to a socket and every response head it
// reads on these channels, so the number of requests in flight at once is measured on the wire,
// not inferred from how many promises the test made.
const SENT = 'undici:client:sendHeaders';
const ANSWERED = 'undici:request:headers';
const FAILED = 'undici:request:error';

interface UndiciRequest {
  path: string;
}

export interface Burst {
  answers: FunctionAnswer[];
  // How many answers had each outcome, e.g. { '200': 10, '409 insufficient_balance': 40 }.
  outcomes: Record<string, number>;
  // The most requests written to their sockets with no response head read yet.
  peakInFlight: number;
  // Distinct TCP connections that carried the burst (undici sends one request at a time on each).
  connections: number;
}

// A burst on connections that are already open: every request is then written in the same turn of
// the event loop, before any response can be read, so all of them reach the server together.
// Without it the burst would race its own TCP handshakes against the first answers.
async function openConnections(count: number): Promise<void> {
  const { API_URL } = stackEnv();
  await Promise.all(
    Array.from({ length: count }, async () => {
      const response = await fetch(`${API_URL}/functions/v1/health`, {
        method: 'OPTIONS',
        headers: { origin: 'http://localhost', 'access-control-request-method': 'POST' },
      });
      await response.arrayBuffer();
    }),
  );
  // undici hands a socket back to its pool a turn after the body ends; a burst sent before that
  // queues a few requests behind sockets still finishing, and they reach the wire after the first answers.
  await new Promise((resolve) => setTimeout(resolve, 50));
}

/**
 * Starts `count` function calls at once, asserts that all of them were in flight together, and
 * prints what came back so that a run shows its figures.
 */
export async function atOnce(
  label: string,
  count: number,
  request: (index: number) => Promise<FunctionAnswer>,
): Promise<Burst> {
  await openConnections(count);
  const inFlight = new Set<UndiciRequest>();
  const sockets = new Set<unknown>();
  let peakInFlight = 0;
  const onSent = (message: unknown) => {
    const { request: sent, socket } = message as { request: UndiciRequest; socket: unknown };
    if (!sent.path.startsWith('/functions/v1/')) return;
    inFlight.add(sent);
    sockets.add(socket);
    peakInFlight = Math.max(peakInFlight, inFlight.size);
  };
  const onDone = (message: unknown) => {
    inFlight.delete((message as { request: UndiciRequest }).request);
  };
  dc.subscribe(SENT, onSent);
  dc.subscribe(ANSWERED, onDone);
  dc.subscribe(FAILED, onDone);
  try {
    const answers = await Promise.all(Array.from({ length: count }, (_, index) => request(index)));
    const burst = { answers, outcomes: tally(answers), peakInFlight, connections: sockets.size };
    console.log(
      `[race] ${label}: ${burst.peakInFlight} in flight at once on ${burst.connections} connections -> ${JSON.stringify(burst.outcomes)}`,
    );
    expect({ peakInFlight: burst.peakInFlight, connections: burst.connections }).toEqual({
      peakInFlight: count,
      connections: count,
    });
    return burst;
  } finally {
    dc.unsubscribe(SENT, onSent);
    dc.unsubscribe(ANSWERED, onDone);
    dc.unsubscribe(FAILED, onDone);
  }
}

function tally(answers: FunctionAnswer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) {
    const code: unknown = answer.body?.error?.code;
    const outcome = typeof code === 'string' ? `${answer.status} ${code}` : String(answer.status);
    counts[outcome] = (counts[outcome] ?? 0) + 1;
  }
  return counts;
}

export interface LedgerRow {
  id: string;
  type: 'charge' | 'deduct' | 'charge_cancel' | 'deduct_cancel' | 'bonus' | 'refund';
  amount: number;
  bonus_amount: number;
  balance_after: number;
  bonus_balance_after: number;
  sequence: number;
  original_transaction_id: string | null;
  idempotency_key: string | null;
  actor_user_id: string | null;
  actor_kiosk_id: string | null;
}

/** A customer's ledger as stored, read past RLS. */
export async function ledgerOf(customerId: string): Promise<LedgerRow[]> {
  const { rows } = await db().query(
    `select id, type, amount::float8 as amount, bonus_amount::float8 as bonus_amount, balance_after::float8 as balance_after,
            bonus_balance_after::float8 as bonus_balance_after, sequence::float8 as sequence, original_transaction_id,
            idempotency_key, actor_user_id, actor_kiosk_id
       from public.transactions where customer_id = $1 order by sequence`,
    [customerId],
  );
  return rows as LedgerRow[];
}

const signedBonus = (row: Pick<LedgerRow, 'type' | 'bonus_amount'>): number => signedAmount(row, 'bonus_amount');

/**
 * In sequence order (1, 2, 3, ... with no gap) each row moves both parts from the balances the row
 * before it left: the order the customer's row lock gave them. So the ledger is one serial history from
 * 0: no two movements started from one balance (a lost update would), and the last balance_after is the
 * sum of every signed amount.
 */
export function expectOneNumberedChain(ledger: LedgerRow[]): void {
  expect(ledger.map((row) => row.sequence)).toEqual(ledger.map((_, index) => index + 1));
  let balance = 0;
  let bonus = 0;
  for (const row of ledger) {
    balance += signedAmount(row);
    bonus += signedBonus(row);
    expect([row.sequence, row.balance_after, row.bonus_balance_after]).toEqual([row.sequence, balance, bonus]);
  }
}

/** The end of every race: the customer's books as expected, and no customer anywhere out of balance. */
export async function expectBooksBalance(customerId: string, expectedBalance: number): Promise<LedgerRow[]> {
  const ledger = await ledgerOf(customerId);
  expect(await balanceOf(customerId)).toBe(expectedBalance);
  // With the chain below, the signed sum is the chain's last balance_after: the history ends at the balance.
  expect(ledger.reduce((sum, row) => sum + signedAmount(row), 0)).toBe(expectedBalance);
  expectOneNumberedChain(ledger);
  expect(await mismatches()).toEqual([]);
  return ledger;
}
