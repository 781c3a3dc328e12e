// The requests each phase sends, and how each answer is judged: ok, a refusal the product is meant
// to give (counted on its own, never as an error), or an error. What a journey is (amounts, shares,
// refusals, a right answer) is k6/lib/journey-rules.ts, shared with the k6 scripts; this file only
// sends the requests, for Node.

import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import {
  amountBetween,
  HOT_CUSTOMER,
  isRefusal,
  isRightMoneyAnswer,
  isRightRefundAnswer,
  JOURNEY,
  pickFromMix,
  pickHotCustomerMove,
  partlyReturned,
  RecentMoves,
  refusalStatus,
  REQUEST,
  WRONG_PIN_SHARE,
  wrongPin,
  type Refusal,
  type RequestName,
} from '../../../k6/lib/journey-rules.ts';
import type { Answer, Iteration } from './driver.ts';
import type { BenchCustomer, BenchShop, Fixture, StaffSession } from './fixture.ts';
import { describeAnswer, withIdempotencyKey, type Headers, type HttpAnswer, type HttpClient } from './http.ts';

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
  if (isRefusal(code) && allowed.includes(code) && (pinRefusal || refusalStatus(code) === answer.status)) {
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

// A money function over pg as service_role, as a prepared statement over the pool's connections, with
// the arguments `valuesOf` gives for each call. A kiosk payment's wrong PIN comes back as
// `{ ok: false, code }` rather than raised.
export function sqlMoney(db: pg.Pool, name: string, text: string, valuesOf: () => unknown[]): Iteration {
  return async () => {
    try {
      const { rows } = await db.query<{ result: unknown }>({ name: `bench_${name}`, text, values: valuesOf() });
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

export const SQL_DEDUCT_REQUEST = 'sql_deduct_balance';

// 1. The floor: deduct_balance itself.
export const sqlDeduct = (fx: Fixture, db: pg.Pool): Iteration =>
  sqlMoney(db, SQL_DEDUCT_REQUEST, 'select public.deduct_balance($1, $2, $3, $4, $5) as result', () => {
    const customer = randomItem(fx.customers);
    return [clerkOf(fx, customer).userId, customer.id, FLOOR_AMOUNT, randomUUID(), null];
  });

// 1k. A kiosk payment the same way (PIN check included): the SQL that /functions/v1/kiosk/pay ends in.
export const sqlKioskPay = (fx: Fixture, db: pg.Pool): Iteration =>
  sqlMoney(db, 'sql_kiosk_pay', 'select public.kiosk_pay($1, $2, $3, $4, $5) as result', () => {
    const customer = randomItem(fx.customers);
    return [randomItem(shopOf(fx, customer).kioskKeys), customer.phone, customer.pin, FLOOR_AMOUNT, randomUUID()];
  });

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
  const allowed = route === 'charge' ? JOURNEY.staffCharge.allowed : JOURNEY.staffDeduct.allowed;
  return { answer, judged: judgeHttp(name, answer, { allowed, isRight: (body) => isRightMoneyAnswer(body, amount) }) };
}

async function kioskPay(fx: Fixture, http: HttpClient, customer: BenchCustomer, amount: number, mistyped = false): Promise<Answer> {
  const answer = await http.post(
    '/functions/v1/kiosk/pay',
    { phone: customer.phone, pin: mistyped ? wrongPin(customer.pin) : customer.pin, amount },
    withIdempotencyKey(kioskHeaders(fx, randomItem(shopOf(fx, customer).kioskKeys))),
  );
  return judgeHttp('kiosk_pay', answer, {
    allowed: mistyped ? JOURNEY.mistypedKioskPay.allowed : JOURNEY.kioskPay.allowed,
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

/**
 * The mix of journey-rules.ts (MIX_SHARES, JOURNEY), as k6 runs it, one request a journey. A cancel
 * reverses a top-up this phase made earlier, a partial cancel returns half of a deduct it made earlier;
 * before the first has landed they top up or deduct instead.
 */
export function realisticMix(fx: Fixture, http: HttpClient): Iteration {
  const charges = new RecentMoves<BenchCustomer>();
  const deducts = new RecentMoves<BenchCustomer>();
  const move = async (route: 'charge' | 'deduct', remembered: RecentMoves<BenchCustomer>): Promise<Answer> => {
    const customer = randomItem(fx.customers);
    const amount = amountBetween(route === 'charge' ? JOURNEY.staffCharge.amount : JOURNEY.staffDeduct.amount);
    const name = route === 'charge' ? REQUEST.staffCharge : REQUEST.staffDeduct;
    const { answer, judged } = await staffMoney(fx, http, name, route, customer, amount);
    if (judged.outcome === 'ok') remembered.add(customer, amount, answer.body);
    return judged;
  };
  const charge = () => move('charge', charges);
  const deduct = () => move('deduct', deducts);
  const partialCancel = async (): Promise<Answer> => {
    const original = deducts.take();
    if (!original) return deduct();
    const returnedAmount = partlyReturned(original.amount);
    const returned = await http.post(
      '/functions/v1/transactions/cancel',
      { transaction_id: original.transactionId, amount: returnedAmount, reason: 'bench: returned' },
      withIdempotencyKey(staffHeaders(fx, randomItem(shopOf(fx, original.customer).cancellers))),
    );
    return judgeHttp(REQUEST.partialCancel, returned, {
      allowed: JOURNEY.partialCancel.allowed,
      isRight: (body) => isRightMoneyAnswer(body, returnedAmount),
    });
  };
  const refund = async (): Promise<Answer> => {
    const customer = randomItem(fx.customers);
    const answer = await http.post(
      '/functions/v1/refunds',
      { customer_id: customer.id, method: JOURNEY.refund.method, memo: 'bench' },
      withIdempotencyKey(staffHeaders(fx, randomItem(shopOf(fx, customer).cancellers))),
    );
    return judgeHttp(REQUEST.refund, answer, { allowed: JOURNEY.refund.allowed, isRight: isRightRefundAnswer });
  };
  const cancel = async (): Promise<Answer> => {
    const original = charges.take();
    if (!original) return charge();
    const answer = await http.post(
      '/functions/v1/transactions/cancel',
      { transaction_id: original.transactionId, reason: 'bench' },
      withIdempotencyKey(staffHeaders(fx, randomItem(shopOf(fx, original.customer).cancellers))),
    );
    return judgeHttp(REQUEST.cancel, answer, { allowed: JOURNEY.cancel.allowed, isRight: (body) => isRightMoneyAnswer(body, original.amount) });
  };
  const journeys: Record<RequestName, () => Promise<Answer>> = {
    kiosk_pay: () => kioskPay(fx, http, randomItem(fx.customers), amountBetween(JOURNEY.kioskPay.amount), Math.random() < WRONG_PIN_SHARE),
    staff_charge: charge,
    staff_deduct: deduct,
    cancel,
    partial_cancel: partialCancel,
    refund,
    search_customers: () => searchCustomers(fx, http),
    customer_history: () => customerHistory(fx, http),
  };
  return () => journeys[pickFromMix()]();
}

// 5. Everyone on one customer (journey-rules.ts: HOT_CUSTOMER), all waiting for one row lock.
export function hotCustomer(fx: Fixture, http: HttpClient): Iteration {
  const customer = fx.hotCustomer;
  return async () => {
    switch (pickHotCustomerMove()) {
      case 'kioskPay':
        return kioskPay(fx, http, customer, HOT_CUSTOMER.kioskPay);
      case 'deduct':
        return (await staffMoney(fx, http, REQUEST.staffDeduct, 'deduct', customer, HOT_CUSTOMER.deduct)).judged;
      case 'charge':
        return (await staffMoney(fx, http, REQUEST.staffCharge, 'charge', customer, HOT_CUSTOMER.charge)).judged;
    }
  };
}
