/**
 * charge_balance, deduct_balance and cancel_transaction through supabase.rpc with the service role,
 * as the edge functions call them: every success with its exact balance, every refusal with its
 * contract code and HTTP status, idempotent replays, and the ledger left consistent.
 */
import { describe, expect, it } from 'vitest';
import { createShopWithStaff, db, ledgerCount } from '../support/index.ts';
import {
  balanceOf,
  createCustomer,
  idempotencyKey,
  mismatches,
  rpcOk,
  rpcRefused,
  type MoneyResult,
} from './support.ts';

function charge(actor: string, customerId: string, amount: number, key = idempotencyKey(), memo?: string) {
  return { p_actor_user_id: actor, p_customer_id: customerId, p_amount: amount, p_idempotency_key: key, p_memo: memo ?? null };
}

function cancel(actor: string, transactionId: string, key = idempotencyKey(), reason?: string) {
  return { p_actor_user_id: actor, p_transaction_id: transactionId, p_idempotency_key: key, p_reason: reason ?? null };
}

describe('charge_balance and deduct_balance', () => {
  it('a charge adds to the balance and writes one ledger row with balance_after', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id);
    const result = await rpcOk<MoneyResult>('charge_balance', charge(world.staff.id, customer.id, 50_000, 'c-1', '첫 충전'));
    expect(result).toMatchObject({
      balance: 50_000,
      replayed: false,
      transaction: { type: 'charge', amount: 50_000, balance_after: 50_000, customer_id: customer.id, original_transaction_id: null },
    });
    const { rows } = await db().query(
      `select type, amount::int, balance_after::int, actor_user_id, actor_kiosk_id, memo, idempotency_key, shop_id
       from public.transactions where customer_id = $1`,
      [customer.id],
    );
    expect(rows).toEqual([
      { type: 'charge', amount: 50_000, balance_after: 50_000, actor_user_id: world.staff.id, actor_kiosk_id: null, memo: '첫 충전', idempotency_key: 'c-1', shop_id: world.shop.id },
    ]);
    expect(await balanceOf(customer.id)).toBe(50_000);
  });

  it('a deduct takes from the balance, and one that would go below zero is refused with insufficient_balance', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { balance: 10_000 });
    const paid = await rpcOk<MoneyResult>('deduct_balance', charge(world.staff.id, customer.id, 7_000));
    expect(paid).toMatchObject({ balance: 3_000, transaction: { type: 'deduct', amount: 7_000, balance_after: 3_000 } });
    const refusal = await rpcRefused('deduct_balance', charge(world.staff.id, customer.id, 3_001), 'insufficient_balance', 409);
    expect(JSON.parse(refusal.details)).toEqual({ balance: 3_000, paid_balance: 3_000, bonus_balance: 0, amount: 3_001 });
    const emptied = await rpcOk<MoneyResult>('deduct_balance', charge(world.staff.id, customer.id, 3_000));
    expect(emptied.balance).toBe(0);
    expect(await balanceOf(customer.id)).toBe(0);
  });

  it('a charge above the shop ceiling is refused with balance_ceiling_exceeded; reaching it exactly is allowed', async () => {
    const world = await createShopWithStaff({ maxBalance: 100_000 });
    const customer = await createCustomer(world.owner.id, world.shop.id, { balance: 90_000 });
    await rpcRefused('charge_balance', charge(world.staff.id, customer.id, 10_001), 'balance_ceiling_exceeded', 409);
    const full = await rpcOk<MoneyResult>('charge_balance', charge(world.staff.id, customer.id, 10_000));
    expect(full.balance).toBe(100_000);
    await rpcRefused('charge_balance', charge(world.staff.id, customer.id, 1), 'balance_ceiling_exceeded', 409);
  });

  it('the default ceiling is 2,000,000 won', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { balance: 2_000_000 });
    expect(await balanceOf(customer.id)).toBe(2_000_000);
    await rpcRefused('charge_balance', charge(world.staff.id, customer.id, 1), 'balance_ceiling_exceeded', 409);
  });

  it.each([0, -1, 10_000_001])('an amount of %i is refused with invalid_amount and changes nothing', async (amount) => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { balance: 5_000 });
    await rpcRefused('charge_balance', charge(world.staff.id, customer.id, amount), 'invalid_amount', 400);
    await rpcRefused('deduct_balance', charge(world.staff.id, customer.id, amount), 'invalid_amount', 400);
    expect(await balanceOf(customer.id)).toBe(5_000);
  });

  it('an unknown customer is customer_not_found, another shop\'s customer answers the same', async () => {
    const [world, other] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    await rpcRefused('charge_balance', charge(world.staff.id, '00000000-0000-4000-8000-000000000000', 1_000), 'customer_not_found', 404);
    const theirs = await createCustomer(other.owner.id, other.shop.id, { balance: 1_000 });
    await rpcRefused('deduct_balance', charge(world.owner.id, theirs.id, 1_000), 'customer_not_found', 404);
    await rpcRefused('charge_balance', charge(world.owner.id, theirs.id, 1_000), 'customer_not_found', 404);
    expect(await balanceOf(theirs.id)).toBe(1_000);
  });

  it('a call without an acting user is not_authenticated', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id);
    await rpcRefused('charge_balance', { ...charge(world.owner.id, customer.id, 1_000), p_actor_user_id: null }, 'not_authenticated', 401);
  });

  it.each([null, '', 'has space', 'x'.repeat(201)])('an idempotency key of %j is refused with idempotency_key_required', async (key) => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id);
    await rpcRefused('charge_balance', { ...charge(world.staff.id, customer.id, 1_000), p_idempotency_key: key }, 'idempotency_key_required', 400);
    expect(await balanceOf(customer.id)).toBe(0);
  });

  it('a memo over 500 characters is refused with validation_failed', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id);
    await rpcRefused('charge_balance', charge(world.staff.id, customer.id, 1_000, idempotencyKey(), '가'.repeat(501)), 'validation_failed', 400);
  });
});

describe('idempotency', () => {
  it('a replay with the same key and parameters returns the original transaction and changes nothing', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id);
    const first = await rpcOk<MoneyResult>('charge_balance', charge(world.staff.id, customer.id, 20_000, 'replay-1'));
    await rpcOk('charge_balance', charge(world.staff.id, customer.id, 5_000));
    const again = await rpcOk<MoneyResult>('charge_balance', charge(world.staff.id, customer.id, 20_000, 'replay-1'));
    expect(again).toEqual({ ...first, replayed: true });
    expect(await balanceOf(customer.id)).toBe(25_000);
    expect(await ledgerCount(customer.id)).toBe(2);
  });

  it('the same key with another amount, customer, type or actor is refused with idempotency_key_reused', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { balance: 10_000 });
    const second = await createCustomer(world.owner.id, world.shop.id);
    await rpcOk('charge_balance', charge(world.staff.id, customer.id, 1_000, 'reuse-1'));
    await rpcRefused('charge_balance', charge(world.staff.id, customer.id, 1_001, 'reuse-1'), 'idempotency_key_reused', 409);
    await rpcRefused('charge_balance', charge(world.staff.id, second.id, 1_000, 'reuse-1'), 'idempotency_key_reused', 409);
    await rpcRefused('deduct_balance', charge(world.staff.id, customer.id, 1_000, 'reuse-1'), 'idempotency_key_reused', 409);
    await rpcRefused('charge_balance', charge(world.manager.id, customer.id, 1_000, 'reuse-1'), 'idempotency_key_reused', 409);
    await rpcRefused('charge_balance', charge(world.staff.id, customer.id, 1_000, 'reuse-1', 'memo'), 'idempotency_key_reused', 409);
    expect(await balanceOf(customer.id)).toBe(11_000);
    expect(await balanceOf(second.id)).toBe(0);
  });

  it('keys are per shop: another shop may use the same key', async () => {
    const [world, other] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    const mine = await createCustomer(world.owner.id, world.shop.id);
    const theirs = await createCustomer(other.owner.id, other.shop.id);
    await rpcOk('charge_balance', charge(world.staff.id, mine.id, 1_000, 'shared-key'));
    const result = await rpcOk<MoneyResult>('charge_balance', charge(other.staff.id, theirs.id, 2_000, 'shared-key'));
    expect(result).toMatchObject({ balance: 2_000, replayed: false });
  });

  it('a refused call does not use up its key', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { balance: 1_000 });
    await rpcRefused('deduct_balance', charge(world.staff.id, customer.id, 2_000, 'retry-after-charge'), 'insufficient_balance', 409);
    await rpcOk('charge_balance', charge(world.staff.id, customer.id, 1_000));
    const paid = await rpcOk<MoneyResult>('deduct_balance', charge(world.staff.id, customer.id, 2_000, 'retry-after-charge'));
    expect(paid).toMatchObject({ balance: 0, replayed: false });
  });
});

describe('cancel_transaction', () => {
  it('cancelling a charge writes a linked charge_cancel and takes the amount back', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id);
    const charged = await rpcOk<MoneyResult>('charge_balance', charge(world.staff.id, customer.id, 30_000));
    const reversed = await rpcOk<MoneyResult>('cancel_transaction', cancel(world.manager.id, charged.transaction.id, idempotencyKey(), '잘못 충전'));
    expect(reversed).toMatchObject({
      balance: 0,
      replayed: false,
      transaction: { type: 'charge_cancel', amount: 30_000, balance_after: 0, original_transaction_id: charged.transaction.id },
    });
    expect(await balanceOf(customer.id)).toBe(0);
  });

  it('cancelling a deduct writes a deduct_cancel and gives the amount back', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { balance: 10_000 });
    const paid = await rpcOk<MoneyResult>('deduct_balance', charge(world.staff.id, customer.id, 4_000));
    const reversed = await rpcOk<MoneyResult>('cancel_transaction', cancel(world.owner.id, paid.transaction.id));
    expect(reversed).toMatchObject({ balance: 10_000, transaction: { type: 'deduct_cancel', amount: 4_000, balance_after: 10_000 } });
  });

  it('a transaction is cancelled once: the second cancel is already_cancelled', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { balance: 10_000 });
    const paid = await rpcOk<MoneyResult>('deduct_balance', charge(world.staff.id, customer.id, 4_000));
    const first = await rpcOk<MoneyResult>('cancel_transaction', cancel(world.owner.id, paid.transaction.id));
    const refusal = await rpcRefused('cancel_transaction', cancel(world.owner.id, paid.transaction.id), 'already_cancelled', 409);
    expect(JSON.parse(refusal.details)).toEqual({ transaction_id: paid.transaction.id, reversal_id: first.transaction.id });
    expect(await balanceOf(customer.id)).toBe(10_000);
  });

  it('a replayed cancel answers its reversal, not already_cancelled', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { balance: 10_000 });
    const paid = await rpcOk<MoneyResult>('deduct_balance', charge(world.staff.id, customer.id, 4_000));
    const first = await rpcOk<MoneyResult>('cancel_transaction', cancel(world.owner.id, paid.transaction.id, 'cancel-once'));
    const again = await rpcOk<MoneyResult>('cancel_transaction', cancel(world.owner.id, paid.transaction.id, 'cancel-once'));
    expect(again).toEqual({ ...first, replayed: true });
  });

  it('a reversal cannot be cancelled', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { balance: 10_000 });
    const paid = await rpcOk<MoneyResult>('deduct_balance', charge(world.staff.id, customer.id, 4_000));
    const reversal = await rpcOk<MoneyResult>('cancel_transaction', cancel(world.owner.id, paid.transaction.id));
    await rpcRefused('cancel_transaction', cancel(world.owner.id, reversal.transaction.id), 'cannot_cancel_reversal', 409);
    expect(await balanceOf(customer.id)).toBe(10_000);
  });

  it('cancelling a charge already spent is insufficient_balance', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id);
    const charged = await rpcOk<MoneyResult>('charge_balance', charge(world.staff.id, customer.id, 10_000));
    await rpcOk('deduct_balance', charge(world.staff.id, customer.id, 6_000));
    await rpcRefused('cancel_transaction', cancel(world.owner.id, charged.transaction.id), 'insufficient_balance', 409);
    expect(await balanceOf(customer.id)).toBe(4_000);
  });

  it('cancelling a deduct that would pass the ceiling is balance_ceiling_exceeded', async () => {
    const world = await createShopWithStaff({ maxBalance: 100_000 });
    const customer = await createCustomer(world.owner.id, world.shop.id, { balance: 50_000 });
    const paid = await rpcOk<MoneyResult>('deduct_balance', charge(world.staff.id, customer.id, 40_000));
    await rpcOk('charge_balance', charge(world.staff.id, customer.id, 80_000));
    await rpcRefused('cancel_transaction', cancel(world.owner.id, paid.transaction.id), 'balance_ceiling_exceeded', 409);
    expect(await balanceOf(customer.id)).toBe(90_000);
  });

  it('staff may not cancel (insufficient_role); an unknown transaction is transaction_not_found; another shop\'s is too', async () => {
    const [world, other] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    const customer = await createCustomer(world.owner.id, world.shop.id, { balance: 10_000 });
    const paid = await rpcOk<MoneyResult>('deduct_balance', charge(world.staff.id, customer.id, 1_000));
    await rpcRefused('cancel_transaction', cancel(world.staff.id, paid.transaction.id), 'insufficient_role', 403);
    await rpcRefused('cancel_transaction', cancel(world.owner.id, '00000000-0000-4000-8000-000000000000'), 'transaction_not_found', 404);
    await rpcRefused('cancel_transaction', cancel(other.owner.id, paid.transaction.id), 'transaction_not_found', 404);
    expect(await balanceOf(customer.id)).toBe(9_000);
  });
});

describe('the ledger', () => {
  it('reconcile_balances finds no customer whose balance differs from their ledger', async () => {
    expect(await mismatches()).toEqual([]);
  });

  it('reconcile_balances reports a balance changed behind the ledger\'s back, with both figures', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { balance: 7_000 });
    const client = await db().connect();
    try {
      // A transaction the test rolls back: the broken balance is visible only to this connection.
      await client.query('begin');
      await client.query('update public.customers set current_balance = 7_001 where id = $1', [customer.id]);
      const { rows } = await client.query('select customer_id, shop_id, current_balance::int, ledger_balance::int from public.reconcile_balances()');
      expect(rows).toEqual([{ customer_id: customer.id, shop_id: world.shop.id, current_balance: 7_001, ledger_balance: 7_000 }]);
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});
