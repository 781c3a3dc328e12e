// The rules both load drivers (k6/lib/journeys.ts and the bench's scenarios.ts) import: the mix covers
// every draw, the hot customer's moves net to zero, amounts stay on their grid, a wrong PIN is wrong.
import { describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '../../functions/_shared/error_status.ts';
import {
  amountBetween,
  HOT_CUSTOMER,
  isRightMoneyAnswer,
  isRightRefundAnswer,
  journeyRequest,
  MIX_SHARES,
  pickFromMix,
  pickHotCustomerMove,
  partlyReturned,
  RECENT_MOVES_KEPT,
  RecentMoves,
  REFUSALS,
  refusalStatus,
  REQUEST,
  wrongPin,
} from '../../k6/lib/journey-rules.ts';

describe('journey rules', () => {
  it('the mix gives every request kind a share, the shares sum to 1, and each draw lands on its journey', () => {
    expect(Object.keys(MIX_SHARES).sort()).toEqual(Object.values(REQUEST).sort());
    expect(Object.values(MIX_SHARES).reduce((sum, share) => sum + share, 0)).toBeCloseTo(1, 12);
    expect([pickFromMix(0), pickFromMix(0.29), pickFromMix(0.3), pickFromMix(0.58), pickFromMix(0.999999)]).toEqual([
      'kiosk_pay', 'kiosk_pay', 'staff_charge', 'cancel', 'customer_history',
    ]);
  });

  it("the hot customer's top-up equals a payment plus a deduct, each a third of the draws", () => {
    expect(HOT_CUSTOMER.charge).toBe(HOT_CUSTOMER.kioskPay + HOT_CUSTOMER.deduct);
    expect([pickHotCustomerMove(0.1), pickHotCustomerMove(0.5), pickHotCustomerMove(0.9)]).toEqual(['kioskPay', 'deduct', 'charge']);
  });

  it('amounts are whole steps from min to max, both ends included', () => {
    const range = { min: 1_000, max: 15_000, step: 500 };
    expect([amountBetween(range, () => 0), amountBetween(range, () => 0.999999), amountBetween(range, () => 0.5)]).toEqual([1_000, 15_000, 8_000]);
  });

  it("a wrong PIN has the PIN's length and differs only in its last digit", () => {
    expect([wrongPin('1234'), wrongPin('0009'), wrongPin('123456')]).toEqual(['1235', '0000', '123457']);
  });

  it("each refusal's status is the error contract's", () => {
    expect(Object.fromEntries(REFUSALS.map((refusal) => [refusal, refusalStatus(refusal)]))).toEqual({
      insufficient_balance: ERROR_STATUS.insufficient_balance,
      balance_ceiling_exceeded: ERROR_STATUS.balance_ceiling_exceeded,
      pin_invalid: ERROR_STATUS.pin_invalid,
      pin_locked: ERROR_STATUS.pin_locked,
      nothing_to_refund: ERROR_STATUS.nothing_to_refund,
    });
  });

  it('a right money answer has the amount, a balance equal to the row plus the bonus, and is no replay', () => {
    const charge = { transaction: { id: 't1', amount: 50_000, balance_after: 60_000 }, balance: 65_000, bonus: 5_000 };
    expect(isRightMoneyAnswer(charge, 50_000)).toBe(true);
    expect(isRightMoneyAnswer(charge, 40_000)).toBe(false);
    expect(isRightMoneyAnswer({ ...charge, balance: 60_000 }, 50_000)).toBe(false);
    expect(isRightMoneyAnswer({ ...charge, replayed: true }, 50_000)).toBe(false);
    expect(isRightRefundAnswer({ transaction: { id: 't2', amount: 7_000, balance_after: 0 }, balance: 0 })).toBe(true);
    expect(isRightRefundAnswer({ transaction: { id: 't2', amount: 7_000, balance_after: 3_000 }, balance: 3_000 })).toBe(false);
  });

  it('a remembered charge is cancelled with its bonus, at most once; a partial cancel returns half a deduct', () => {
    expect([partlyReturned(15_000), partlyReturned(1_500), partlyReturned(1)]).toEqual([7_500, 750, 1]);
    const charges = new RecentMoves<string>();
    charges.add('c1', 50_000, { transaction: { id: 't1' }, bonus: 5_000 });
    expect(charges.take()).toEqual({ transactionId: 't1', customer: 'c1', amount: 55_000 });
    expect(charges.take()).toBeUndefined();
  });

  it('a driver keeps only its latest moves: the oldest is forgotten once the window is full', () => {
    const charges = new RecentMoves<string>(2);
    for (const id of ['t1', 't2', 't3']) charges.add(id, 1_000, { transaction: { id } });
    expect(charges.size).toBe(2);
    expect([charges.take(() => 0)?.transactionId, charges.take(() => 0)?.transactionId, charges.take()]).toEqual(['t2', 't3', undefined]);
    const everyMove = new RecentMoves<string>();
    for (let n = 0; n < RECENT_MOVES_KEPT * 3; n += 1) everyMove.add('c', 1_000, { transaction: { id: `t${n}` } });
    expect(everyMove.size).toBe(RECENT_MOVES_KEPT);
  });

  it("a search answer is right only with 1 to 20 rows, all of the searched shop and containing the fragment, in any case", () => {
    const customer = { id: 'c1', phone: '010-1234-5678', pin: '1234', name: '김민준' };
    const byPhone = journeyRequest.search('shop-a', customer, () => 0.9);
    expect(byPhone.path).toBe(
      '/rest/v1/customers?select=id,shop_id,name,phone,current_balance&shop_id=eq.shop-a&phone=ilike.*5678*&order=name.asc&limit=20',
    );
    const row = { shop_id: 'shop-a', name: '김민준', phone: '010-1234-5678' };
    expect(byPhone.isRight!([row, { ...row, phone: '010-9999-5678' }])).toBe(true);
    expect(byPhone.isRight!([])).toBe(false);
    expect(byPhone.isRight!([row, { ...row, shop_id: 'shop-b' }])).toBe(false);
    expect(byPhone.isRight!([{ ...row, phone: '010-1234-0000' }])).toBe(false);
    expect(byPhone.isRight!(Array.from({ length: 21 }, () => row))).toBe(false);
    const byName = journeyRequest.search('shop-a', { ...customer, name: 'Kim MinJun' }, () => 0.1);
    expect(byName.path).toContain('&name=ilike.*un*&');
    expect(byName.isRight!([{ shop_id: 'shop-a', name: 'PARK JUN' }])).toBe(true);
  });

  it("a history answer is right only with at most 20 rows of that customer, newest first, with no gap in the sequence", () => {
    const history = journeyRequest.history({ id: 'c1', phone: '010-1234-5678', pin: '1234' });
    const rows = (...sequences: number[]) => sequences.map((sequence) => ({ customer_id: 'c1', sequence }));
    expect(history.isRight!(rows(7, 6, 5))).toBe(true);
    expect(history.isRight!([])).toBe(true);
    expect(history.isRight!(rows(7, 5))).toBe(false);
    expect(history.isRight!(rows(5, 6))).toBe(false);
    expect(history.isRight!([...rows(7), { customer_id: 'c2', sequence: 6 }])).toBe(false);
    expect(history.isRight!({ rows: [] })).toBe(false);
  });

  it('each money journey sends its route and body and expects its own amount back', () => {
    const customer = { id: 'c1', phone: '010-1234-5678', pin: '1234' };
    const paid = journeyRequest.kioskPay(customer, 3_000, true);
    expect(paid).toMatchObject({ path: '/functions/v1/kiosk/pay', body: { phone: customer.phone, pin: '1235', amount: 3_000 }, mustRefuse: true });
    const returned = journeyRequest.partialCancel({ transactionId: 't1', customer, amount: 5_000 }, 'test');
    expect(returned).toMatchObject({ path: '/functions/v1/transactions/cancel', body: { transaction_id: 't1', amount: 2_500, reason: 'test: returned' } });
    expect(returned.isRight!({ transaction: { id: 't2', amount: 2_500, balance_after: 9_500 }, balance: 9_500 })).toBe(true);
    expect(returned.isRight!({ transaction: { id: 't2', amount: 5_000, balance_after: 12_000 }, balance: 12_000 })).toBe(false);
  });
});
