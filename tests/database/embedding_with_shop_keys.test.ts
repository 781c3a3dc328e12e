/**
 * supabase-js embeds across the shop-keyed foreign keys (issue 16): PostgREST finds each relationship
 * from a composite key (customer_id, shop_id) -> customers (id, shop_id) and the like, and RLS still
 * shows a member their own shop's rows only. Also: the money functions route by a given shop, and a
 * shop that is not the customer's answers as an unknown id.
 */
import { describe, expect, it } from 'vitest';
import { createShopWithStaff, untyped } from '../support/index.ts';
import { createCustomer, idempotencyKey, rpcOk, rpcRefused, type MoneyResult } from './support.ts';

/**
 * A shop whose customer 이서연 was charged 30,000 won and had the charge cancelled, and another shop
 * with a customer of its own (남의 손님, 5,000 won).
 */
async function twoShopsWithLedgers() {
  const [shop, other] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
  const [customer] = await Promise.all([
    createCustomer(shop.owner.id, shop.shop.id, { name: '이서연' }),
    createCustomer(other.owner.id, other.shop.id, { name: '남의 손님', balance: 5_000 }),
  ]);
  const charge = await rpcOk<MoneyResult>('charge_balance', {
    p_actor_user_id: shop.staff.id, p_customer_id: customer.id, p_amount: 30_000, p_idempotency_key: idempotencyKey('embed'),
    p_shop_id: shop.shop.id,
  });
  const cancel = await rpcOk<MoneyResult>('cancel_transaction', {
    p_actor_user_id: shop.owner.id, p_transaction_id: charge.transaction.id, p_idempotency_key: idempotencyKey('embed'),
  });
  return { shop, other, customer, charge, cancel };
}

describe('embedding through composite keys, under RLS', () => {
  it('transactions?select=*,customers(name): each ledger row with its customer', async () => {
    const { shop, charge, cancel } = await twoShopsWithLedgers();
    const { data, error } = await untyped(shop.staff.client)
      .from('transactions').select('id, type, amount, customers(name)').order('sequence');
    expect(error).toBeNull();
    expect(data).toEqual([
      { id: charge.transaction.id, type: 'charge', amount: 30_000, customers: { name: '이서연' } },
      { id: cancel.transaction.id, type: 'charge_cancel', amount: 30_000, customers: { name: '이서연' } },
    ]);
  });

  it('customers?select=*,transactions(*): each customer with their ledger rows', async () => {
    const { shop } = await twoShopsWithLedgers();
    const { data, error } = await untyped(shop.manager.client)
      .from('customers').select('name, current_balance, transactions(type, sequence)').order('sequence', { referencedTable: 'transactions' });
    expect(error).toBeNull();
    expect(data).toEqual([
      { name: '이서연', current_balance: 0, transactions: [{ type: 'charge', sequence: 1 }, { type: 'charge_cancel', sequence: 2 }] },
    ]);
  });

  it('another shop\'s member embeds nothing of this shop', async () => {
    const { other } = await twoShopsWithLedgers();
    const { data, error } = await untyped(other.owner.client).from('customers').select('name, transactions(type)');
    expect(error).toBeNull();
    expect(data).toEqual([{ name: '남의 손님', transactions: [{ type: 'charge' }] }]);
  });
});

describe('the money functions route by the shop they are given', () => {
  it('with the customer\'s shop they act; with another shop they answer as for an unknown customer', async () => {
    const { shop, other, customer } = await twoShopsWithLedgers();
    const given = await rpcOk<MoneyResult>('charge_balance', {
      p_actor_user_id: shop.staff.id, p_customer_id: customer.id, p_amount: 1_000, p_idempotency_key: idempotencyKey('route'),
      p_shop_id: shop.shop.id,
    });
    expect(given.balance).toBe(1_000);
    // The staff member is a member of both shops here, so only the routing can refuse it.
    await rpcOk('add_shop_member', { p_actor_user_id: other.owner.id, p_shop_id: other.shop.id, p_email: shop.staff.email, p_role: 'staff' });
    const wrong = await rpcRefused('charge_balance', {
      p_actor_user_id: shop.staff.id, p_customer_id: customer.id, p_amount: 1_000, p_idempotency_key: idempotencyKey('route'),
      p_shop_id: other.shop.id,
    }, 'customer_not_found', 404);
    const unknown = await rpcRefused('charge_balance', {
      p_actor_user_id: shop.staff.id, p_customer_id: crypto.randomUUID(), p_amount: 1_000, p_idempotency_key: idempotencyKey('route'),
    }, 'customer_not_found', 404);
    expect({ message: wrong.message, details: JSON.parse(wrong.details) }).toEqual({ message: unknown.message, details: { customer_id: customer.id } });
    await rpcRefused('cancel_transaction', {
      p_actor_user_id: shop.owner.id, p_transaction_id: given.transaction.id, p_idempotency_key: idempotencyKey('route'),
      p_shop_id: other.shop.id,
    }, 'transaction_not_found', 404);
    await rpcRefused('set_pin', { p_actor_user_id: shop.staff.id, p_customer_id: customer.id, p_pin: '1234', p_shop_id: other.shop.id },
      'customer_not_found', 404);
  });
});
