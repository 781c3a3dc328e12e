import { expect, it } from 'vitest';
import { movementSign, MOVEMENT_TYPES, signedAmount, signedSql } from '../support/movements.ts';

it('charge, bonus and deduct_cancel add; deduct, charge_cancel and refund subtract; anything else is refused', () => {
  expect(Object.fromEntries(MOVEMENT_TYPES.map((type) => [type, movementSign(type)]))).toEqual({
    charge: 1, bonus: 1, deduct: -1, charge_cancel: -1, deduct_cancel: 1, refund: -1,
  });
  expect(() => movementSign('transfer')).toThrow('not a movement type: transfer');
  expect([signedAmount({ type: 'refund', amount: 7_000 }), signedAmount({ type: 'bonus', bonus_amount: 5_000 }, 'bonus_amount')]).toEqual([-7_000, 5_000]);
  expect(signedSql('t.amount', 't.type')).toBe("case when t.type in ('charge', 'bonus', 'deduct_cancel') then t.amount else -t.amount end");
});
