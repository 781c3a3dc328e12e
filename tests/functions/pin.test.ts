import { describe, expect, it } from 'vitest';
import { createShopWithStaff, db } from '../support/index.ts';
import { asKiosk, asStaff, callFunction, createCustomer, expectError, invoke, registerKiosk, shopWithCustomer, staffClient } from './http.ts';

const verify = (caller: Parameters<typeof callFunction>[1], customerId: string, pin: string) =>
  callFunction('pin/verify', caller, { body: { customer_id: customerId, pin } });

async function failedAttempts(customerId: string): Promise<number> {
  const { rows } = await db().query<{ failed_attempts: number }>(
    'select failed_attempts from private.customer_pins where customer_id = $1',
    [customerId],
  );
  return rows[0].failed_attempts;
}

describe('POST /functions/v1/pin/set and /verify', () => {
  it('sets a PIN as staff and verifies it, answering ok with the full attempts left', async () => {
    const { staff, customer } = await shopWithCustomer();
    const set = await callFunction('pin/set', asStaff(staff), { body: { customer_id: customer.id, pin: '4821' } });
    expect([set.status, set.body]).toEqual([200, { customer_id: customer.id, pin_set: true }]);

    const verified = await verify(asStaff(staff), customer.id, '4821');
    expect([verified.status, verified.body]).toEqual([200, { ok: true, code: null, remaining_attempts: 5, locked_until: null }]);
  });

  it('verifies through functions.invoke as the frontend does', async () => {
    const { manager, customer } = await shopWithCustomer({ pin: '135790' });
    const answer = await invoke(staffClient(manager), 'pin/verify', { customer_id: customer.id, pin: '135790' });
    expect([answer.status, answer.body.ok]).toEqual([200, true]);
  });

  it('lets a kiosk of the shop verify with its device key', async () => {
    const { owner, shop, customer } = await shopWithCustomer({ pin: '2468' });
    const { device_key } = await registerKiosk(owner, shop.id);
    const answer = await verify(asKiosk(device_key), customer.id, '2468');
    expect([answer.status, answer.body.ok]).toEqual([200, true]);
  });

  it("refuses a kiosk of another shop with 404 customer_not_found and counts no failure", async () => {
    const { customer } = await shopWithCustomer({ pin: '2468' });
    const other = await createShopWithStaff();
    const { device_key } = await registerKiosk(other.owner, other.shop.id);
    expectError(await verify(asKiosk(device_key), customer.id, '0000'), 404, 'customer_not_found');
    expect(await failedAttempts(customer.id)).toBe(0);
  });

  it('answers 409 pin_not_set for a customer without a PIN', async () => {
    const { staff, customer } = await shopWithCustomer();
    expectError(await verify(asStaff(staff), customer.id, '1234'), 409, 'pin_not_set');
  });

  it.each([
    ['three digits', '123'],
    ['seven digits', '1234567'],
    ['letters', '12ab'],
    ['a number instead of a string', 1234],
  ])('refuses a PIN of %s with 400 validation_failed', async (_label, pin) => {
    const { staff, customer } = await shopWithCustomer();
    const answer = await callFunction('pin/set', asStaff(staff), { body: { customer_id: customer.id, pin } });
    expect(expectError(answer, 400, 'validation_failed').details[0].path).toEqual(['pin']);
  });

  it("refuses another shop's staff setting a PIN with 404 customer_not_found", async () => {
    const { customer } = await shopWithCustomer();
    const other = await createShopWithStaff();
    const answer = await callFunction('pin/set', asStaff(other.staff), { body: { customer_id: customer.id, pin: '1111' } });
    expectError(answer, 404, 'customer_not_found');
  });
});

describe('the PIN lock-out', () => {
  it('counts four wrong PINs down, locks on the fifth, refuses the right PIN while locked, and opens after an owner unlocks', async () => {
    const { owner, staff, customer } = await shopWithCustomer({ pin: '7531' });

    for (const remaining of [4, 3, 2, 1]) {
      const error = expectError(await verify(asStaff(staff), customer.id, '0000'), 401, 'pin_invalid');
      expect(error.details).toEqual({ remaining_attempts: remaining });
    }
    const locking = expectError(await verify(asStaff(staff), customer.id, '0000'), 423, 'pin_locked');
    expect(locking.details.remaining_attempts).toBe(0);
    const lockedUntil = new Date(locking.details.locked_until).getTime();
    expect(Math.abs(lockedUntil - (Date.now() + 15 * 60_000))).toBeLessThan(60_000);

    const rightButLocked = expectError(await verify(asStaff(staff), customer.id, '7531'), 423, 'pin_locked');
    expect(new Date(rightButLocked.details.locked_until).getTime()).toBe(lockedUntil);
    expect(await failedAttempts(customer.id)).toBe(5);

    expectError(await callFunction('pin/unlock', asStaff(staff), { body: { customer_id: customer.id } }), 403, 'insufficient_role');
    const unlocked = await callFunction('pin/unlock', asStaff(owner), { body: { customer_id: customer.id } });
    expect([unlocked.status, unlocked.body]).toEqual([200, { customer_id: customer.id, unlocked: true }]);

    const verified = await verify(asStaff(staff), customer.id, '7531');
    expect([verified.status, verified.body]).toEqual([200, { ok: true, code: null, remaining_attempts: 5, locked_until: null }]);
  });

  it("follows the shop's own limit of three attempts", async () => {
    const { shop, owner } = await createShopWithStaff({ pinMaxAttempts: 3 });
    const customer = await createCustomer(owner, shop.id, { pin: '9999' });

    expect(expectError(await verify(asStaff(owner), customer.id, '1111'), 401, 'pin_invalid').details).toEqual({ remaining_attempts: 2 });
    expect(expectError(await verify(asStaff(owner), customer.id, '1111'), 401, 'pin_invalid').details).toEqual({ remaining_attempts: 1 });
    expectError(await verify(asStaff(owner), customer.id, '1111'), 423, 'pin_locked');
  });

  it('resets the count after a right PIN', async () => {
    const { staff, customer } = await shopWithCustomer({ pin: '8642' });
    await verify(asStaff(staff), customer.id, '0000');
    await verify(asStaff(staff), customer.id, '0000');
    expect(await failedAttempts(customer.id)).toBe(2);
    expect((await verify(asStaff(staff), customer.id, '8642')).status).toBe(200);
    expect(await failedAttempts(customer.id)).toBe(0);
    expect(expectError(await verify(asStaff(staff), customer.id, '0000'), 401, 'pin_invalid').details).toEqual({ remaining_attempts: 4 });
  });

  it('refuses to set a new PIN over a lock with 423 pin_locked', async () => {
    const { staff, customer } = await shopWithCustomer({ pin: '1357' });
    for (let attempt = 0; attempt < 5; attempt++) await verify(asStaff(staff), customer.id, '0000');
    const answer = await callFunction('pin/set', asStaff(staff), { body: { customer_id: customer.id, pin: '2468' } });
    expectError(answer, 423, 'pin_locked');
  });

  it('answers an unlock of a customer without a PIN with 409 pin_not_set', async () => {
    const { owner, customer } = await shopWithCustomer();
    expectError(await callFunction('pin/unlock', asStaff(owner), { body: { customer_id: customer.id } }), 409, 'pin_not_set');
  });
});
