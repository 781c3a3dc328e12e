// The sign of each movement type, for the tests and the generator: charge, bonus and deduct_cancel add to
// the balance (and to each of its parts, paid and bonus); deduct, charge_cancel and refund subtract.
// private.record_movement, reconcile_balances() and shop_daily_summaries say the same in SQL
// (migrations 20261201130200 and 20261201130500); the race suites (expectOneNumberedChain) and the chaos
// drill hold this list to them, row by row against the balance_after SQL wrote.

import { MOVEMENT_TYPES, type MovementType } from '../../functions/_shared/money.ts';

export { MOVEMENT_TYPES, type MovementType };

/** The types that add; every other movement subtracts. */
export const ADDING_TYPES: readonly MovementType[] = ['charge', 'bonus', 'deduct_cancel'];

export function movementSign(type: string): 1 | -1 {
  if (!(MOVEMENT_TYPES as readonly string[]).includes(type)) throw new Error(`not a movement type: ${type}`);
  return (ADDING_TYPES as readonly string[]).includes(type) ? 1 : -1;
}

/** A row's signed effect on the balance (`part` 'bonus_amount': on its bonus part). */
export function signedAmount(row: { type: string; amount: number }): number;
export function signedAmount(row: { type: string; bonus_amount: number }, part: 'bonus_amount'): number;
export function signedAmount(row: { type: string; amount?: number; bonus_amount?: number }, part: 'amount' | 'bonus_amount' = 'amount'): number {
  return movementSign(row.type) * row[part]!;
}

/**
 * The same in SQL, for sums over the ledger: `signedSql('t.amount', 't.type')` is
 * `case when t.type in ('charge', 'bonus', 'deduct_cancel') then t.amount else -t.amount end`.
 */
export function signedSql(amount: string, type = 'type'): string {
  return `case when ${type} in (${ADDING_TYPES.map((name) => `'${name}'`).join(', ')}) then ${amount} else -${amount} end`;
}
