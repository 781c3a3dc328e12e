import { describe, expect, it } from 'vitest';
import { createShopWithStaff, db, stackEnv } from '../support/index.ts';
import {
  anonKey,
  asKiosk,
  asStaff,
  balanceOf,
  callFunction,
  createCustomer,
  expectError,
  invoke,
  kioskClient,
  kioskShop,
  ledgerCount,
  newIdempotencyKey,
  registerKiosk,
  staffClient,
} from './http.ts';

// `null` sends no Idempotency-Key at all.
const pay = (deviceKey: string, body: Record<string, unknown>, idempotencyKey: string | null = newIdempotencyKey()) =>
  callFunction('kiosk/pay', asKiosk(deviceKey), { body, ...(idempotencyKey === null ? {} : { idempotencyKey }) });

describe('POST /functions/v1/shop-kiosks (register) and /shop-kiosks/deactivate', () => {
  it('registers a kiosk for an owner and shows its device key once, storing only its hash', async () => {
    const { owner, shop } = await createShopWithStaff();
    const answer = await callFunction('shop-kiosks', asStaff(owner), { body: { shop_id: shop.id, name: '  카운터 키오스크 ' } });
    expect(answer.status).toBe(201);
    expect(answer.body.kiosk).toMatchObject({ shop_id: shop.id, name: '카운터 키오스크', active: true });
    expect(answer.body.device_key).toMatch(/^[0-9a-f]{64}$/);

    const { rows } = await db().query('select key_hash from private.kiosk_credentials where kiosk_id = $1', [answer.body.kiosk.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0].key_hash).not.toBe(answer.body.device_key);
  });

  it("refuses another shop's owner and an unknown shop alike, with 404 shop_not_found", async () => {
    const { shop } = await createShopWithStaff();
    const other = await createShopWithStaff();
    expectError(await callFunction('shop-kiosks', asStaff(other.owner), { body: { shop_id: shop.id, name: '키오스크' } }), 404, 'shop_not_found');
    expectError(
      await callFunction('shop-kiosks', asStaff(other.owner), { body: { shop_id: '00000000-0000-4000-8000-000000000002', name: '키오스크' } }),
      404,
      'shop_not_found',
    );
  });

  it('deactivates a kiosk; its next payment is refused with 403 kiosk_deactivated and moves nothing', async () => {
    const { owner, customer, kiosk, deviceKey } = await kioskShop({ balance: 10_000 });
    const answer = await callFunction('shop-kiosks/deactivate', asStaff(owner), { body: { kiosk_id: kiosk.id } });
    expect([answer.status, answer.body.kiosk.id, answer.body.kiosk.active]).toEqual([200, kiosk.id, false]);

    expectError(await pay(deviceKey, { phone: customer.phone, pin: '2580', amount: 1_000 }), 403, 'kiosk_deactivated');
    expect(await balanceOf(customer.id)).toBe(10_000);
  });

  it("refuses deactivating another shop's kiosk with 404 kiosk_not_found", async () => {
    const { kiosk, deviceKey, customer } = await kioskShop({ balance: 3_000 });
    const other = await createShopWithStaff();
    expectError(await callFunction('shop-kiosks/deactivate', asStaff(other.owner), { body: { kiosk_id: kiosk.id } }), 404, 'kiosk_not_found');
    expect((await pay(deviceKey, { phone: customer.phone, pin: '2580', amount: 1_000 })).status).toBe(200);
  });
});

describe('the old name of shop-kiosks', () => {
  const oldRoute = (route: string, owner: { accessToken: string }, body: Record<string, unknown>) =>
    fetch(`${stackEnv().API_URL}/functions/v1/${route}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { apikey: anonKey(), authorization: `Bearer ${owner.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('answers /kiosks and /kiosks/deactivate with 308 to /shop-kiosks, doing nothing itself', async () => {
    const { owner, shop } = await createShopWithStaff();
    const register = await oldRoute('kiosks', owner, { shop_id: shop.id, name: '옛 경로' });
    const deactivate = await oldRoute('kiosks/deactivate', owner, { kiosk_id: '00000000-0000-4000-8000-000000000003' });
    expect([register.status, register.headers.get('location'), await register.json()]).toEqual([
      308, 'shop-kiosks', { moved_to: '/functions/v1/shop-kiosks', message: '/functions/v1/kiosks is now /functions/v1/shop-kiosks.' },
    ]);
    expect([deactivate.status, deactivate.headers.get('location'), (await deactivate.json()).moved_to]).toEqual([
      308, '../shop-kiosks/deactivate', '/functions/v1/shop-kiosks/deactivate',
    ]);
    const { rows } = await db().query('select count(*)::int as n from public.kiosks where shop_id = $1', [shop.id]);
    expect(rows[0].n).toBe(0);
  });

  it('is followed by supabase-js and fetch: one kiosk registered, then deactivated, through the old paths', async () => {
    const { owner, shop } = await createShopWithStaff();
    const registered = await invoke(staffClient(owner), 'kiosks', { shop_id: shop.id, name: '옛 경로 키오스크' });
    expect([registered.status, registered.body.kiosk.name, typeof registered.body.device_key]).toEqual([201, '옛 경로 키오스크', 'string']);
    const deactivated = await callFunction('kiosks/deactivate', asStaff(owner), { body: { kiosk_id: registered.body.kiosk.id } });
    expect([deactivated.status, deactivated.body.kiosk.active]).toEqual([200, false]);
    const { rows } = await db().query('select count(*)::int as n from public.kiosks where shop_id = $1', [shop.id]);
    expect(rows[0].n).toBe(1);
  });
});

describe('POST /functions/v1/kiosk/pay', () => {
  it.each(['01012345678', '010 1234 5678', '+82 10-1234-5678', '010.1234.5678'])(
    'finds the customer by the phone spelled %s and deducts, answering the transaction and the balance',
    async (spelling) => {
      const { owner, shop } = await createShopWithStaff();
      const customer = await createCustomer(owner, shop.id, { phone: '010-1234-5678', pin: '1357' });
      await callFunction('transactions/charge', asStaff(owner), {
        body: { customer_id: customer.id, amount: 20_000 },
        idempotencyKey: newIdempotencyKey(),
      });
      const { device_key } = await registerKiosk(owner, shop.id);

      const answer = await pay(device_key, { phone: spelling, pin: '1357', amount: 4_500 });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        transaction: { type: 'deduct', amount: 4_500, balance_after: 15_500, customer_id: customer.id },
        balance: 15_500,
      });
      expect(await balanceOf(customer.id)).toBe(15_500);
    },
  );

  it('pays through supabase-js functions.invoke with the device key as a header', async () => {
    const { customer, deviceKey } = await kioskShop({ balance: 10_000 });
    const answer = await invoke(kioskClient(deviceKey), 'kiosk/pay', { phone: customer.phone, pin: '2580', amount: 2_000 }, {
      'Idempotency-Key': newIdempotencyKey(),
    });
    expect([answer.status, answer.body.balance]).toEqual([200, 8_000]);
  });

  it('pays for a kiosk that sends only the apikey and its device key, no Authorization (verify_jwt is off for kiosk)', async () => {
    const { customer, deviceKey } = await kioskShop({ balance: 10_000 });
    const answer = await callFunction('kiosk/pay', null, {
      body: { phone: customer.phone, pin: '2580', amount: 2_500 },
      idempotencyKey: newIdempotencyKey(),
      headers: { 'x-kiosk-key': deviceKey },
    });
    expect([answer.status, answer.body.balance]).toEqual([200, 7_500]);
  });

  it('refuses a wrong PIN with 401 pin_invalid, counts it, and moves nothing', async () => {
    const { customer, deviceKey } = await kioskShop({ balance: 10_000 });
    const answer = await pay(deviceKey, { phone: customer.phone, pin: '0000', amount: 1_000 });
    expect(expectError(answer, 401, 'pin_invalid').details).toEqual({ remaining_attempts: 4 });
    expect(await balanceOf(customer.id)).toBe(10_000);
    expect(await ledgerCount(customer.id)).toBe(1);
  });

  it('locks the PIN after five wrong payments and then refuses the right PIN with 423 pin_locked', async () => {
    const { customer, deviceKey } = await kioskShop({ balance: 10_000 });
    for (let attempt = 1; attempt <= 4; attempt++) {
      expectError(await pay(deviceKey, { phone: customer.phone, pin: '0000', amount: 1_000 }), 401, 'pin_invalid');
    }
    expectError(await pay(deviceKey, { phone: customer.phone, pin: '0000', amount: 1_000 }), 423, 'pin_locked');
    const locked = expectError(await pay(deviceKey, { phone: customer.phone, pin: '2580', amount: 1_000 }), 423, 'pin_locked');
    expect(typeof locked.details.locked_until).toBe('string');
    expect(await balanceOf(customer.id)).toBe(10_000);
  });

  it('refuses a payment beyond the balance with 409 insufficient_balance', async () => {
    const { customer, deviceKey } = await kioskShop({ balance: 1_000 });
    expectError(await pay(deviceKey, { phone: customer.phone, pin: '2580', amount: 1_001 }), 409, 'insufficient_balance');
    expect(await balanceOf(customer.id)).toBe(1_000);
  });

  it('answers a retried payment with the same body and Idempotent-Replayed: true, paying once', async () => {
    const { customer, deviceKey } = await kioskShop({ balance: 10_000 });
    const key = newIdempotencyKey();
    const first = await pay(deviceKey, { phone: customer.phone, pin: '2580', amount: 3_000 }, key);
    const retry = await pay(deviceKey, { phone: customer.phone, pin: '2580', amount: 3_000 }, key);
    expect([first.status, retry.status]).toEqual([200, 200]);
    expect(retry.body).toEqual(first.body);
    expect([first.headers.get('idempotent-replayed'), retry.headers.get('idempotent-replayed')]).toEqual([null, 'true']);
    expect(await balanceOf(customer.id)).toBe(7_000);

    const reused = await pay(deviceKey, { phone: customer.phone, pin: '2580', amount: 3_500 }, key);
    expectError(reused, 409, 'idempotency_key_reused');
    expect(await balanceOf(customer.id)).toBe(7_000);
  });

  it('refuses a payment without an Idempotency-Key with 400 idempotency_key_required', async () => {
    const { customer, deviceKey } = await kioskShop({ balance: 10_000 });
    expectError(await pay(deviceKey, { phone: customer.phone, pin: '2580', amount: 1_000 }, null), 400, 'idempotency_key_required');
    expect(await balanceOf(customer.id)).toBe(10_000);
  });

  it("pays from its own shop's customer when another shop has a customer with the same phone", async () => {
    const mine = await kioskShop({ balance: 10_000 });
    const other = await createShopWithStaff();
    const twin = await createCustomer(other.owner, other.shop.id, { phone: mine.customer.phone, pin: '2580' });
    await callFunction('transactions/charge', asStaff(other.owner), {
      body: { customer_id: twin.id, amount: 10_000 },
      idempotencyKey: newIdempotencyKey(),
    });

    expect((await pay(mine.deviceKey, { phone: mine.customer.phone, pin: '2580', amount: 1_000 })).status).toBe(200);
    expect([await balanceOf(mine.customer.id), await balanceOf(twin.id)]).toEqual([9_000, 10_000]);
  });

  it('answers 404 customer_not_found for a phone no customer of the shop has', async () => {
    const { deviceKey } = await kioskShop();
    expectError(await pay(deviceKey, { phone: '010-0000-0001', pin: '2580', amount: 1_000 }), 404, 'customer_not_found');
  });

  it.each([
    ['missing', undefined],
    ['unknown', 'f'.repeat(64)],
  ])('refuses a %s device key with 401 invalid_kiosk_key', async (_label, key) => {
    const { customer } = await kioskShop({ balance: 5_000 });
    const answer = await callFunction('kiosk/pay', { token: anonKey(), ...(key ? { kioskKey: key } : {}) }, {
      body: { phone: customer.phone, pin: '2580', amount: 1_000 },
      idempotencyKey: newIdempotencyKey(),
    });
    expectError(answer, 401, 'invalid_kiosk_key');
    expect(await balanceOf(customer.id)).toBe(5_000);
  });

  it.each([
    ['a 3-digit PIN', { phone: '010-1234-5678', pin: '258', amount: 1_000 }, ['pin']],
    ['a zero amount', { phone: '010-1234-5678', pin: '2580', amount: 0 }, ['amount']],
    ['an unknown field', { phone: '010-1234-5678', pin: '2580', amount: 1_000, customer_id: 'x' }, []],
  ])('refuses %s with 400 validation_failed', async (_label, body, path) => {
    const { deviceKey } = await kioskShop();
    expect(expectError(await pay(deviceKey, body), 400, 'validation_failed').details[0].path).toEqual(path);
  });

  it('refuses a phone that is no Korean mobile number with 400 invalid_phone', async () => {
    const { deviceKey } = await kioskShop();
    const answer = await pay(deviceKey, { phone: '02-123-4567', pin: '2580', amount: 1_000 });
    expect(expectError(answer, 400, 'invalid_phone').details).toEqual({ phone: '02-123-4567' });
  });
});

describe('POST /functions/v1/kiosk/balance', () => {
  it('shows the customer their name and balance after the right PIN', async () => {
    const { customer, deviceKey } = await kioskShop({ balance: 12_300 });
    const answer = await callFunction('kiosk/balance', asKiosk(deviceKey), { body: { phone: customer.phone, pin: '2580' } });
    expect([answer.status, answer.body]).toEqual([200, { customer: { id: customer.id, name: customer.name }, balance: 12_300, paid_balance: 12_300, bonus_balance: 0 }]);
  });

  it('refuses a wrong PIN with 401 pin_invalid and shows no balance', async () => {
    const { customer, deviceKey } = await kioskShop({ balance: 12_300 });
    const answer = await callFunction('kiosk/balance', asKiosk(deviceKey), { body: { phone: customer.phone, pin: '9999' } });
    expectError(answer, 401, 'pin_invalid');
    expect(JSON.stringify(answer.body)).not.toContain('12300');
  });
});
