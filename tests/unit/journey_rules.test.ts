// The rules both load drivers (k6/lib/journeys.ts and the bench's scenarios.ts) import: the mix covers
// every draw, the hot customer's moves net to zero, amounts stay on their grid, a wrong PIN is wrong.
import { describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '../../functions/_shared/error_status.ts';
import {
  amountBetween,
  HOT_CUSTOMER,
  isRightMoneyAnswer,
  isRightRefundAnswer,
  MIX_SHARES,
  pickFromMix,
  pickHotCustomerMove,
  partlyReturned,
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
      balance_ceiling_exceeded: 409,
      pin_invalid: 401,
      pin_locked: 423,
      nothing_to_refund: 409,
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
});
