// The requests each phase sends, and how each answer is judged: ok, a refusal the product is meant
// to give (counted on its own, never as an error), or an error. The same journeys and the same
// rules as k6/lib/journeys.ts and k6/lib/metrics.ts, written for Node.

import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Answer, Iteration } from './driver.ts';
import type { BenchCustomer, BenchShop, Fixture, StaffSession } from './fixture.ts';
import { describeAnswer, withIdempotencyKey, type Headers, type HttpAnswer, type HttpClient } from './http.ts';
import { isRefusal, type Refusal } from './stats.ts';

/** The status docs/contract.md gives each refusal. */
export const REFUSAL_STATUS: Record<Refusal, number> = {
  insufficient_balance: 409,
  balance_ceiling_exceeded: 409,
  pin_invalid: 401,
  pin_locked: 423,
  nothing_to_refund: 409,
};

/**
 * The phases that compare paths deduct 10 KRW: some 30,000 calls a phase spread over the dataset's
 * customers take a few thousand won from balances topped up to a million, so no call is refused.
 */
export const FLOOR_AMOUNT = 10;

/** The requests that move money: each success must have added exactly one ledger row. */
export const MONEY_REQUESTS: ReadonlySet<string> = new Set([
  'sql_bare_deduct',
  'sql_deduct_balance',
  'sql_kiosk_pay',
  'rpc_deduct_balance',
  'rpc_kiosk_pay',
  'staff_deduct',
  'staff_charge',
  'kiosk_pay',
  'cancel',
  'partial_cancel',
  'refund',
]);

const randomIndex = (length: number) => Math.floor(Math.random() * length);
const randomItem = <T>(items: readonly T[]): T => items[randomIndex(items.length)]!;

/** A whole-won amount between min and max, in steps, as prices and top-ups are. */
const amountBetween = (min: number, max: number, step: number) => min + step * randomIndex(Math.floor((max - min) / step) + 1);

interface MoneyResult {
  transaction?: { id?: unknown; amount?: unknown; balance_after?: unknown };
  balance?: unknown;
  bonus?: unknown;
  replayed?: unknown;
}

/**
 * A fresh key must never come back as a replay, and the new balance is the ledger row's (plus, on a
 * charge, the promotion's bonus written right after it). `amount` undefined: any positive amount (a
 * refund takes whatever the balance was).
 */
export function isRightMoneyAnswer(body: unknown, amount: number | undefined): boolean {
  const result = body as MoneyResult | null;
  const bonus = typeof result?.bonus === 'number' ? result.bonus : 0;
  return (
    typeof result?.transaction?.id === 'string' &&
    (amount === undefined ? typeof result.transaction.amount === 'number' && result.transaction.amount > 0 : result.transaction.amount === amount) &&
    typeof result.balance === 'number' &&
    result.balance >= 0 &&
    result.balance === Number(result.transaction.balance_after) + bonus &&
    result.replayed !== true
  );
}

export interface Expectation {
  allowed?: readonly Refusal[];
  /** Sent to be refused (a wrong PIN): a success is then the error. */
  mustRefuse?: boolean;
  isRight: (body: unknown) => boolean;
}

/**
 * An HTTP answer's outcome. The refusal's code is read from the edge functions' shape
 * `{ error: { code } }`, from PostgREST's `{ code }` (an RPC that raised), or from a PIN refusal,
 * which kiosk_pay returns with 200 so that the failure count commits.
 */
export function judgeHttp(name: string, answer: HttpAnswer, expectation: Expectation): Answer {
  const { allowed = [], mustRefuse = false } = expectation;
  const body = answer.body as { error?: { code?: unknown }; code?: unknown; ok?: unknown } | null;
  if (answer.status >= 200 && answer.status < 300 && body?.ok !== false) {
    if (!mustRefuse && expectation.isRight(answer.body) && answer.headers['idempotent-replayed'] !== 'true') {
      return { name, outcome: 'ok' };
    }
    return { name, outcome: 'error', why: `${mustRefuse ? 'accepted what must be refused: ' : 'wrong answer: '}${describeAnswer(answer)}` };
  }
  const code = body?.error?.code ?? body?.code;
  const pinRefusal = body?.ok === false && answer.status === 200;
  if (isRefusal(code) && allowed.includes(code) && (pinRefusal || REFUSAL_STATUS[code] === answer.status)) {
    return { name, outcome: code };
  }
  return { name, outcome: 'error', why: describeAnswer(answer) };
}

/** A refusal raised by SQL arrives over pg as SQLSTATE PGRST with the contract's JSON as message. */
export function judgeSqlFailure(name: string, error: unknown, allowed: readonly Refusal[]): Answer {
  const failure = error as { code?: unknown; message?: unknown };
  if (failure?.code === 'PGRST' && typeof failure.message === 'string') {
    try {
      const code = (JSON.parse(failure.message) as { code?: unknown }).code;
      if (isRefusal(code) && allowed.includes(code)) return { name, outcome: code };
    } catch {
      // Not the contract's JSON: an error like any other.
    }
  }
  return { name, outcome: 'error', why: `${String(failure?.code)} ${String(failure?.message).slice(0, 200)}` };
}

function staffHeaders(fx: Fixture, session: StaffSession): Headers {
  return { apikey: fx.target.anonKey, authorization: `Bearer ${session.accessToken}` };
}

function kioskHeaders(fx: Fixture, kioskKey: string): Headers {
  return { apikey: fx.target.anonKey, authorization: `Bearer ${fx.target.anonKey}`, 'x-kiosk-key': kioskKey };
}

function serviceHeaders(fx: Fixture): Headers {
  return { apikey: fx.target.serviceRoleKey, authorization: `Bearer ${fx.target.serviceRoleKey}` };
}

const shopOf = (fx: Fixture, customer: BenchCustomer): BenchShop => fx.shops.get(customer.shopId)!;
const clerkOf = (fx: Fixture, customer: BenchCustomer) => randomItem(shopOf(fx, customer).staff);

/** Any digit string of the same length that is not the PIN. */
const wrongPin = (pin: string) => `${pin.slice(0, -1)}${(Number(pin.at(-1)) + 1) % 10}`;

// 1. The floor: deduct_balance itself, as a prepared statement over the pool's connections.
export function sqlDeduct(fx: Fixture, db: pg.Pool): Iteration {
  const name = 'sql_deduct_balance';
  return async () => {
    const customer = randomItem(fx.customers);
    try {
      const { rows } = await db.query<{ result: unknown }>({
        name: 'bench_deduct_balance',
        text: 'select public.deduct_balance($1, $2, $3, $4, $5) as result',
        values: [clerkOf(fx, customer).userId, customer.id, FLOOR_AMOUNT, randomUUID(), null],
      });
      return isRightMoneyAnswer(rows[0]?.result, FLOOR_AMOUNT)
        ? { name, outcome: 'ok' }
        : { name, outcome: 'error', why: `wrong answer: ${JSON.stringify(rows[0]?.result).slice(0, 200)}` };
    } catch (error) {
      return judgeSqlFailure(name, error, ['insufficient_balance']);
    }
  };
}

// 1k. A kiosk payment the same way: public.kiosk_pay over pg as service_role (PIN check included),
// the SQL that /functions/v1/kiosk/pay ends in. A wrong PIN comes back as `{ ok: false, code }`.
export function sqlKioskPay(fx: Fixture, db: pg.Pool): Iteration {
  const name = 'sql_kiosk_pay';
  return async () => {
    const customer = randomItem(fx.customers);
    try {
      const { rows } = await db.query<{ result: unknown }>({
        name: 'bench_kiosk_pay',
        text: 'select public.kiosk_pay($1, $2, $3, $4, $5) as result',
        values: [randomItem(shopOf(fx, customer).kioskKeys), customer.phone, customer.pin, FLOOR_AMOUNT, randomUUID()],
      });
      const result = rows[0]?.result as { ok?: unknown; code?: unknown } | undefined;
      if (result?.ok === false && result.code === 'pin_locked') return { name, outcome: 'pin_locked' };
      return isRightMoneyAnswer(result, FLOOR_AMOUNT)
        ? { name, outcome: 'ok' }
        : { name, outcome: 'error', why: `wrong answer: ${JSON.stringify(result).slice(0, 200)}` };
    } catch (error) {
      return judgeSqlFailure(name, error, ['insufficient_balance']);
    }
  };
}

// 2. The same function through PostgREST, as the edge function's service-role client calls it.
export function rpcDeduct(fx: Fixture, http: HttpClient): Iteration {
  return async () => {
    const customer = randomItem(fx.customers);
    const answer = await http.post(
      '/rest/v1/rpc/deduct_balance',
      {
        p_actor_user_id: clerkOf(fx, customer).userId,
        p_customer_id: customer.id,
        p_amount: FLOOR_AMOUNT,
        p_idempotency_key: randomUUID(),
      },
      serviceHeaders(fx),
    );
    return judgeHttp('rpc_deduct_balance', answer, {
      allowed: ['insufficient_balance'],
      isRight: (body) => isRightMoneyAnswer(body, FLOOR_AMOUNT),
    });
  };
}

export function rpcKioskPay(fx: Fixture, http: HttpClient): Iteration {
  return async () => {
    const customer = randomItem(fx.customers);
    const answer = await http.post(
      '/rest/v1/rpc/kiosk_pay',
      {
        p_kiosk_key: randomItem(shopOf(fx, customer).kioskKeys),
        p_phone: customer.phone,
        p_pin: customer.pin,
        p_amount: FLOOR_AMOUNT,
        p_idempotency_key: randomUUID(),
      },
      serviceHeaders(fx),
    );
    return judgeHttp('rpc_kiosk_pay', answer, {
      allowed: ['insufficient_balance', 'pin_locked'],
      isRight: (body) => isRightMoneyAnswer(body, FLOOR_AMOUNT),
    });
  };
}

// 3. The full path: the gateway, the edge function (auth, zod, error mapping), PostgREST, SQL.
async function staffMoney(
  fx: Fixture,
  http: HttpClient,
  name: string,
  route: 'charge' | 'deduct',
  customer: BenchCustomer,
  amount: number,
  clerk: StaffSession = clerkOf(fx, customer),
): Promise<{ answer: HttpAnswer; judged: Answer }> {
  const answer = await http.post(
    `/functions/v1/transactions/${route}`,
    { customer_id: customer.id, amount, memo: 'bench' },
    withIdempotencyKey(staffHeaders(fx, clerk)),
  );
  const allowed: Refusal[] = route === 'charge' ? ['balance_ceiling_exceeded'] : ['insufficient_balance'];
  return { answer, judged: judgeHttp(name, answer, { allowed, isRight: (body) => isRightMoneyAnswer(body, amount) }) };
}

async function kioskPay(fx: Fixture, http: HttpClient, customer: BenchCustomer, amount: number, mistyped = false): Promise<Answer> {
  const answer = await http.post(
    '/functions/v1/kiosk/pay',
    { phone: customer.phone, pin: mistyped ? wrongPin(customer.pin) : customer.pin, amount },
    withIdempotencyKey(kioskHeaders(fx, randomItem(shopOf(fx, customer).kioskKeys))),
  );
  return judgeHttp('kiosk_pay', answer, {
    allowed: mistyped ? ['pin_invalid', 'pin_locked'] : ['insufficient_balance', 'pin_locked'],
    mustRefuse: mistyped,
    isRight: (body) => isRightMoneyAnswer(body, amount),
  });
}

export function edgeDeduct(fx: Fixture, http: HttpClient): Iteration {
  return async () => (await staffMoney(fx, http, 'staff_deduct', 'deduct', randomItem(fx.customers), FLOOR_AMOUNT)).judged;
}

export function edgeKioskPay(fx: Fixture, http: HttpClient): Iteration {
  return () => kioskPay(fx, http, randomItem(fx.customers), FLOOR_AMOUNT);
}

// 4. The realistic mix: reads through PostgREST as signed-in staff, writes through the functions.

interface Row {
  shop_id?: unknown;
  customer_id?: unknown;
  created_at?: unknown;
  [column: string]: unknown;
}

/** Digits search the phone, anything else the name, both as a fragment (ilike), as the frontend does. */
export async function searchCustomers(fx: Fixture, http: HttpClient): Promise<Answer> {
  const customer = randomItem(fx.customers);
  const byName = customer.name.length >= 2 && Math.random() < 0.5;
  const column = byName ? 'name' : 'phone';
  const fragment = byName ? customer.name.slice(-2) : customer.phone.slice(-4);
  const answer = await http.get(
    `/rest/v1/customers?select=id,shop_id,name,phone,current_balance&shop_id=eq.${customer.shopId}` +
      `&${column}=ilike.*${encodeURIComponent(fragment)}*&order=name.asc&limit=20`,
    staffHeaders(fx, clerkOf(fx, customer)),
  );
  return judgeHttp('search_customers', answer, {
    isRight: (body) =>
      Array.isArray(body) &&
      body.length >= 1 &&
      body.length <= 20 &&
      (body as Row[]).every((row) => row.shop_id === customer.shopId && String(row[column]).includes(fragment)),
  });
}

/** A customer's latest 20 ledger rows, newest first in their sequence, as the frontend's history view asks for them. */
export async function customerHistory(fx: Fixture, http: HttpClient): Promise<Answer> {
  const customer = randomItem(fx.customers);
  const answer = await http.get(
    `/rest/v1/transactions?select=id,customer_id,sequence,type,amount,balance_after,memo,created_at` +
      `&customer_id=eq.${customer.id}&order=sequence.desc&limit=20`,
    staffHeaders(fx, clerkOf(fx, customer)),
  );
  return judgeHttp('customer_history', answer, {
    isRight: (body) =>
      Array.isArray(body) &&
      body.length <= 20 &&
      (body as Row[]).every(
        (row, i, rows) => row.customer_id === customer.id && (i === 0 || Number(rows[i - 1]!.sequence) === Number(row.sequence) + 1),
      ),
  });
}

/** Shares of a day's traffic, as k6's mix: reads dominate, kiosks take most payments, cancels are rare. */
export const MIX_SHARES = {
  kiosk_pay: 0.3,
  staff_charge: 0.15,
  staff_deduct: 0.1,
  cancel: 0.03,
  partial_cancel: 0.015,
  refund: 0.005,
  search_customers: 0.2,
  customer_history: 0.2,
} as const;

/** Share of kiosk payments typed with a wrong PIN, as customers do. */
const WRONG_PIN_SHARE = 0.02;

/**
 * Each journey is one request, so the rate the open loop is given is the rate the stack gets. A
 * cancel reverses a top-up the mix made earlier (a mistaken charge, found and cancelled by an owner
 * or manager); before the first top-up has landed it tops up instead.
 */
export function realisticMix(fx: Fixture, http: HttpClient): Iteration {
  const charges: { transactionId: string; customer: BenchCustomer; amount: number }[] = [];
  const charge = async (): Promise<Answer> => {
    const customer = randomItem(fx.customers);
    const amount = amountBetween(10_000, 100_000, 10_000);
    const { answer, judged } = await staffMoney(fx, http, 'staff_charge', 'charge', customer, amount);
    if (judged.outcome === 'ok' && charges.length < 10_000) {
      const body = answer.body as { transaction: { id: string }; bonus?: number };
      // A charge's cancel takes back its promotion bonus too.
      charges.push({ transactionId: body.transaction.id, customer, amount: amount + (body.bonus ?? 0) });
    }
    return judged;
  };
  // A purchase partly returned: a deduct, then the cancel of half of it.
  const partialCancel = async (): Promise<Answer> => {
    const customer = randomItem(fx.customers);
    const amount = amountBetween(2_000, 20_000, 1_000);
    const { answer, judged } = await staffMoney(fx, http, 'staff_deduct', 'deduct', customer, amount);
    if (judged.outcome !== 'ok') return judged;
    const returned = await http.post(
      '/functions/v1/transactions/cancel',
      { transaction_id: (answer.body as { transaction: { id: string } }).transaction.id, amount: amount / 2, reason: 'bench: returned' },
      withIdempotencyKey(staffHeaders(fx, randomItem(shopOf(fx, customer).cancellers))),
    );
    return judgeHttp('partial_cancel', returned, { allowed: ['balance_ceiling_exceeded'], isRight: (body) => isRightMoneyAnswer(body, amount / 2) });
  };
  // A customer moving away takes the rest of their money back; an emptied balance has nothing to refund.
  const refund = async (): Promise<Answer> => {
    const customer = randomItem(fx.customers);
    const answer = await http.post(
      '/functions/v1/refunds',
      { customer_id: customer.id, method: 'transfer', memo: 'bench' },
      withIdempotencyKey(staffHeaders(fx, randomItem(shopOf(fx, customer).cancellers))),
    );
    return judgeHttp('refund', answer, {
      allowed: ['nothing_to_refund'],
      isRight: (body) => isRightMoneyAnswer(body, undefined) && (body as { balance: number }).balance === 0,
    });
  };
  const cancel = async (): Promise<Answer> => {
    const original = charges.splice(randomIndex(charges.length), 1)[0];
    if (!original) return charge();
    const answer = await http.post(
      '/functions/v1/transactions/cancel',
      { transaction_id: original.transactionId, reason: 'bench' },
      withIdempotencyKey(staffHeaders(fx, randomItem(shopOf(fx, original.customer).cancellers))),
    );
    // Other traffic may have spent the top-up in the meantime; refusing the cancel is then right.
    return judgeHttp('cancel', answer, {
      allowed: ['insufficient_balance'],
      isRight: (body) => isRightMoneyAnswer(body, original.amount),
    });
  };
  const journeys: [number, () => Promise<Answer>][] = [
    [MIX_SHARES.kiosk_pay, () => kioskPay(fx, http, randomItem(fx.customers), amountBetween(1_000, 15_000, 500), Math.random() < WRONG_PIN_SHARE)],
    [MIX_SHARES.staff_charge, charge],
    [MIX_SHARES.staff_deduct, async () => (await staffMoney(fx, http, 'staff_deduct', 'deduct', randomItem(fx.customers), amountBetween(1_000, 15_000, 500))).judged],
    [MIX_SHARES.cancel, cancel],
    [MIX_SHARES.partial_cancel, partialCancel],
    [MIX_SHARES.refund, refund],
    [MIX_SHARES.search_customers, () => searchCustomers(fx, http)],
    [MIX_SHARES.customer_history, () => customerHistory(fx, http)],
  ];
  return () => {
    let pick = Math.random();
    for (const [share, journey] of journeys) {
      if (pick < share) return journey();
      pick -= share;
    }
    return journeys[journeys.length - 1]![1]();
  };
}

// 5. Everyone on one customer: kiosk payments, counter deducts and top-ups all wait for one row
// lock. A top-up of 1,000 equals a payment plus a deduct of 500 each, so the balance walks around
// where it was topped up instead of drifting to zero or to the ceiling.
export function hotCustomer(fx: Fixture, http: HttpClient): Iteration {
  const customer = fx.hotCustomer;
  return async () => {
    const pick = Math.random();
    if (pick < 1 / 3) return kioskPay(fx, http, customer, 500);
    if (pick < 2 / 3) return (await staffMoney(fx, http, 'staff_deduct', 'deduct', customer, 500)).judged;
    return (await staffMoney(fx, http, 'staff_charge', 'charge', customer, 1_000)).judged;
  };
}
