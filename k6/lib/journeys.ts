// What a virtual user does: the requests of a kiosk, of shop staff at the counter, and of the
// shops' web frontend, routed as docs/contract.md says. Every scenario calls these; none has
// request logic of its own.

import { accessToken, type StaffSession } from './auth.ts';
import { config, type StaffRole } from './config.ts';
import { CANCELLING_ROLES, customerSource, randomIndex, randomItem, type Customer, type CustomerSource } from './dataset.ts';
import { getJson, kioskHeaders, postJson, staffHeaders, withIdempotencyKey, type Response } from './http.ts';
import { recordOutcome, REFUSAL_STATUS, type Outcome, type Refusal } from './metrics.ts';
import type { LoadData, ShopSessions } from './lifecycle.ts';

/** The name tag of each journey's requests: metrics, thresholds and logs say which is which. */
export const REQUEST = {
  kioskPay: 'kiosk_pay',
  staffCharge: 'staff_charge',
  staffDeduct: 'staff_deduct',
  cancelCharge: 'cancel_charge',
  cancel: 'cancel',
  partialCancel: 'partial_cancel',
  refund: 'refund',
  searchCustomers: 'search_customers',
  customerHistory: 'customer_history',
} as const;

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

/** A whole-won amount between min and max, in steps, as prices and top-ups are. */
function amountBetween(min: number, max: number, step: number): number {
  return min + step * randomIndex(Math.floor((max - min) / step) + 1);
}

function refusalStatuses(allowed: readonly Refusal[]): number[] {
  return allowed.map((refusal) => REFUSAL_STATUS[refusal]);
}

interface MoneyResult {
  transaction?: { id?: unknown; amount?: unknown; balance_after?: unknown };
  balance?: unknown;
  bonus?: unknown;
}

// A fresh Idempotency-Key must never come back as a replay, and the new balance is the ledger row's
// (plus, on a charge, the promotion's bonus written right after it). An undefined amount accepts any
// (a refund takes whatever the balance was).
function moneyAnswerIsRight(amount: number | undefined) {
  return (body: unknown, res: Response): boolean => {
    const result = body as MoneyResult | null;
    const bonus = typeof result?.bonus === 'number' ? result.bonus : 0;
    return (
      typeof result?.transaction?.id === 'string' &&
      (amount === undefined ? typeof result.transaction.amount === 'number' : result.transaction.amount === amount) &&
      typeof result.balance === 'number' &&
      result.balance >= 0 &&
      result.balance === Number(result.transaction.balance_after) + bonus &&
      res.headers['Idempotent-Replayed'] !== 'true'
    );
  };
}

function moneyCall(path: string, name: string, body: object, session: StaffSession, amount: number | undefined, allowed: readonly Refusal[]) {
  const res = postJson(path, body, withIdempotencyKey(staffHeaders(accessToken(session))), {
    name,
    refusalStatuses: refusalStatuses(allowed),
  });
  const outcome = recordOutcome(res, name, { allowed, answerIsRight: moneyAnswerIsRight(amount) });
  return { res, outcome };
}

/** Any digit string of the same length that is not the PIN. */
function wrongPin(pin: string): string {
  const last = Number(pin[pin.length - 1]);
  return `${pin.slice(0, -1)}${(last + 1) % 10}`;
}

export interface KioskPaymentOptions {
  customer?: Customer;
  /** Probability that the customer types a wrong PIN. */
  wrongPinShare?: number;
}

/** A customer pays at the shop's kiosk with phone and PIN; the kiosk sends one key per payment. */
export function kioskPayment(data: LoadData, { customer = randomCustomer(data), wrongPinShare = 0 }: KioskPaymentOptions = {}): Outcome {
  const kioskKey = randomItem(shopOf(data, customer).kioskKeys);
  const mistyped = Math.random() < wrongPinShare;
  const amount = amountBetween(1_000, 15_000, 500);
  const allowed: Refusal[] = mistyped ? ['pin_invalid', 'pin_locked'] : ['insufficient_balance', 'pin_locked'];
  const res = postJson(
    '/functions/v1/kiosk/pay',
    { phone: customer.phone, pin: mistyped ? wrongPin(customer.pin) : customer.pin, amount },
    withIdempotencyKey(kioskHeaders(kioskKey)),
    { name: REQUEST.kioskPay, refusalStatuses: refusalStatuses(allowed) },
  );
  return recordOutcome(res, REQUEST.kioskPay, { allowed, mustRefuse: mistyped, answerIsRight: moneyAnswerIsRight(amount) });
}

/** Staff top up a customer's balance at the counter. */
export function staffCharge(data: LoadData, customer = randomCustomer(data), amount = amountBetween(10_000, 100_000, 10_000)): Outcome {
  return moneyCall(
    '/functions/v1/transactions/charge',
    REQUEST.staffCharge,
    { customer_id: customer.id, amount, memo: 'k6 load' },
    staffOf(shopOf(data, customer)),
    amount,
    ['balance_ceiling_exceeded'],
  ).outcome;
}

/** Staff deduct a purchase at the counter. */
export function staffDeduct(data: LoadData, customer = randomCustomer(data), amount = amountBetween(1_000, 15_000, 500)): Outcome {
  return moneyCall(
    '/functions/v1/transactions/deduct',
    REQUEST.staffDeduct,
    { customer_id: customer.id, amount, memo: 'k6 load' },
    staffOf(shopOf(data, customer)),
    amount,
    ['insufficient_balance'],
  ).outcome;
}

/** A mistaken top-up, cancelled by an owner or manager: the reversal must apply exactly once. */
export function chargeThenCancel(data: LoadData): void {
  const customer = randomCustomer(data);
  const manager = staffOf(shopOf(data, customer), CANCELLING_ROLES);
  const amount = amountBetween(10_000, 50_000, 10_000);
  const charge = moneyCall(
    '/functions/v1/transactions/charge',
    REQUEST.cancelCharge,
    { customer_id: customer.id, amount, memo: 'k6 load, to be cancelled' },
    manager,
    amount,
    ['balance_ceiling_exceeded'],
  );
  if (charge.outcome !== 'ok') return;
  const charged = JSON.parse(String(charge.res.body)) as { transaction: { id: string }; bonus?: number };
  // Between the two calls other traffic may spend the top-up; refusing the cancel is then correct.
  // The cancel takes back the promotion's bonus with the charge.
  moneyCall(
    '/functions/v1/transactions/cancel',
    REQUEST.cancel,
    { transaction_id: charged.transaction.id, reason: 'k6 load' },
    manager,
    amount + (charged.bonus ?? 0),
    ['insufficient_balance'],
  );
}

/** A purchase partly returned: a counter deduct, then an owner or manager cancels half of it. */
export function deductThenPartialCancel(data: LoadData): void {
  const customer = randomCustomer(data);
  const manager = staffOf(shopOf(data, customer), CANCELLING_ROLES);
  const amount = amountBetween(2_000, 20_000, 1_000);
  const deduct = moneyCall(
    '/functions/v1/transactions/deduct',
    REQUEST.staffDeduct,
    { customer_id: customer.id, amount, memo: 'k6 load, partly returned' },
    manager,
    amount,
    ['insufficient_balance'],
  );
  if (deduct.outcome !== 'ok') return;
  const transactionId = (JSON.parse(String(deduct.res.body)) as { transaction: { id: string } }).transaction.id;
  moneyCall(
    '/functions/v1/transactions/cancel',
    REQUEST.partialCancel,
    { transaction_id: transactionId, amount: amount / 2, reason: 'k6 load: returned' },
    manager,
    amount / 2,
    ['balance_ceiling_exceeded'],
  );
}

/** A customer takes the rest of their money back (환불); an emptied balance has nothing to refund. */
export function refundRemainingBalance(data: LoadData): void {
  const customer = randomCustomer(data);
  moneyCall(
    '/functions/v1/refunds',
    REQUEST.refund,
    { customer_id: customer.id, method: 'transfer', memo: 'k6 load' },
    staffOf(shopOf(data, customer), CANCELLING_ROLES),
    undefined,
    ['nothing_to_refund'],
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

/**
 * Everyone at once on one customer: kiosk payments, counter deducts and top-ups, so every request
 * waits for the same row lock. A top-up of 13,000 equals the average kiosk payment (8,000) plus a
 * counter deduct (5,000): the balance walks up and down without drifting to zero or the ceiling.
 */
export function hotCustomer(data: LoadData): Outcome {
  const customer = data.hotCustomer;
  const pick = Math.random();
  if (pick < 1 / 3) return kioskPayment(data, { customer });
  if (pick < 2 / 3) return staffDeduct(data, customer, 5_000);
  return staffCharge(data, customer, 13_000);
}

// How a day of traffic splits: reads dominate, kiosks pay most purchases, cancels are rare, partial
// returns and refunds rarer still.
const MIX: readonly [number, (data: LoadData) => unknown][] = [
  [0.3, (data) => kioskPayment(data, { wrongPinShare: config.wrongPinShare })],
  [0.15, (data) => staffCharge(data)],
  [0.1, (data) => staffDeduct(data)],
  [0.03, chargeThenCancel],
  [0.015, deductThenPartialCancel],
  [0.005, refundRemainingBalance],
  [0.2, searchCustomers],
  [0.2, customerHistory],
];

export function realisticMix(data: LoadData): void {
  let pick = Math.random();
  for (const [share, journey] of MIX) {
    if (pick < share) {
      journey(data);
      return;
    }
    pick -= share;
  }
  MIX[MIX.length - 1]![1](data);
}
