/**
 * Customers (create_customer, update_customer) and kiosks (register_kiosk, deactivate_kiosk,
 * kiosk_pay, kiosk_balance): who may act, what is stored, and each refusal.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createShopWithStaff, db, type ShopWithStaff } from '../support/index.ts';
import {
  balanceOf,
  createCustomer,
  idempotencyKey,
  phone,
  rpcOk,
  rpcRefused,
  type Customer,
  type MoneyResult,
  type PinResult,
} from './support.ts';

interface Kiosk {
  id: string;
  shop_id: string;
  name: string;
  active: boolean;
  last_seen_at: string | null;
}

async function registerKiosk(shop: ShopWithStaff, name = '카운터 키오스크') {
  return rpcOk<{ kiosk: Kiosk; device_key: string }>('register_kiosk', {
    p_actor_user_id: shop.owner.id,
    p_shop_id: shop.shop.id,
    p_name: name,
  });
}

function pay(key: string, customer: Customer, pin: string, amount: number, idempotency = idempotencyKey()) {
  return { p_kiosk_key: key, p_phone: customer.phone, p_pin: pin, p_amount: amount, p_idempotency_key: idempotency };
}

describe('create_customer and update_customer', () => {
  it('any member registers a customer at balance 0, with a trimmed name and an optional PIN', async () => {
    const world = await createShopWithStaff();
    const number = phone();
    const { customer } = await rpcOk<{ customer: Customer & { created_at: string } }>('create_customer', {
      p_actor_user_id: world.staff.id,
      p_shop_id: world.shop.id,
      p_name: '  이서연 ',
      p_phone: number,
      p_pin: '7777',
    });
    expect(customer).toMatchObject({ shop_id: world.shop.id, name: '이서연', phone: number, current_balance: 0 });
    const { rows } = await db().query('select count(*)::int as n from private.customer_pins where customer_id = $1', [customer.id]);
    expect(rows[0].n).toBe(1);
  });

  it('a phone is unique within a shop (phone_taken) but may repeat across shops', async () => {
    const [world, other] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    const number = phone();
    await createCustomer(world.owner.id, world.shop.id, { phone: number });
    await rpcRefused('create_customer', { p_actor_user_id: world.owner.id, p_shop_id: world.shop.id, p_name: '박지호', p_phone: number }, 'phone_taken', 409);
    const elsewhere = await createCustomer(other.owner.id, other.shop.id, { phone: number });
    expect(elsewhere.phone).toBe(number);
  });

  it('refuses a bad name, phone or PIN, an unknown shop, and a non-member', async () => {
    const [world, other] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    const base = { p_actor_user_id: world.owner.id, p_shop_id: world.shop.id, p_name: '최유나', p_phone: phone() };
    await rpcRefused('create_customer', { ...base, p_name: '   ' }, 'invalid_name', 400);
    await rpcRefused('create_customer', { ...base, p_name: '가'.repeat(101) }, 'invalid_name', 400);
    await rpcRefused('create_customer', { ...base, p_phone: '01012345678' }, 'invalid_phone', 400);
    await rpcRefused('create_customer', { ...base, p_pin: '12345a' }, 'invalid_pin_format', 400);
    await rpcRefused('create_customer', { ...base, p_shop_id: '00000000-0000-4000-8000-000000000000' }, 'shop_not_found', 404);
    await rpcRefused('create_customer', { ...base, p_actor_user_id: other.owner.id }, 'shop_not_found', 404);
    const { rows } = await db().query('select count(*)::int as n from public.customers where phone = $1', [base.p_phone]);
    expect(rows[0].n).toBe(0);
  });

  it('update_customer changes what is given and keeps the rest; a taken phone is phone_taken', async () => {
    const [world, other] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    const taken = await createCustomer(world.owner.id, world.shop.id);
    const customer = await createCustomer(world.owner.id, world.shop.id, { name: '정하준', balance: 3_000 });
    const renamed = await rpcOk<{ customer: Customer }>('update_customer', { p_actor_user_id: world.staff.id, p_customer_id: customer.id, p_name: '정하윤' });
    expect(renamed.customer).toMatchObject({ name: '정하윤', phone: customer.phone, current_balance: 3_000 });
    await rpcRefused('update_customer', { p_actor_user_id: world.staff.id, p_customer_id: customer.id, p_phone: taken.phone }, 'phone_taken', 409);
    await rpcRefused('update_customer', { p_actor_user_id: other.staff.id, p_customer_id: customer.id, p_name: 'x' }, 'customer_not_found', 404);
    await rpcRefused('update_customer', { p_actor_user_id: world.staff.id, p_customer_id: '00000000-0000-4000-8000-000000000000', p_name: 'x' }, 'customer_not_found', 404);
  });
});

describe('kiosks', () => {
  it('an owner registers a kiosk and gets its device key once; only the key\'s sha256 is stored', async () => {
    const world = await createShopWithStaff();
    const { kiosk, device_key } = await registerKiosk(world);
    expect(kiosk).toMatchObject({ shop_id: world.shop.id, name: '카운터 키오스크', active: true, last_seen_at: null });
    expect(device_key).toMatch(/^[0-9a-f]{64}$/);
    const { rows } = await db().query('select key_hash from private.kiosk_credentials where kiosk_id = $1', [kiosk.id]);
    expect(rows).toEqual([{ key_hash: createHash('sha256').update(device_key).digest('hex') }]);
  });

  it('managers and staff may not register or deactivate kiosks; other shops may not either', async () => {
    const [world, other] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    await rpcRefused('register_kiosk', { p_actor_user_id: world.manager.id, p_shop_id: world.shop.id, p_name: 'x' }, 'insufficient_role', 403);
    await rpcRefused('register_kiosk', { p_actor_user_id: world.staff.id, p_shop_id: world.shop.id, p_name: 'x' }, 'insufficient_role', 403);
    const { kiosk } = await registerKiosk(world);
    await rpcRefused('deactivate_kiosk', { p_actor_user_id: world.manager.id, p_kiosk_id: kiosk.id }, 'insufficient_role', 403);
    await rpcRefused('deactivate_kiosk', { p_actor_user_id: other.owner.id, p_kiosk_id: kiosk.id }, 'kiosk_not_found', 404);
    await rpcRefused('deactivate_kiosk', { p_actor_user_id: world.owner.id, p_kiosk_id: '00000000-0000-4000-8000-000000000000' }, 'kiosk_not_found', 404);
  });

  it('kiosk_pay verifies the PIN and deducts in one call, recording the kiosk as the actor and when it was seen', async () => {
    const world = await createShopWithStaff();
    const { kiosk, device_key } = await registerKiosk(world);
    const customer = await createCustomer(world.owner.id, world.shop.id, { pin: '1357', balance: 20_000 });
    const paid = await rpcOk<MoneyResult>('kiosk_pay', pay(device_key, customer, '1357', 6_500));
    expect(paid).toMatchObject({ balance: 13_500, replayed: false, transaction: { type: 'deduct', amount: 6_500, balance_after: 13_500 } });
    const { rows } = await db().query(
      `select t.actor_kiosk_id, t.actor_user_id, k.last_seen_at is not null as seen
       from public.transactions t join public.kiosks k on k.id = t.actor_kiosk_id where t.id = $1`,
      [paid.transaction.id],
    );
    expect(rows).toEqual([{ actor_kiosk_id: kiosk.id, actor_user_id: null, seen: true }]);
  });

  it('kiosk_pay with a wrong PIN returns the refusal, counts the failure and takes nothing', async () => {
    const world = await createShopWithStaff();
    const { device_key } = await registerKiosk(world);
    const customer = await createCustomer(world.owner.id, world.shop.id, { pin: '1357', balance: 20_000 });
    const refused = await rpcOk<PinResult>('kiosk_pay', pay(device_key, customer, '7531', 6_500));
    expect(refused).toEqual({ ok: false, code: 'pin_invalid', remaining_attempts: 4, locked_until: null });
    const { rows } = await db().query('select failed_attempts from private.customer_pins where customer_id = $1', [customer.id]);
    expect(rows[0].failed_attempts).toBe(1);
    expect(await balanceOf(customer.id)).toBe(20_000);
  });

  it('kiosk_pay is idempotent and refuses an overdraft with insufficient_balance', async () => {
    const world = await createShopWithStaff();
    const { device_key } = await registerKiosk(world);
    const customer = await createCustomer(world.owner.id, world.shop.id, { pin: '1357', balance: 5_000 });
    const first = await rpcOk<MoneyResult>('kiosk_pay', pay(device_key, customer, '1357', 4_000, 'kiosk-pay-1'));
    const again = await rpcOk<MoneyResult>('kiosk_pay', pay(device_key, customer, '1357', 4_000, 'kiosk-pay-1'));
    expect(again).toEqual({ ...first, replayed: true });
    await rpcRefused('kiosk_pay', pay(device_key, customer, '1357', 3_000, 'kiosk-pay-1'), 'idempotency_key_reused', 409);
    await rpcRefused('kiosk_pay', pay(device_key, customer, '1357', 1_001), 'insufficient_balance', 409);
    expect(await balanceOf(customer.id)).toBe(1_000);
  });

  it('kiosk_balance shows the name and balance after the right PIN only', async () => {
    const world = await createShopWithStaff();
    const { device_key } = await registerKiosk(world);
    const customer = await createCustomer(world.owner.id, world.shop.id, { name: '한지민', pin: '8642', balance: 12_345 });
    const args = { p_kiosk_key: device_key, p_phone: customer.phone, p_pin: '8642' };
    expect(await rpcOk('kiosk_balance', args)).toEqual({ customer: { id: customer.id, name: '한지민' }, balance: 12_345, paid_balance: 12_345, bonus_balance: 0 });
    expect(await rpcOk('kiosk_balance', { ...args, p_pin: '0000' })).toEqual({ ok: false, code: 'pin_invalid', remaining_attempts: 4, locked_until: null });
  });

  it('a kiosk finds customers of its own shop only, and an unknown or deactivated key is refused', async () => {
    const [world, other] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    const mine = await registerKiosk(world);
    const theirs = await createCustomer(other.owner.id, other.shop.id, { pin: '1111', balance: 9_000 });
    await rpcRefused('kiosk_pay', pay(mine.device_key, theirs, '1111', 1_000), 'customer_not_found', 404);
    await rpcRefused('kiosk_balance', { p_kiosk_key: mine.device_key, p_phone: theirs.phone, p_pin: '1111' }, 'customer_not_found', 404);
    await rpcRefused('verify_pin_atomic', { p_customer_id: theirs.id, p_pin: '1111', p_kiosk_key: mine.device_key }, 'customer_not_found', 404);
    await rpcRefused('kiosk_pay', pay('not-a-key', theirs, '1111', 1_000), 'invalid_kiosk_key', 401);
    await rpcRefused('kiosk_balance', { p_kiosk_key: null, p_phone: theirs.phone, p_pin: '1111' }, 'invalid_kiosk_key', 401);

    const ours = await createCustomer(world.owner.id, world.shop.id, { pin: '2222', balance: 9_000 });
    expect(await rpcOk<PinResult>('verify_pin_atomic', { p_customer_id: ours.id, p_pin: '2222', p_kiosk_key: mine.device_key })).toMatchObject({ ok: true });
    const { kiosk } = await rpcOk<{ kiosk: Kiosk }>('deactivate_kiosk', { p_actor_user_id: world.owner.id, p_kiosk_id: mine.kiosk.id });
    expect(kiosk.active).toBe(false);
    await rpcRefused('kiosk_pay', pay(mine.device_key, ours, '2222', 1_000), 'kiosk_deactivated', 403);
    await rpcRefused('verify_pin_atomic', { p_customer_id: ours.id, p_pin: '2222', p_kiosk_key: mine.device_key }, 'kiosk_deactivated', 403);
    expect(await balanceOf(ours.id)).toBe(9_000);
    expect(await balanceOf(theirs.id)).toBe(9_000);
  });

  it('kiosk_pay refuses a malformed phone, PIN or amount', async () => {
    const world = await createShopWithStaff();
    const { device_key } = await registerKiosk(world);
    const customer = await createCustomer(world.owner.id, world.shop.id, { pin: '1357', balance: 5_000 });
    await rpcRefused('kiosk_pay', { ...pay(device_key, customer, '1357', 1_000), p_phone: '010-123-4567' }, 'invalid_phone', 400);
    await rpcRefused('kiosk_pay', pay(device_key, customer, '13', 1_000), 'invalid_pin_format', 400);
    await rpcRefused('kiosk_pay', pay(device_key, customer, '1357', 0), 'invalid_amount', 400);
    await rpcRefused('kiosk_pay', { ...pay(device_key, customer, '1357', 1_000), p_idempotency_key: '' }, 'idempotency_key_required', 400);
    expect(await balanceOf(customer.id)).toBe(5_000);
  });
});
