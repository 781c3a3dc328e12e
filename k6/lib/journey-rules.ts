// What a load journey is, written once for both drivers: the k6 scripts (k6/lib/journeys.ts) and the
// Node bench (tests/load_tests/bench/scenarios.ts) import this module and add only how they send a
// request. No k6 import here (as in shape-names.ts), so Node loads it as it is.

import { ERROR_STATUS } from '../../functions/_shared/error_status.ts';
import type { MoneyAnswer, MoneyResult, MoneyTransaction } from '../../functions/_shared/money.ts';

/** The refusals a load run may meet: the product working (a low balance, a locked PIN), never an error. */
export const REFUSALS = ['insufficient_balance', 'balance_ceiling_exceeded', 'pin_invalid', 'pin_locked', 'nothing_to_refund'] as const;
export type Refusal = (typeof REFUSALS)[number];
export type Outcome = 'ok' | Refusal | 'error';

export function isRefusal(code: unknown): code is Refusal {
  return typeof code === 'string' && (REFUSALS as readonly string[]).includes(code);
}

/** The status the error contract gives a refusal (a PIN refusal at the kiosk comes as 200 `{ ok: false }`). */
export function refusalStatus(refusal: Refusal): number {
  return ERROR_STATUS[refusal];
}

/** Whole-won amounts from `min` to `max` in steps of `step`, as prices and top-ups are. */
export interface AmountRange {
  min: number;
  max: number;
  step: number;
}

export function amountBetween({ min, max, step }: AmountRange, random: () => number = Math.random): number {
  return min + step * Math.floor(random() * (Math.floor((max - min) / step) + 1));
}

/** The name tag of each kind of request: metrics, thresholds, the bench's table and logs say which is which. */
export const REQUEST = {
  kioskPay: 'kiosk_pay',
  staffCharge: 'staff_charge',
  staffDeduct: 'staff_deduct',
  cancel: 'cancel',
  partialCancel: 'partial_cancel',
  refund: 'refund',
  searchCustomers: 'search_customers',
  customerHistory: 'customer_history',
} as const;
export type RequestName = (typeof REQUEST)[keyof typeof REQUEST];

/**
 * Each journey of the mix: its amounts and the refusals it may legitimately get.
 * - kiosk payment: a purchase paid with phone and PIN; a mistyped PIN must be refused;
 * - staff charge / deduct: a top-up or a purchase at the counter;
 * - cancel: an owner or manager reverses a top-up the same driver made earlier (a mistaken charge,
 *   found later; its promotion bonus goes back with it), or tops up when it has made none yet; other
 *   traffic may have spent the top-up meanwhile, and refusing the cancel is then right;
 * - partial cancel: a purchase partly returned, an owner or manager cancels half of a counter deduct
 *   the same driver made earlier (which may meet the balance ceiling), or a deduct when it has made none;
 * - refund: the customer takes the rest of their money back (환불); an emptied balance has nothing to refund.
 * Each journey is one request, so a driver's rate is the stack's and each money request that succeeds
 * adds exactly one ledger row with an idempotency key (a charge's bonus row has none).
 */
export const JOURNEY = {
  kioskPay: { amount: { min: 1_000, max: 15_000, step: 500 }, allowed: ['insufficient_balance', 'pin_locked'] },
  mistypedKioskPay: { allowed: ['pin_invalid', 'pin_locked'] },
  staffCharge: { amount: { min: 10_000, max: 100_000, step: 10_000 }, allowed: ['balance_ceiling_exceeded'] },
  staffDeduct: { amount: { min: 1_000, max: 15_000, step: 500 }, allowed: ['insufficient_balance'] },
  cancel: { allowed: ['insufficient_balance'] },
  partialCancel: { returnedShare: 1 / 2, allowed: ['balance_ceiling_exceeded'] },
  refund: { method: 'transfer', allowed: ['nothing_to_refund'] },
} as const satisfies Record<string, { readonly allowed: readonly Refusal[]; readonly [rule: string]: unknown }>;

/** Share of kiosk payments typed with a wrong PIN, as customers do (k6: WRONG_PIN_SHARE overrides it). */
export const WRONG_PIN_SHARE = 0.02;

/** How a day of traffic splits: reads dominate, kiosks take most payments, cancels are rare, partial returns and refunds rarer. */
export const MIX_SHARES: Readonly<Record<RequestName, number>> = {
  kiosk_pay: 0.3,
  staff_charge: 0.15,
  staff_deduct: 0.1,
  cancel: 0.03,
  partial_cancel: 0.015,
  refund: 0.005,
  search_customers: 0.2,
  customer_history: 0.2,
};

/** One journey of the mix for a draw in [0, 1). */
export function pickFromMix(draw: number = Math.random()): RequestName {
  let left = draw;
  const names = Object.keys(MIX_SHARES) as RequestName[];
  for (const name of names) {
    if (left < MIX_SHARES[name]) return name;
    left -= MIX_SHARES[name];
  }
  return names[names.length - 1]!;
}

/**
 * Everyone on one customer: kiosk payments, counter deducts and top-ups, a third each, all waiting for
 * one row lock. A top-up equals a payment plus a deduct, so the balance walks around where it was
 * topped up instead of drifting to zero or to the ceiling.
 */
export const HOT_CUSTOMER = { kioskPay: 500, deduct: 500, charge: 1_000 } as const;
export type HotCustomerMove = keyof typeof HOT_CUSTOMER;

export function pickHotCustomerMove(draw: number = Math.random()): HotCustomerMove {
  return draw < 1 / 3 ? 'kioskPay' : draw < 2 / 3 ? 'deduct' : 'charge';
}

/** Any digit string of the same length that is not the PIN: the last digit moved by one. */
export function wrongPin(pin: string): string {
  return `${pin.slice(0, -1)}${(Number(pin[pin.length - 1]) + 1) % 10}`;
}

/** A body to check against the contract's type: every field there, but not trusted yet. */
type Unchecked<T> = { [K in keyof T]?: unknown };

/** The fields of a money result (functions/_shared/money.ts) that a load run checks. */
type CheckedMoneyFields = Unchecked<Pick<MoneyResult, 'balance' | 'bonus' | 'replayed'>> & {
  transaction?: Unchecked<Pick<MoneyTransaction, 'id' | 'amount' | 'balance_after'>>;
};

/**
 * A correct money answer: a fresh Idempotency-Key never comes back as a replay (the SQL result says
 * `replayed`; over HTTP the caller also checks the `Idempotent-Replayed` header), the row has the amount
 * asked for (`undefined`: any positive amount, as a refund takes whatever the balance was), and the new
 * balance is the ledger row's plus, on a charge, the promotion's bonus written right after it.
 */
export function isRightMoneyAnswer(body: unknown, amount: number | undefined): boolean {
  const result = body as CheckedMoneyFields | null;
  const bonus = typeof result?.bonus === 'number' ? result.bonus : 0;
  const transactionAmount = result?.transaction?.amount;
  return (
    typeof result?.transaction?.id === 'string' &&
    (amount === undefined ? typeof transactionAmount === 'number' && transactionAmount > 0 : transactionAmount === amount) &&
    typeof result.balance === 'number' &&
    result.balance >= 0 &&
    result.balance === Number(result.transaction.balance_after) + bonus &&
    result.replayed !== true
  );
}

/** A refund pays out the paid part and forfeits the bonus: the balance after it is zero. */
export function isRightRefundAnswer(body: unknown): boolean {
  return isRightMoneyAnswer(body, undefined) && (body as { balance: number }).balance === 0;
}

/** A charge or deduct the driver made, kept so that a later cancel journey can reverse it. */
export interface MadeMove<Customer> {
  transactionId: string;
  customer: Customer;
  /** What a whole cancel takes back: the amount plus a charge's promotion bonus. */
  amount: number;
}

/**
 * How many of its latest charges (or deducts) a driver keeps for the cancel journeys. The mix makes
 * five charges for each cancel and about seven deducts for each partial cancel, and the cancel scenario
 * alternates a top-up and its cancel, so a short window always has one to take; older moves are
 * forgotten, so a k6 VU's memory stays the same over an hour's soak.
 */
export const RECENT_MOVES_KEPT = 64;

/** The latest charges (or deducts) a driver (a k6 VU, a bench phase) made and has not reversed yet. */
export class RecentMoves<Customer> {
  private readonly moves: MadeMove<Customer>[] = [];

  constructor(private readonly kept = RECENT_MOVES_KEPT) {}

  /** Remembers a successful charge or deduct from its money answer, forgetting the oldest beyond the window. */
  add(customer: Customer, moved: number, answer: unknown): void {
    const body = answer as MoneyAnswer;
    if (this.moves.length >= this.kept) this.moves.shift();
    this.moves.push({ transactionId: body.transaction.id, customer, amount: moved + (body.bonus ?? 0) });
  }

  /** A random one of them, removed: each is reversed at most once. */
  take(random: () => number = Math.random): MadeMove<Customer> | undefined {
    return this.moves.splice(Math.floor(random() * this.moves.length), 1)[0];
  }

  get size(): number {
    return this.moves.length;
  }
}

/** What a partial cancel returns of a deduct: half, in whole won. */
export function partlyReturned(deducted: number): number {
  return Math.max(1, Math.floor(deducted * JOURNEY.partialCancel.returnedShare));
}

// --- Judging an answer -------------------------------------------------------------------------

/** What an answer must be for its request to count as ok or as a refusal, not as an error. */
export interface Expectation {
  /** Refusals this request may legitimately get. */
  allowed?: readonly Refusal[];
  /** Sent to be refused (a wrong PIN): a success is then the error. */
  mustRefuse?: boolean;
  /** What a success's body must be; a fast wrong answer is still an error. */
  isRight?: (body: unknown) => boolean;
}

/** An answer as a driver got it: the status, the body parsed once (null when not JSON), and the `Idempotent-Replayed` header. */
export interface Received {
  status: number;
  body: unknown;
  replayed: boolean;
}

export type Verdict =
  | { outcome: Exclude<Outcome, 'error'> }
  | { outcome: 'error'; why: 'accepted what must be refused' | 'wrong answer' | 'unexpected answer' };

/**
 * Ok, a refusal the product is meant to give, or an error. A refusal's code is read from the edge
 * functions' `{ error: { code } }` or PostgREST's `{ code }` (an RPC that raised), and must come with
 * the contract's status; kiosk_pay over PostgREST answers a PIN refusal `{ ok: false, code }` with
 * 200, so that the failure count commits. A fresh key answered as a replay is an error.
 */
export function judge({ status, body, replayed }: Received, { allowed = [], mustRefuse = false, isRight }: Expectation): Verdict {
  const refusal = body as { error?: { code?: unknown }; code?: unknown; ok?: unknown } | null;
  const pinRefusal = status === 200 && refusal?.ok === false;
  if (status >= 200 && status < 300 && !pinRefusal) {
    if (mustRefuse) return { outcome: 'error', why: 'accepted what must be refused' };
    return !replayed && (isRight?.(body) ?? true) ? { outcome: 'ok' } : { outcome: 'error', why: 'wrong answer' };
  }
  const code = refusal?.error?.code ?? refusal?.code;
  if (isRefusal(code) && allowed.includes(code) && (pinRefusal || refusalStatus(code) === status)) return { outcome: code };
  return { outcome: 'error', why: 'unexpected answer' };
}

// --- The requests of each journey ----------------------------------------------------------------

/** One request of a journey as both drivers send it; the driver adds who is calling (headers) and, on a POST, a fresh Idempotency-Key. */
export interface JourneyRequest extends Expectation {
  name: RequestName;
  path: string;
  /** The JSON body of a money POST; a read (GET) has none. */
  body?: object;
}

/** Who the requests are about: the customer fields both drivers' datasets have. */
export interface JourneyCustomer {
  id: string;
  phone: string;
  pin: string;
  name?: string;
}

const MONEY_ROUTE = {
  kioskPay: '/functions/v1/kiosk/pay',
  charge: '/functions/v1/transactions/charge',
  deduct: '/functions/v1/transactions/deduct',
  cancel: '/functions/v1/transactions/cancel',
  refund: '/functions/v1/refunds',
} as const;

/** The rows a search or a history asks for, as the frontend pages them. */
export const PAGE_ROWS = 20;

interface CustomerRow {
  shop_id?: unknown;
  [column: string]: unknown;
}

interface LedgerRowSeen {
  customer_id?: unknown;
  sequence?: unknown;
}

/**
 * The requests each journey sends (routes of docs/contract.md) and what a right answer to each is.
 * `memo` says which driver wrote a ledger row ('k6 load', 'bench').
 */
export const journeyRequest = {
  /** A customer pays at the shop's kiosk with phone and PIN; a mistyped PIN must be refused. */
  kioskPay(customer: JourneyCustomer, amount: number, mistyped = false): JourneyRequest {
    return {
      name: REQUEST.kioskPay,
      path: MONEY_ROUTE.kioskPay,
      body: { phone: customer.phone, pin: mistyped ? wrongPin(customer.pin) : customer.pin, amount },
      allowed: mistyped ? JOURNEY.mistypedKioskPay.allowed : JOURNEY.kioskPay.allowed,
      mustRefuse: mistyped,
      isRight: (body) => isRightMoneyAnswer(body, amount),
    };
  },

  /** Staff top up (charge) or take a purchase (deduct) at the counter. */
  counter(move: 'charge' | 'deduct', customer: JourneyCustomer, amount: number, memo: string): JourneyRequest {
    return {
      name: move === 'charge' ? REQUEST.staffCharge : REQUEST.staffDeduct,
      path: MONEY_ROUTE[move],
      body: { customer_id: customer.id, amount, memo },
      allowed: move === 'charge' ? JOURNEY.staffCharge.allowed : JOURNEY.staffDeduct.allowed,
      isRight: (body) => isRightMoneyAnswer(body, amount),
    };
  },

  /** An owner or manager cancels a whole charge the driver made earlier, its bonus with it. */
  cancel(original: MadeMove<unknown>, memo: string): JourneyRequest {
    return {
      name: REQUEST.cancel,
      path: MONEY_ROUTE.cancel,
      body: { transaction_id: original.transactionId, reason: memo },
      allowed: JOURNEY.cancel.allowed,
      isRight: (body) => isRightMoneyAnswer(body, original.amount),
    };
  },

  /** An owner or manager returns part (partlyReturned) of a deduct the driver made earlier. */
  partialCancel(original: MadeMove<unknown>, memo: string): JourneyRequest {
    const returned = partlyReturned(original.amount);
    return {
      name: REQUEST.partialCancel,
      path: MONEY_ROUTE.cancel,
      body: { transaction_id: original.transactionId, amount: returned, reason: `${memo}: returned` },
      allowed: JOURNEY.partialCancel.allowed,
      isRight: (body) => isRightMoneyAnswer(body, returned),
    };
  },

  /** The customer takes the rest of their money back (환불). */
  refund(customer: JourneyCustomer, memo: string): JourneyRequest {
    return {
      name: REQUEST.refund,
      path: MONEY_ROUTE.refund,
      body: { customer_id: customer.id, method: JOURNEY.refund.method, memo },
      allowed: JOURNEY.refund.allowed,
      isRight: isRightRefundAnswer,
    };
  },

  /**
   * The frontend's search box: digits search the phone, anything else the name, both as a fragment
   * (ilike), scoped to the staff member's shop by RLS and by the filter the frontend adds: a given
   * name (the last two syllables of a Korean name) or the last four digits of a phone of the dataset,
   * so at least that customer matches, and every row must be of the shop and contain the fragment.
   */
  search(shopId: string, customer: JourneyCustomer, random: () => number = Math.random): JourneyRequest {
    const byName = customer.name !== undefined && customer.name.length >= 2 && random() < 0.5;
    const column = byName ? 'name' : 'phone';
    const fragment = byName ? customer.name!.slice(-2) : customer.phone.slice(-4);
    return {
      name: REQUEST.searchCustomers,
      path:
        `/rest/v1/customers?select=id,shop_id,name,phone,current_balance&shop_id=eq.${shopId}` +
        `&${column}=ilike.*${encodeURIComponent(fragment)}*&order=name.asc&limit=${PAGE_ROWS}`,
      isRight: (body) =>
        Array.isArray(body) &&
        body.length >= 1 &&
        body.length <= PAGE_ROWS &&
        (body as CustomerRow[]).every(
          (row) => row.shop_id === shopId && String(row[column]).toLowerCase().includes(fragment.toLowerCase()),
        ),
    };
  },

  /** A customer's latest ledger rows, newest first in their sequence with no gap, as the history view shows them. */
  history(customer: JourneyCustomer): JourneyRequest {
    return {
      name: REQUEST.customerHistory,
      path:
        '/rest/v1/transactions?select=id,customer_id,sequence,type,amount,balance_after,memo,created_at' +
        `&customer_id=eq.${customer.id}&order=sequence.desc&limit=${PAGE_ROWS}`,
      isRight: (body) =>
        Array.isArray(body) &&
        body.length <= PAGE_ROWS &&
        (body as LedgerRowSeen[]).every(
          (row, i, rows) => row.customer_id === customer.id && (i === 0 || Number(rows[i - 1]!.sequence) === Number(row.sequence) + 1),
        ),
    };
  },
};
