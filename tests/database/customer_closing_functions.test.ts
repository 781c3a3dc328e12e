/**
 * Closing a customer and erasing their personal data (close_customer, erase_customer): a closed
 * customer's balance never moves again and gets no PIN or new name; an erased one keeps every ledger
 * row while name, phone and PIN are gone.
 */
import { describe, expect, it } from 'vitest';
import { createShopWithStaff, db, ledgerCount, type ShopWithStaff } from '../support/index.ts';
import { balanceOf, createCustomer, idempotencyKey, mismatches, phone, rpcOk, rpcRefused, type Customer, type MoneyResult } from './support.ts';

interface ClosedCustomer extends Customer {
  closed_at: string | null;
  erased_at: string | null;
}

const money = (world: ShopWithStaff, customerId: string, amount: number) => ({
  p_actor_user_id: world.owner.id,
  p_customer_id: customerId,
  p_amount: amount,
  p_idempotency_key: idempotencyKey(),
});

async function closedCustomer(world: ShopWithStaff, options: { pin?: string } = {}): Promise<{ customer: Customer; chargeId: string }> {
  const customer = await createCustomer(world.owner.id, world.shop.id, { pin: options.pin });
  const charged = await rpcOk<MoneyResult>('charge_balance', money(world, customer.id, 5_000));
  await rpcOk('deduct_balance', money(world, customer.id, 5_000));
  await rpcOk('close_customer', { p_actor_user_id: world.manager.id, p_customer_id: customer.id });
  return { customer, chargeId: charged.transaction.id };
}

describe('close_customer', () => {
  it('refuses while money is left (balance_not_zero) and closes at zero; closing twice is customer_closed', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { balance: 3_000 });
    const refused = await rpcRefused('close_customer', { p_actor_user_id: world.owner.id, p_customer_id: customer.id }, 'balance_not_zero', 409);
    expect(JSON.parse(refused.details)).toEqual({ customer_id: customer.id, balance: 3_000 });

    await rpcOk('deduct_balance', money(world, customer.id, 3_000));
    const { customer: closed } = await rpcOk<{ customer: ClosedCustomer }>('close_customer', { p_actor_user_id: world.owner.id, p_customer_id: customer.id });
    expect(closed).toMatchObject({ id: customer.id, current_balance: 0, erased_at: null });
    expect(closed.closed_at).toEqual(expect.any(String));
    await rpcRefused('close_customer', { p_actor_user_id: world.owner.id, p_customer_id: customer.id }, 'customer_closed', 409);
    await rpcRefused('close_customer', { p_actor_user_id: world.owner.id, p_customer_id: crypto.randomUUID() }, 'customer_not_found', 404);
  });

  it('a closed customer is not charged, deducted, cancelled into, paid at a kiosk, given a PIN or renamed', async () => {
    const world = await createShopWithStaff();
    const { customer, chargeId } = await closedCustomer(world, { pin: '1234' });
    const before = await ledgerCount(customer.id);

    await rpcRefused('charge_balance', money(world, customer.id, 1_000), 'customer_closed', 409);
    await rpcRefused('deduct_balance', money(world, customer.id, 1_000), 'customer_closed', 409);
    await rpcRefused('cancel_transaction', { p_actor_user_id: world.owner.id, p_transaction_id: chargeId, p_idempotency_key: idempotencyKey() }, 'customer_closed', 409);
    const { device_key } = await rpcOk<{ device_key: string }>('register_kiosk', { p_actor_user_id: world.owner.id, p_shop_id: world.shop.id, p_name: '키오스크' });
    await rpcRefused('kiosk_pay', { p_kiosk_key: device_key, p_phone: customer.phone, p_pin: '1234', p_amount: 1_000, p_idempotency_key: idempotencyKey() }, 'customer_closed', 409);
    await rpcRefused('set_pin', { p_actor_user_id: world.staff.id, p_customer_id: customer.id, p_pin: '9999' }, 'customer_closed', 409);
    await rpcRefused('update_customer', { p_actor_user_id: world.staff.id, p_customer_id: customer.id, p_name: '새 이름' }, 'customer_closed', 409);

    expect(await ledgerCount(customer.id)).toBe(before);
    expect(await balanceOf(customer.id)).toBe(0);
    // Reads still show them, to the staff, through RLS.
    const read = await world.staff.client.from('customers').select('id, name, closed_at').eq('id', customer.id).single();
    expect(read.data).toMatchObject({ id: customer.id, name: customer.name });
    expect(read.data!.closed_at).toEqual(expect.any(String));
  });

  it('the table refuses a closed customer with money even past the functions', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { balance: 1_000 });
    await expect(db().query('update public.customers set closed_at = now() where id = $1', [customer.id])).rejects.toMatchObject({
      code: '23514',
      constraint: 'customers_closed_with_zero_balance',
    });
  });
});

describe('erase_customer', () => {
  it('empties name and phone, deletes the PIN, keeps every ledger row unchanged and frees the phone', async () => {
    const world = await createShopWithStaff();
    const { customer } = await closedCustomer(world, { pin: '4321' });
    const { rows: ledgerBefore } = await db().query('select * from public.transactions where customer_id = $1 order by created_at, id', [customer.id]);
    expect(ledgerBefore).toHaveLength(2);

    const { customer: erased } = await rpcOk<{ customer: ClosedCustomer }>('erase_customer', { p_actor_user_id: world.owner.id, p_customer_id: customer.id });
    expect(erased).toMatchObject({ id: customer.id, name: null, phone: null, current_balance: 0 });
    expect(erased.erased_at).toEqual(expect.any(String));

    const { rows: ledgerAfter } = await db().query('select * from public.transactions where customer_id = $1 order by created_at, id', [customer.id]);
    expect(ledgerAfter).toEqual(ledgerBefore);
    const { rows: pins } = await db().query('select 1 from private.customer_pins where customer_id = $1', [customer.id]);
    expect(pins).toEqual([]);
    const { rows: stored } = await db().query('select name, phone, phone_last4 from public.customers where id = $1', [customer.id]);
    expect(stored).toEqual([{ name: null, phone: null, phone_last4: null }]);

    // The phone is free for a new customer; erasing again changes nothing.
    const again = await createCustomer(world.owner.id, world.shop.id, { phone: customer.phone });
    expect(again.phone).toBe(customer.phone);
    const twice = await rpcOk<{ customer: ClosedCustomer }>('erase_customer', { p_actor_user_id: world.owner.id, p_customer_id: customer.id });
    expect(twice.customer.erased_at).toBe(erased.erased_at);
    expect(await mismatches()).toEqual([]);
  });

  it('refuses an open customer with customer_not_closed and keeps their data', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { phone: phone() });
    await rpcRefused('erase_customer', { p_actor_user_id: world.owner.id, p_customer_id: customer.id }, 'customer_not_closed', 409);
    const { rows } = await db().query('select name, phone from public.customers where id = $1', [customer.id]);
    expect(rows).toEqual([{ name: customer.name, phone: customer.phone }]);
  });
});
