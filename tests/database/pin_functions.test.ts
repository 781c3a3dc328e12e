/**
 * set_pin, verify_pin_atomic and unlock_pin: failures counted and committed, the lock after the
 * shop's maximum, a locked PIN refused even when right, a success resetting the count.
 */
import { describe, expect, it } from 'vitest';
import { createShopWithStaff, db } from '../support/index.ts';
import { createCustomer, rpcOk, rpcRefused, type PinResult } from './support.ts';

function verify(actor: string, customerId: string, pin: string) {
  return rpcOk<PinResult>('verify_pin_atomic', { p_customer_id: customerId, p_pin: pin, p_actor_user_id: actor });
}

async function pinRow(customerId: string) {
  const { rows } = await db().query(
    `select failed_attempts, locked_until, pin_hash like '$2a$04$%' as bcrypt_cost_4
     from private.customer_pins where customer_id = $1`,
    [customerId],
  );
  return rows[0];
}

describe('verify_pin_atomic', () => {
  it('the right PIN is ok with every attempt left', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { pin: '1234' });
    expect(await verify(world.staff.id, customer.id, '1234')).toEqual({ ok: true, code: null, remaining_attempts: 5, locked_until: null });
  });

  it('the PIN is stored as a bcrypt hash of cost 4, never as the PIN', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { pin: '482913' });
    const { rows } = await db().query('select pin_hash from private.customer_pins where customer_id = $1', [customer.id]);
    expect(rows[0].pin_hash).toMatch(/^\$2a\$04\$.{53}$/);
    expect(rows[0].pin_hash).not.toContain('482913');
  });

  it('each wrong PIN is counted and committed; the fifth locks for 15 minutes; a locked PIN is refused even when right', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { pin: '1234' });
    const answers: PinResult[] = [];
    for (let i = 0; i < 4; i++) answers.push(await verify(world.staff.id, customer.id, '9999'));
    expect(answers.map((a) => [a.code, a.remaining_attempts])).toEqual([
      ['pin_invalid', 4],
      ['pin_invalid', 3],
      ['pin_invalid', 2],
      ['pin_invalid', 1],
    ]);
    expect((await pinRow(customer.id)).failed_attempts).toBe(4);

    const fifth = await verify(world.staff.id, customer.id, '9999');
    expect(fifth).toMatchObject({ ok: false, code: 'pin_locked', remaining_attempts: 0 });
    const { rows } = await db().query(
      `select round(extract(epoch from locked_until - now()) / 60) as minutes from private.customer_pins where customer_id = $1`,
      [customer.id],
    );
    expect(Number(rows[0].minutes)).toBe(15);

    const right = await verify(world.staff.id, customer.id, '1234');
    expect(right).toEqual({ ok: false, code: 'pin_locked', remaining_attempts: 0, locked_until: fifth.locked_until });
  });

  it('a success resets the failure count', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { pin: '1234' });
    await verify(world.staff.id, customer.id, '0000');
    await verify(world.staff.id, customer.id, '0000');
    expect((await pinRow(customer.id)).failed_attempts).toBe(2);
    expect(await verify(world.staff.id, customer.id, '1234')).toMatchObject({ ok: true, remaining_attempts: 5 });
    expect((await pinRow(customer.id)).failed_attempts).toBe(0);
    expect(await verify(world.staff.id, customer.id, '0000')).toMatchObject({ code: 'pin_invalid', remaining_attempts: 4 });
  });

  it('the shop sets the number of attempts and the lock time', async () => {
    const world = await createShopWithStaff({ pinMaxAttempts: 3, pinLockMinutes: 2 });
    const customer = await createCustomer(world.owner.id, world.shop.id, { pin: '5678' });
    expect(await verify(world.staff.id, customer.id, '0000')).toMatchObject({ code: 'pin_invalid', remaining_attempts: 2 });
    expect(await verify(world.staff.id, customer.id, '0000')).toMatchObject({ code: 'pin_invalid', remaining_attempts: 1 });
    expect(await verify(world.staff.id, customer.id, '0000')).toMatchObject({ code: 'pin_locked', remaining_attempts: 0 });
    const { rows } = await db().query(
      `select round(extract(epoch from locked_until - now()) / 60) as minutes from private.customer_pins where customer_id = $1`,
      [customer.id],
    );
    expect(Number(rows[0].minutes)).toBe(2);
  });

  it('once the lock has run out the customer has a fresh series of attempts', async () => {
    const world = await createShopWithStaff({ pinMaxAttempts: 3, pinLockMinutes: 2 });
    const customer = await createCustomer(world.owner.id, world.shop.id, { pin: '5678' });
    for (let i = 0; i < 3; i++) await verify(world.staff.id, customer.id, '0000');
    await db().query(`update private.customer_pins set locked_until = now() - interval '1 second' where customer_id = $1`, [customer.id]);
    expect(await verify(world.staff.id, customer.id, '0000')).toEqual({ ok: false, code: 'pin_invalid', remaining_attempts: 2, locked_until: null });
    expect(await verify(world.staff.id, customer.id, '5678')).toMatchObject({ ok: true });
    expect(await pinRow(customer.id)).toMatchObject({ failed_attempts: 0, locked_until: null });
  });

  it('a customer without a PIN answers pin_not_set', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id);
    expect(await verify(world.staff.id, customer.id, '1234')).toEqual({ ok: false, code: 'pin_not_set', remaining_attempts: 5, locked_until: null });
  });

  it('refuses a malformed PIN, an unknown customer, another shop, no caller, and both callers at once', async () => {
    const [world, other] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    const customer = await createCustomer(world.owner.id, world.shop.id, { pin: '1234' });
    for (const pin of ['123', '1234567', '12a4', '']) {
      await rpcRefused('verify_pin_atomic', { p_customer_id: customer.id, p_pin: pin, p_actor_user_id: world.staff.id }, 'invalid_pin_format', 400);
    }
    await rpcRefused('verify_pin_atomic', { p_customer_id: '00000000-0000-4000-8000-000000000000', p_pin: '1234', p_actor_user_id: world.staff.id }, 'customer_not_found', 404);
    await rpcRefused('verify_pin_atomic', { p_customer_id: customer.id, p_pin: '1234', p_actor_user_id: other.owner.id }, 'customer_not_found', 404);
    await rpcRefused('verify_pin_atomic', { p_customer_id: customer.id, p_pin: '1234' }, 'not_authenticated', 401);
    await rpcRefused('verify_pin_atomic', { p_customer_id: customer.id, p_pin: '1234', p_actor_user_id: world.staff.id, p_kiosk_key: 'k' }, 'validation_failed', 400);
    expect((await pinRow(customer.id)).failed_attempts).toBe(0);
  });
});

describe('set_pin and unlock_pin', () => {
  it('any member sets a PIN, which then verifies; setting again replaces it', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id);
    expect(await rpcOk('set_pin', { p_actor_user_id: world.staff.id, p_customer_id: customer.id, p_pin: '2468' })).toEqual({ customer_id: customer.id, pin_set: true });
    expect(await verify(world.staff.id, customer.id, '2468')).toMatchObject({ ok: true });
    await rpcOk('set_pin', { p_actor_user_id: world.manager.id, p_customer_id: customer.id, p_pin: '135790' });
    expect(await verify(world.staff.id, customer.id, '2468')).toMatchObject({ code: 'pin_invalid' });
    expect(await verify(world.staff.id, customer.id, '135790')).toMatchObject({ ok: true });
  });

  it('a locked PIN cannot be replaced by set_pin; only an owner unlocks it, and then it verifies', async () => {
    const [world, other] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    const customer = await createCustomer(world.owner.id, world.shop.id, { pin: '1234' });
    for (let i = 0; i < 5; i++) await verify(world.staff.id, customer.id, '0000');
    await rpcRefused('set_pin', { p_actor_user_id: world.owner.id, p_customer_id: customer.id, p_pin: '4321' }, 'pin_locked', 423);
    await rpcRefused('unlock_pin', { p_actor_user_id: world.manager.id, p_customer_id: customer.id }, 'insufficient_role', 403);
    await rpcRefused('unlock_pin', { p_actor_user_id: world.staff.id, p_customer_id: customer.id }, 'insufficient_role', 403);
    await rpcRefused('unlock_pin', { p_actor_user_id: other.owner.id, p_customer_id: customer.id }, 'customer_not_found', 404);
    expect(await rpcOk('unlock_pin', { p_actor_user_id: world.owner.id, p_customer_id: customer.id })).toEqual({ customer_id: customer.id, unlocked: true });
    expect(await pinRow(customer.id)).toMatchObject({ failed_attempts: 0, locked_until: null });
    expect(await verify(world.staff.id, customer.id, '1234')).toMatchObject({ ok: true });
  });

  it('refuses a malformed PIN, an unknown customer, and unlocking a customer without a PIN', async () => {
    const [world, other] = await Promise.all([createShopWithStaff(), createShopWithStaff({ pinMaxAttempts: 3, pinLockMinutes: 2 })]);
    const customer = await createCustomer(world.owner.id, world.shop.id);
    await rpcRefused('set_pin', { p_actor_user_id: world.staff.id, p_customer_id: customer.id, p_pin: '12' }, 'invalid_pin_format', 400);
    await rpcRefused('set_pin', { p_actor_user_id: world.staff.id, p_customer_id: '00000000-0000-4000-8000-000000000000', p_pin: '1234' }, 'customer_not_found', 404);
    await rpcRefused('set_pin', { p_actor_user_id: other.staff.id, p_customer_id: customer.id, p_pin: '1234' }, 'customer_not_found', 404);
    await rpcRefused('unlock_pin', { p_actor_user_id: world.owner.id, p_customer_id: customer.id }, 'pin_not_set', 409);
  });
});
