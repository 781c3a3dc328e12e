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
  JOURNEY,
  journeyRequest,
  judge,
  pickFromMix,
  pickHotCustomerMove,
  RecentMoves,
  REQUEST,
  WRONG_PIN_SHARE,
  type Expectation,
  type JourneyRequest,
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

/** The names of the requests the phases that compare paths send (the mix's are journey-rules.ts's REQUEST). */
export const BARE_REQUEST = 'sql_bare_deduct';
export const BARE_BROADCAST_REQUEST = 'sql_bare_deduct_broadcast';
export const SQL_DEDUCT_REQUEST = 'sql_deduct_balance';
export const SQL_KIOSK_PAY_REQUEST = 'sql_kiosk_pay';
export const RPC_DEDUCT_REQUEST = 'rpc_deduct_balance';
export const RPC_KIOSK_PAY_REQUEST = 'rpc_kiosk_pay';

/** The requests that move money: each success must have added exactly one ledger row. */
export const MONEY_REQUESTS: ReadonlySet<string> = new Set([
  BARE_REQUEST,
  BARE_BROADCAST_REQUEST,
  SQL_DEDUCT_REQUEST,
  SQL_KIOSK_PAY_REQUEST,
  RPC_DEDUCT_REQUEST,
  RPC_KIOSK_PAY_REQUEST,
  REQUEST.staffDeduct,
  REQUEST.staffCharge,
  REQUEST.kioskPay,
  REQUEST.cancel,
  REQUEST.partialCancel,
  REQUEST.refund,
]);

const randomIndex = (length: number) => Math.floor(Math.random() * length);
const randomItem = <T>(items: readonly T[]): T => items[randomIndex(items.length)]!;


/** An HTTP answer's outcome, by journey-rules.ts's judge; an error says why, with the status and a slice of the body. */
export function judgeHttp(name: string, answer: HttpAnswer, expectation: Expectation): Answer {
  const verdict = judge({ status: answer.status, body: answer.body, replayed: answer.headers['idempotent-replayed'] === 'true' }, expectation);
  if (verdict.outcome !== 'error') return { name, outcome: verdict.outcome };
  const why = verdict.why === 'unexpected answer' ? '' : `${verdict.why}: `;
  return { name, outcome: 'error', why: `${why}${describeAnswer(answer)}` };
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
// `{ ok: false, code }` rather than raised: judged by journey-rules.ts's judge() as the 200 that
// kiosk_pay over PostgREST answers it with; a raised refusal by judgeSqlFailure.
export function sqlMoney(db: pg.Pool, name: string, text: string, valuesOf: () => unknown[]): Iteration {
  return async () => {
    try {
      const { rows } = await db.query<{ result: unknown }>({ name: `bench_${name}`, text, values: valuesOf() });
      const result = rows[0]?.result;
      const verdict = judge({ status: 200, body: result, replayed: false }, { allowed: ['pin_locked'], isRight: (body) => isRightMoneyAnswer(body, FLOOR_AMOUNT) });
      return verdict.outcome === 'error' ? { name, outcome: 'error', why: `${verdict.why}: ${String(JSON.stringify(result)).slice(0, 200)}` } : { name, outcome: verdict.outcome };
    } catch (error) {
      return judgeSqlFailure(name, error, ['insufficient_balance']);
    }
  };
}

/**
 * The SQL of phase 1 and of every `npm run bench:shops` point: deduct_balance of FLOOR_AMOUNT with a
 * fresh idempotency key and no memo; `withShop` adds p_shop_id, by name (a distributed function is
 * routed by it). Phase 1 leaves the shop out because phases 2 and 3, which it is compared with, send
 * none (the RPC's body and the edge function's request, journey-rules.ts's counter()): the three are
 * the same call on three paths. bench:shops passes it whenever deduct_balance takes it.
 */
export const sqlDeductText = (withShop: boolean) =>
  `select public.deduct_balance($1, $2, $3, $4, $5${withShop ? ', p_shop_id => $6' : ''}) as result`;

/** deduct_balance over pg (sqlDeductText), each call by the actor on the customer `next` gives. */
export function sqlDeductOver(db: pg.Pool, withShop: boolean, next: () => { actorUserId: string; customer: { id: string; shopId: string } }): Iteration {
  return sqlMoney(db, SQL_DEDUCT_REQUEST, sqlDeductText(withShop), () => {
    const { actorUserId, customer } = next();
    return [actorUserId, customer.id, FLOOR_AMOUNT, randomUUID(), null, ...(withShop ? [customer.shopId] : [])];
  });
}

// 1. The floor: deduct_balance itself, as a clerk of the customer's shop.
export const sqlDeduct = (fx: Fixture, db: pg.Pool): Iteration =>
  sqlDeductOver(db, false, () => {
    const customer = randomItem(fx.customers);
    return { actorUserId: clerkOf(fx, customer).userId, customer };
  });

// 1k. A kiosk payment the same way (PIN check included): the SQL that /functions/v1/kiosk/pay ends in.
export const sqlKioskPay = (fx: Fixture, db: pg.Pool): Iteration =>
  sqlMoney(db, SQL_KIOSK_PAY_REQUEST, 'select public.kiosk_pay($1, $2, $3, $4, $5) as result', () => {
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
    return judgeHttp(RPC_DEDUCT_REQUEST, answer, {
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
    return judgeHttp(RPC_KIOSK_PAY_REQUEST, answer, {
      allowed: ['insufficient_balance', 'pin_locked'],
      isRight: (body) => isRightMoneyAnswer(body, FLOOR_AMOUNT),
    });
  };
}

// 3. The full path: the gateway, the edge function (auth, zod, error mapping), PostgREST, SQL.

/** Sends one request of a journey (journey-rules.ts: what it is and what a right answer is) and judges the answer. */
async function send(http: HttpClient, request: JourneyRequest, headers: Headers): Promise<{ answer: HttpAnswer; judged: Answer }> {
  const answer = request.body === undefined ? await http.get(request.path, headers) : await http.post(request.path, request.body, withIdempotencyKey(headers));
  return { answer, judged: judgeHttp(request.name, answer, request) };
}

/** Written into every ledger row the bench makes (memo, cancel reason). */
const MEMO = 'bench';

async function counterMove(fx: Fixture, http: HttpClient, move: 'charge' | 'deduct', customer: BenchCustomer, amount: number) {
  return send(http, journeyRequest.counter(move, customer, amount, MEMO), staffHeaders(fx, clerkOf(fx, customer)));
}

async function kioskPay(fx: Fixture, http: HttpClient, customer: BenchCustomer, amount: number, mistyped = false): Promise<Answer> {
  const kioskKey = randomItem(shopOf(fx, customer).kioskKeys);
  return (await send(http, journeyRequest.kioskPay(customer, amount, mistyped), kioskHeaders(fx, kioskKey))).judged;
}

export function edgeDeduct(fx: Fixture, http: HttpClient): Iteration {
  return async () => (await counterMove(fx, http, 'deduct', randomItem(fx.customers), FLOOR_AMOUNT)).judged;
}

export function edgeKioskPay(fx: Fixture, http: HttpClient): Iteration {
  return () => kioskPay(fx, http, randomItem(fx.customers), FLOOR_AMOUNT);
}

// 4. The realistic mix: reads through PostgREST as signed-in staff, writes through the functions.

/** Digits search the phone, anything else the name, both as a fragment (ilike), as the frontend does. */
export async function searchCustomers(fx: Fixture, http: HttpClient): Promise<Answer> {
  const customer = randomItem(fx.customers);
  return (await send(http, journeyRequest.search(customer.shopId, customer), staffHeaders(fx, clerkOf(fx, customer)))).judged;
}

/** A customer's latest 20 ledger rows, newest first in their sequence, as the frontend's history view asks for them. */
export async function customerHistory(fx: Fixture, http: HttpClient): Promise<Answer> {
  const customer = randomItem(fx.customers);
  return (await send(http, journeyRequest.history(customer), staffHeaders(fx, clerkOf(fx, customer)))).judged;
}

/**
 * The mix of journey-rules.ts (MIX_SHARES, JOURNEY), as k6 runs it, one request a journey. A cancel
 * reverses a top-up this phase made earlier, a partial cancel returns half of a deduct it made earlier;
 * before the first has landed they top up or deduct instead.
 */
export function realisticMix(fx: Fixture, http: HttpClient): Iteration {
  const recent = { charge: new RecentMoves<BenchCustomer>(), deduct: new RecentMoves<BenchCustomer>() };
  const move = async (kind: 'charge' | 'deduct'): Promise<Answer> => {
    const customer = randomItem(fx.customers);
    const amount = amountBetween(kind === 'charge' ? JOURNEY.staffCharge.amount : JOURNEY.staffDeduct.amount);
    const { answer, judged } = await counterMove(fx, http, kind, customer, amount);
    if (judged.outcome === 'ok') recent[kind].add(customer, amount, answer.body);
    return judged;
  };
  const canceller = (customer: BenchCustomer) => staffHeaders(fx, randomItem(shopOf(fx, customer).cancellers));
  const cancel = async (): Promise<Answer> => {
    const original = recent.charge.take();
    if (!original) return move('charge');
    return (await send(http, journeyRequest.cancel(original, MEMO), canceller(original.customer))).judged;
  };
  const partialCancel = async (): Promise<Answer> => {
    const original = recent.deduct.take();
    if (!original) return move('deduct');
    return (await send(http, journeyRequest.partialCancel(original, MEMO), canceller(original.customer))).judged;
  };
  const refund = async (): Promise<Answer> => {
    const customer = randomItem(fx.customers);
    return (await send(http, journeyRequest.refund(customer, MEMO), canceller(customer))).judged;
  };
  const journeys: Record<RequestName, () => Promise<Answer>> = {
    kiosk_pay: () => kioskPay(fx, http, randomItem(fx.customers), amountBetween(JOURNEY.kioskPay.amount), Math.random() < WRONG_PIN_SHARE),
    staff_charge: () => move('charge'),
    staff_deduct: () => move('deduct'),
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
        return (await counterMove(fx, http, 'deduct', customer, HOT_CUSTOMER.deduct)).judged;
      case 'charge':
        return (await counterMove(fx, http, 'charge', customer, HOT_CUSTOMER.charge)).judged;
    }
  };
}
