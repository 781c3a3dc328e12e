// What a virtual user does: the requests of a kiosk, of shop staff at the counter, and of the
// shops' web frontend, routed as docs/contract.md says. Every scenario calls these; none has
// request logic of its own.

import { accessToken, type StaffSession } from './auth.ts';
import { config, type StaffRole } from './config.ts';
import { CANCELLING_ROLES, customerSource, randomIndex, randomItem, type Customer, type CustomerSource } from './dataset.ts';
import { getJson, kioskHeaders, postJson, staffHeaders, withIdempotencyKey, type Headers } from './http.ts';
import {
  amountBetween,
  HOT_CUSTOMER,
  JOURNEY,
  journeyRequest,
  pickFromMix,
  pickHotCustomerMove,
  RecentMoves,
  refusalStatus,
  type JourneyRequest,
  type Outcome,
  type RequestName,
} from './journey-rules.ts';
import { recordOutcome } from './metrics.ts';
import type { LoadData, ShopSessions } from './lifecycle.ts';

/** Written into every ledger row this load makes (memo, cancel reason). */
const MEMO = 'k6 load';

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

/** Sends one request of a journey (journey-rules.ts says what it is and what a right answer is) and records its outcome. */
function send(request: JourneyRequest, headers: Headers): { outcome: Outcome; body: unknown } {
  const res =
    request.body === undefined
      ? getJson(request.path, headers, { name: request.name })
      : postJson(request.path, request.body, withIdempotencyKey(headers), {
          name: request.name,
          refusalStatuses: (request.allowed ?? []).map(refusalStatus),
        });
  return recordOutcome(res, request.name, request);
}

const asStaff = (shop: ShopSessions, roles?: readonly StaffRole[]): Headers => staffHeaders(accessToken(staffOf(shop, roles)));

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
  return send(journeyRequest.kioskPay(customer, amount, Math.random() < wrongPinShare), kioskHeaders(kioskKey)).outcome;
}

// The latest charges and deducts this VU made, for the cancel journeys to reverse (module state is
// per VU in k6; journey-rules.ts bounds how many are kept).
const recent = { charge: new RecentMoves<Customer>(), deduct: new RecentMoves<Customer>() };

function counterMove(data: LoadData, move: 'charge' | 'deduct', customer: Customer, amount: number): Outcome {
  const { outcome, body } = send(journeyRequest.counter(move, customer, amount, MEMO), asStaff(shopOf(data, customer)));
  if (outcome === 'ok') recent[move].add(customer, amount, body);
  return outcome;
}

/** Staff top up a customer's balance at the counter. */
export function staffCharge(data: LoadData, customer = randomCustomer(data), amount = amountBetween(JOURNEY.staffCharge.amount)): Outcome {
  return counterMove(data, 'charge', customer, amount);
}

/** Staff deduct a purchase at the counter. */
export function staffDeduct(data: LoadData, customer = randomCustomer(data), amount = amountBetween(JOURNEY.staffDeduct.amount)): Outcome {
  return counterMove(data, 'deduct', customer, amount);
}

/** An owner or manager cancels a top-up this VU made earlier, found to be a mistake; with none yet, a top-up. */
export function cancelEarlierCharge(data: LoadData): Outcome {
  const original = recent.charge.take();
  if (!original) return staffCharge(data);
  return send(journeyRequest.cancel(original, MEMO), asStaff(shopOf(data, original.customer), CANCELLING_ROLES)).outcome;
}

/** A purchase partly returned: an owner or manager cancels half of a deduct this VU made earlier; with none yet, a deduct. */
export function partialCancelOfEarlierDeduct(data: LoadData): Outcome {
  const original = recent.deduct.take();
  if (!original) return staffDeduct(data);
  return send(journeyRequest.partialCancel(original, MEMO), asStaff(shopOf(data, original.customer), CANCELLING_ROLES)).outcome;
}

/** A customer takes the rest of their money back (환불). */
export function refundRemainingBalance(data: LoadData): Outcome {
  const customer = randomCustomer(data);
  return send(journeyRequest.refund(customer, MEMO), asStaff(shopOf(data, customer), CANCELLING_ROLES)).outcome;
}

/** The frontend's search box, by name or phone fragment (journey-rules.ts). */
export function searchCustomers(data: LoadData): Outcome {
  const customer = randomCustomer(data);
  const shop = shopOf(data, customer);
  return send(journeyRequest.search(shop.id, customer), asStaff(shop)).outcome;
}

/** A customer's latest ledger rows, newest first in their sequence, as the frontend shows them. */
export function customerHistory(data: LoadData): Outcome {
  const customer = randomCustomer(data);
  return send(journeyRequest.history(customer), asStaff(shopOf(data, customer))).outcome;
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
