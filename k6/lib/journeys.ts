// What a virtual user does: the requests of a kiosk, of shop staff at the counter, and of the
// shops' web frontend, routed as docs/contract.md says. Every scenario calls these; none has
// request logic of its own.

import { accessToken, type StaffSession } from './auth.ts';
import { config, type StaffRole } from './config.ts';
import { CANCELLING_ROLES, customerSource, randomIndex, randomItem, type Customer, type CustomerSource } from './dataset.ts';
import { getJson, kioskHeaders, postJson, staffHeaders, withIdempotencyKey, type Response } from './http.ts';
import {
  amountBetween,
  HOT_CUSTOMER,
  isRightMoneyAnswer,
  isRightRefundAnswer,
  JOURNEY,
  pickFromMix,
  pickHotCustomerMove,
  partlyReturned,
  RecentMoves,
  refusalStatus,
  REQUEST,
  wrongPin,
  type Outcome,
  type Refusal,
  type RequestName,
} from './journey-rules.ts';
import { recordOutcome } from './metrics.ts';
import type { LoadData, ShopSessions } from './lifecycle.ts';

// Built once per VU from setup()'s data: which shop a customer belongs to, and who may act there.
interface Cast {
  customers: CustomerSource;
  shops: Map<string, ShopSessions>;
}

let cast: Cast | undefined;

function castOf(data: LoadData): Cast {
  cast ??= {
    customers: customerSource(data.inlineCustomers),
    shops: new Map(data.shops.map((shop) => [shop.id, shop])),
  };
  return cast;
}

function randomCustomer(data: LoadData): Customer {
  const { customers } = castOf(data);
  return customers.at(randomIndex(customers.length));
}

function shopOf(data: LoadData, customer: Customer): ShopSessions {
  const shop = castOf(data).shops.get(customer.shop_id);
  if (!shop) throw new Error(`customer ${customer.id} belongs to shop ${customer.shop_id}, which the dataset lacks`);
  return shop;
}

function staffOf(shop: ShopSessions, roles?: readonly StaffRole[]): StaffSession {
  return randomItem(roles ? shop.staff.filter((staff) => roles.includes(staff.role)) : shop.staff);
}

// What journey-rules.ts calls a right money answer, plus the header a replay would carry over HTTP.
function moneyAnswerIsRight(check: (body: unknown) => boolean) {
  return (body: unknown, res: Response): boolean => check(body) && res.headers['Idempotent-Replayed'] !== 'true';
}

function moneyCall(
  path: string,
  name: RequestName,
  body: object,
  session: StaffSession,
  allowed: readonly Refusal[],
  isRight: (body: unknown) => boolean,
) {
  const res = postJson(path, body, withIdempotencyKey(staffHeaders(accessToken(session))), {
    name,
    refusalStatuses: allowed.map(refusalStatus),
  });
  const outcome = recordOutcome(res, name, { allowed, answerIsRight: moneyAnswerIsRight(isRight) });
  return { res, outcome };
}

export interface KioskPaymentOptions {
  customer?: Customer;
  amount?: number;
  /** Probability that the customer types a wrong PIN. */
  wrongPinShare?: number;
}

/** A customer pays at the shop's kiosk with phone and PIN; the kiosk sends one key per payment. */
export function kioskPayment(
  data: LoadData,
  { customer = randomCustomer(data), amount = amountBetween(JOURNEY.kioskPay.amount), wrongPinShare = 0 }: KioskPaymentOptions = {},
): Outcome {
  const kioskKey = randomItem(shopOf(data, customer).kioskKeys);
  const mistyped = Math.random() < wrongPinShare;
  const allowed = mistyped ? JOURNEY.mistypedKioskPay.allowed : JOURNEY.kioskPay.allowed;
  const res = postJson(
    '/functions/v1/kiosk/pay',
    { phone: customer.phone, pin: mistyped ? wrongPin(customer.pin) : customer.pin, amount },
    withIdempotencyKey(kioskHeaders(kioskKey)),
    { name: REQUEST.kioskPay, refusalStatuses: allowed.map(refusalStatus) },
  );
  return recordOutcome(res, REQUEST.kioskPay, {
    allowed,
    mustRefuse: mistyped,
    answerIsRight: moneyAnswerIsRight((body) => isRightMoneyAnswer(body, amount)),
  });
}

// The charges and deducts this VU made, for the cancel journeys to reverse (module state is per VU in k6).
const recentCharges = new RecentMoves<Customer>();
const recentDeducts = new RecentMoves<Customer>();

/** Staff top up a customer's balance at the counter. */
export function staffCharge(data: LoadData, customer = randomCustomer(data), amount = amountBetween(JOURNEY.staffCharge.amount)): Outcome {
  const { res, outcome } = moneyCall(
    '/functions/v1/transactions/charge',
    REQUEST.staffCharge,
    { customer_id: customer.id, amount, memo: 'k6 load' },
    staffOf(shopOf(data, customer)),
    JOURNEY.staffCharge.allowed,
    (body) => isRightMoneyAnswer(body, amount),
  );
  if (outcome === 'ok') recentCharges.add(customer, amount, JSON.parse(String(res.body)));
  return outcome;
}

/** Staff deduct a purchase at the counter. */
export function staffDeduct(data: LoadData, customer = randomCustomer(data), amount = amountBetween(JOURNEY.staffDeduct.amount)): Outcome {
  const { res, outcome } = moneyCall(
    '/functions/v1/transactions/deduct',
    REQUEST.staffDeduct,
    { customer_id: customer.id, amount, memo: 'k6 load' },
    staffOf(shopOf(data, customer)),
    JOURNEY.staffDeduct.allowed,
    (body) => isRightMoneyAnswer(body, amount),
  );
  if (outcome === 'ok') recentDeducts.add(customer, amount, JSON.parse(String(res.body)));
  return outcome;
}

/** An owner or manager cancels a top-up this VU made earlier, found to be a mistake; with none yet, a top-up. */
export function cancelEarlierCharge(data: LoadData): Outcome {
  const original = recentCharges.take();
  if (!original) return staffCharge(data);
  return moneyCall(
    '/functions/v1/transactions/cancel',
    REQUEST.cancel,
    { transaction_id: original.transactionId, reason: 'k6 load' },
    staffOf(shopOf(data, original.customer), CANCELLING_ROLES),
    JOURNEY.cancel.allowed,
    (body) => isRightMoneyAnswer(body, original.amount),
  ).outcome;
}

/** A purchase partly returned: an owner or manager cancels half of a deduct this VU made earlier; with none yet, a deduct. */
export function partialCancelOfEarlierDeduct(data: LoadData): Outcome {
  const original = recentDeducts.take();
  if (!original) return staffDeduct(data);
  const returned = partlyReturned(original.amount);
  return moneyCall(
    '/functions/v1/transactions/cancel',
    REQUEST.partialCancel,
    { transaction_id: original.transactionId, amount: returned, reason: 'k6 load: returned' },
    staffOf(shopOf(data, original.customer), CANCELLING_ROLES),
    JOURNEY.partialCancel.allowed,
    (body) => isRightMoneyAnswer(body, returned),
  ).outcome;
}

/** A customer takes the rest of their money back (환불). */
export function refundRemainingBalance(data: LoadData): void {
  const customer = randomCustomer(data);
  moneyCall(
    '/functions/v1/refunds',
    REQUEST.refund,
    { customer_id: customer.id, method: JOURNEY.refund.method, memo: 'k6 load' },
    staffOf(shopOf(data, customer), CANCELLING_ROLES),
    JOURNEY.refund.allowed,
    isRightRefundAnswer,
  );
}

interface CustomerRow {
  shop_id?: unknown;
  name?: unknown;
  phone?: unknown;
}

/**
 * The frontend's search box: digits search the phone, anything else the name, both as a fragment
 * (ilike), scoped to the staff member's shop by RLS and by the filter the frontend adds.
 */
export function searchCustomers(data: LoadData): Outcome {
  const customer = randomCustomer(data);
  const shop = shopOf(data, customer);
  const byName = customer.name !== undefined && customer.name.length >= 2 && Math.random() < 0.5;
  const column = byName ? 'name' : 'phone';
  // A given name (two syllables of a Korean name) or the last four digits of the phone.
  const fragment = byName ? customer.name!.slice(-2) : customer.phone.slice(-4);
  const res = getJson(
    `/rest/v1/customers?select=id,shop_id,name,phone,current_balance&shop_id=eq.${shop.id}` +
      `&${column}=ilike.*${encodeURIComponent(fragment)}*&order=name.asc&limit=20`,
    staffHeaders(accessToken(staffOf(shop))),
    { name: REQUEST.searchCustomers },
  );
  return recordOutcome(res, REQUEST.searchCustomers, {
    answerIsRight: (body) =>
      Array.isArray(body) &&
      body.length >= 1 &&
      body.length <= 20 &&
      (body as CustomerRow[]).every(
        (row) => row.shop_id === shop.id && String(row[column]).toLowerCase().includes(fragment.toLowerCase()),
      ),
  });
}

interface TransactionRow {
  customer_id?: unknown;
  sequence?: unknown;
}

/** A customer's latest ledger rows, newest first in their sequence, as the frontend shows them. */
export function customerHistory(data: LoadData): Outcome {
  const customer = randomCustomer(data);
  const res = getJson(
    `/rest/v1/transactions?select=id,customer_id,sequence,type,amount,balance_after,memo,created_at` +
      `&customer_id=eq.${customer.id}&order=sequence.desc&limit=20`,
    staffHeaders(accessToken(staffOf(shopOf(data, customer)))),
    { name: REQUEST.customerHistory },
  );
  return recordOutcome(res, REQUEST.customerHistory, {
    answerIsRight: (body) =>
      Array.isArray(body) &&
      body.length <= 20 &&
      (body as TransactionRow[]).every(
        (row, i, rows) =>
          row.customer_id === customer.id && (i === 0 || Number(rows[i - 1]!.sequence) === Number(row.sequence) + 1),
      ),
  });
}

/** Staff at the counter look a customer up, then open their history. */
export function staffReads(data: LoadData): void {
  searchCustomers(data);
  customerHistory(data);
}

/** Everyone at once on one customer (journey-rules.ts: HOT_CUSTOMER), so every request waits for the same row lock. */
export function hotCustomer(data: LoadData): Outcome {
  const customer = data.hotCustomer;
  switch (pickHotCustomerMove()) {
    case 'kioskPay':
      return kioskPayment(data, { customer, amount: HOT_CUSTOMER.kioskPay });
    case 'deduct':
      return staffDeduct(data, customer, HOT_CUSTOMER.deduct);
    case 'charge':
      return staffCharge(data, customer, HOT_CUSTOMER.charge);
  }
}

// The mix's shares are journey-rules.ts's MIX_SHARES; this is how k6 makes each journey.
const MIX: Record<RequestName, (data: LoadData) => unknown> = {
  kiosk_pay: (data) => kioskPayment(data, { wrongPinShare: config.wrongPinShare }),
  staff_charge: (data) => staffCharge(data),
  staff_deduct: (data) => staffDeduct(data),
  cancel: cancelEarlierCharge,
  partial_cancel: partialCancelOfEarlierDeduct,
  refund: refundRemainingBalance,
  search_customers: searchCustomers,
  customer_history: customerHistory,
};

export function realisticMix(data: LoadData): void {
  MIX[pickFromMix()](data);
}
