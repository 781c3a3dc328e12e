/**
 * The constraints hold for any writer, the table owner included: each bad row written straight in
 * SQL (past the functions' own checks) is refused by the named constraint. Each attempt runs in a
 * transaction that is rolled back, so the ledger stays reconciled.
 */
import { describe, expect, it } from 'vitest';
import { createShopWithStaff, db, ledgerCount } from '../support/index.ts';
import { balanceOf, createCustomer, idempotencyKey, mismatches, rpcOk, type MoneyResult } from './support.ts';

/** Runs the statement in a transaction that is always rolled back; returns how it was refused. */
async function refusal(sql: string, params: unknown[]): Promise<{ code: string; constraint?: string }> {
  const client = await db().connect();
  try {
    await client.query('begin');
    await client.query(sql, params);
    return { code: 'accepted' };
  } catch (error) {
    const { code, constraint } = error as { code: string; constraint?: string };
    return constraint ? { code, constraint } : { code };
  } finally {
    await client.query('rollback');
    client.release();
  }
}

const LEDGER_INSERT = `
  insert into public.transactions (shop_id, customer_id, type, amount, balance_after, original_transaction_id,
                                   idempotency_key, actor_user_id, actor_kiosk_id, sequence, bonus_amount, promotion_id)
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`;

/**
 * A shop whose customer was charged 10,000 won once (with the key 'constraints-charge'), and
 * `ledgerRow`: LEDGER_INSERT's parameters for a 1,000 won charge of that customer by the owner, with
 * the given fields changed.
 */
async function chargedCustomer() {
  const world = await createShopWithStaff();
  const customer = await createCustomer(world.owner.id, world.shop.id);
  const charge = await rpcOk<MoneyResult>('charge_balance', {
    p_actor_user_id: world.owner.id,
    p_customer_id: customer.id,
    p_amount: 10_000,
    p_idempotency_key: 'constraints-charge',
  });
  // Sequence numbers far past any the functions give this customer, one per attempted row.
  let nextSequence = 1_000;
  const ledgerRow = (overrides: Partial<Record<'shop' | 'customer' | 'type' | 'amount' | 'after' | 'original' | 'key' | 'user' | 'kiosk' | 'sequence' | 'bonus' | 'promotion', unknown>> = {}) => {
    const row = {
      shop: world.shop.id,
      customer: customer.id,
      type: 'charge',
      amount: 1_000,
      after: 11_000,
      original: null,
      key: idempotencyKey(),
      user: world.owner.id,
      kiosk: null,
      sequence: nextSequence++,
      bonus: 0,
      promotion: null,
      ...overrides,
    };
    return [row.shop, row.customer, row.type, row.amount, row.after, row.original, row.key, row.user, row.kiosk, row.sequence, row.bonus, row.promotion];
  };
  return { world, customer, charge, ledgerRow };
}

describe('customers', () => {
  it('a balance cannot go below zero', async () => {
    const { customer } = await chargedCustomer();
    expect(await refusal('update public.customers set current_balance = -1 where id = $1', [customer.id]))
      .toEqual({ code: '23514', constraint: 'customers_balance_not_negative' });
  });

  it('the bonus balance is never negative nor more than the balance (so the paid balance is never negative)', async () => {
    const { customer } = await chargedCustomer();
    expect(await refusal('update public.customers set bonus_balance = 10_001 where id = $1', [customer.id]))
      .toEqual({ code: '23514', constraint: 'customers_bonus_balance_range' });
    expect(await refusal('update public.customers set bonus_balance = -1 where id = $1', [customer.id]))
      .toEqual({ code: '23514', constraint: 'customers_bonus_balance_range' });
  });

  it('a phone is unique within its shop and written 010-dddd-dddd', async () => {
    const { world, customer } = await chargedCustomer();
    expect(await refusal('insert into public.customers (shop_id, name, phone) values ($1, $2, $3)', [world.shop.id, '중복', customer.phone]))
      .toEqual({ code: '23505', constraint: 'customers_phone_unique_in_shop' });
    expect(await refusal('insert into public.customers (shop_id, name, phone) values ($1, $2, $3)', [world.shop.id, '형식', '01012345678']))
      .toEqual({ code: '23514', constraint: 'customers_phone_format' });
  });
});

describe('transactions', () => {
  it.each([0, -5, 10_000_001])('an amount of %i is refused', async (amount) => {
    const { ledgerRow } = await chargedCustomer();
    expect(await refusal(LEDGER_INSERT, ledgerRow({ amount })))
      .toEqual({ code: '23514', constraint: 'transactions_amount_range' });
  });

  it('an unknown type is refused', async () => {
    const { ledgerRow } = await chargedCustomer();
    expect(await refusal(LEDGER_INSERT, ledgerRow({ type: 'gift' })))
      .toEqual({ code: '23514', constraint: 'transactions_type_known' });
  });

  it('a negative balance_after is refused', async () => {
    const { ledgerRow } = await chargedCustomer();
    expect(await refusal(LEDGER_INSERT, ledgerRow({ type: 'deduct', after: -1 })))
      .toEqual({ code: '23514', constraint: 'transactions_balance_after_not_negative' });
  });

  it('a reversal needs its original, and only a reversal may have one', async () => {
    const { charge, ledgerRow } = await chargedCustomer();
    expect(await refusal(LEDGER_INSERT, ledgerRow({ type: 'charge_cancel', after: 9_000 })))
      .toEqual({ code: '23514', constraint: 'transactions_reversal_has_original' });
    expect(await refusal(LEDGER_INSERT, ledgerRow({ original: charge.transaction.id })))
      .toEqual({ code: '23514', constraint: 'transactions_reversal_has_original' });
  });

  // A reversal's customer is its original's by construction (the cancel takes it from the original,
  // and no role but the owner writes the ledger: tests/database/row_level_security.test.ts); the key keeps
  // the original in the reversal's shop.
  it('a reversal\'s original is of the reversal\'s own shop', async () => {
    const [{ charge, ledgerRow }, other] = await Promise.all([chargedCustomer(), createShopWithStaff()]);
    const stranger = await createCustomer(other.owner.id, other.shop.id);
    expect(await refusal(LEDGER_INSERT, ledgerRow({ shop: other.shop.id, customer: stranger.id, user: other.owner.id, type: 'charge_cancel', amount: 10_000, after: 0, original: charge.transaction.id })))
      .toEqual({ code: '23503', constraint: 'transactions_original_transaction_fkey' });
  });

  it('a charge has at most one cancel', async () => {
    const { charge, ledgerRow } = await chargedCustomer();
    const reversal = ledgerRow({ type: 'charge_cancel', amount: 10_000, after: 0, original: charge.transaction.id });
    const client = await db().connect();
    try {
      await client.query('begin');
      await client.query(LEDGER_INSERT, reversal);
      await expect(client.query(LEDGER_INSERT, ledgerRow({ type: 'charge_cancel', amount: 10_000, after: 0, original: charge.transaction.id })))
        .rejects.toMatchObject({ code: '23505', constraint: 'transactions_one_bonus_and_one_cancel_per_charge' });
    } finally {
      await client.query('rollback');
      client.release();
    }
  });

  it('an idempotency key is unique within a shop', async () => {
    const { ledgerRow } = await chargedCustomer();
    expect(await refusal(LEDGER_INSERT, ledgerRow({ key: 'constraints-charge' })))
      .toEqual({ code: '23505', constraint: 'transactions_idempotency_key_unique_in_shop' });
  });

  it('a row\'s bonus part is within its amount, and a charge moves paid money only', async () => {
    const { ledgerRow } = await chargedCustomer();
    expect(await refusal(LEDGER_INSERT, ledgerRow({ type: 'deduct', amount: 1_000, after: 9_000, bonus: 1_001 })))
      .toEqual({ code: '23514', constraint: 'transactions_bonus_amount_range' });
    expect(await refusal(LEDGER_INSERT, ledgerRow({ bonus: 1 })))
      .toEqual({ code: '23514', constraint: 'transactions_charge_is_paid' });
  });

  it('only a bonus row goes without an idempotency key, and only it names a promotion', async () => {
    const { ledgerRow } = await chargedCustomer();
    expect(await refusal(LEDGER_INSERT, ledgerRow({ key: null })))
      .toEqual({ code: '23514', constraint: 'transactions_idempotency_key_only_for_requests' });
    // The check runs as the row is written, before the promotion's foreign key is looked up.
    expect(await refusal(LEDGER_INSERT, ledgerRow({ promotion: crypto.randomUUID() })))
      .toEqual({ code: '23514', constraint: 'transactions_promotion_only_on_bonus' });
  });

  it('a customer\'s sequence number is used once', async () => {
    const { ledgerRow } = await chargedCustomer();
    expect(await refusal(LEDGER_INSERT, ledgerRow({ sequence: 1 })))
      .toEqual({ code: '23505', constraint: 'transactions_sequence_unique_per_customer' });
  });

  it('exactly one actor, a user or a kiosk, is named', async () => {
    const { ledgerRow } = await chargedCustomer();
    expect(await refusal(LEDGER_INSERT, ledgerRow({ user: null })))
      .toEqual({ code: '23514', constraint: 'transactions_one_actor' });
  });

  it('a ledger row belongs to its customer\'s shop', async () => {
    const [{ ledgerRow }, other] = await Promise.all([chargedCustomer(), createShopWithStaff()]);
    expect(await refusal(LEDGER_INSERT, ledgerRow({ shop: other.shop.id })))
      .toEqual({ code: '23503', constraint: 'transactions_customer_fkey' });
  });

  it('a kiosk acts only for its own shop', async () => {
    const [{ ledgerRow }, other] = await Promise.all([chargedCustomer(), createShopWithStaff()]);
    const { kiosk } = await rpcOk<{ kiosk: { id: string } }>('register_kiosk', {
      p_actor_user_id: other.owner.id,
      p_shop_id: other.shop.id,
      p_name: '다른 가게',
    });
    expect(await refusal(LEDGER_INSERT, ledgerRow({ type: 'deduct', after: 9_000, user: null, kiosk: kiosk.id })))
      .toEqual({ code: '23503', constraint: 'transactions_actor_kiosk_fkey' });
  });

  it('foreign keys refuse an unknown customer', async () => {
    const { ledgerRow } = await chargedCustomer();
    expect(await refusal(LEDGER_INSERT, ledgerRow({ customer: '00000000-0000-4000-8000-000000000000' })))
      .toMatchObject({ code: '23503' });
  });

  it('refused rows, and a row rolled back, leave no trace: the ledger still reconciles', async () => {
    const { customer, charge, ledgerRow } = await chargedCustomer();
    const attempts: Array<[string, unknown[]]> = [
      ['update public.customers set current_balance = -1 where id = $1', [customer.id]],
      [LEDGER_INSERT, ledgerRow({ amount: 0 })],
      [LEDGER_INSERT, ledgerRow({ type: 'gift' })],
      [LEDGER_INSERT, ledgerRow({ type: 'deduct', after: -1 })],
      [LEDGER_INSERT, ledgerRow({ key: 'constraints-charge' })],
      [LEDGER_INSERT, ledgerRow({ sequence: 1 })],
      [LEDGER_INSERT, ledgerRow({ user: null })],
      // A valid cancel: written, then rolled back with its transaction.
      [LEDGER_INSERT, ledgerRow({ type: 'charge_cancel', amount: 10_000, after: 0, original: charge.transaction.id })],
    ];
    const codes: string[] = [];
    for (const [sql, params] of attempts) codes.push((await refusal(sql, params)).code);
    expect(codes).toEqual(['23514', '23514', '23514', '23514', '23505', '23505', '23514', 'accepted']);
    expect(await mismatches()).toEqual([]);
    expect(await balanceOf(customer.id)).toBe(10_000);
    expect(await ledgerCount(customer.id)).toBe(1);
  });
});

describe('shops and members', () => {
  it('a member\'s role is owner, manager or staff', async () => {
    const world = await createShopWithStaff();
    expect(await refusal('update public.shop_members set role = $1 where shop_id = $2', ['admin', world.shop.id]))
      .toEqual({ code: '23514', constraint: 'shop_members_role_known' });
  });

  it('a shop\'s ceiling and PIN settings stay positive', async () => {
    const world = await createShopWithStaff();
    expect(await refusal('update public.shops set max_balance = 0 where id = $1', [world.shop.id]))
      .toEqual({ code: '23514', constraint: 'shops_max_balance_positive' });
    expect(await refusal('update public.shops set pin_max_attempts = 0 where id = $1', [world.shop.id]))
      .toEqual({ code: '23514', constraint: 'shops_pin_max_attempts_range' });
  });
});
