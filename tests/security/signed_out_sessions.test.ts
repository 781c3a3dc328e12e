// An access token outlives its session by up to an hour. Reads through REST must not: RLS's membership
// helper checks the token's session and its user on every statement. Nor may the staff routes: the
// functions pass the token's session to SQL, which checks it with the same rule before anything else.
import { describe, expect, it } from 'vitest';
import { asStaff, callFunction, charge, createCustomer, registerKiosk, asKiosk, newIdempotencyKey, uniquePhone, type FunctionAnswer } from '../functions/http.ts';
import { anonClient, createShopWithStaff, db, gatewayHeaders, ledgerCount, send, signInAgain, uniqueEmail, type ShopWithStaff, type TestUser } from '../support/index.ts';
import { fingerprint } from './support.ts';
import { openScreen } from '../realtime/support.ts';

/** What the user's token reads through REST: the shop's customers' ids. */
async function customersSeenWith(accessToken: string): Promise<{ status: number; ids: string[] }> {
  const answer = await send({ method: 'GET', path: 'rest/v1/customers?select=id', headers: gatewayHeaders(accessToken) });
  return { status: answer.status, ids: (answer.body as { id: string }[]).map((row) => row.id) };
}

describe('REST reads refuse a signed-out session or a banned or deleted user', () => {
  it('after a global sign-out the same, unexpired token reads nothing', async () => {
    const { shop, owner, staff } = await createShopWithStaff();
    const customer = await createCustomer(owner, shop.id);
    expect(await customersSeenWith(staff.accessToken)).toEqual({ status: 200, ids: [customer.id] });

    const { error } = await staff.client.auth.signOut({ scope: 'global' });
    expect(error).toBeNull();
    expect(await customersSeenWith(staff.accessToken)).toEqual({ status: 200, ids: [] });
    // The owner's own session is untouched.
    expect(await customersSeenWith(owner.accessToken)).toEqual({ status: 200, ids: [customer.id] });
  });

  it('a local sign-out ends only that session: the user\'s other device still reads', async () => {
    const { shop, owner, staff } = await createShopWithStaff();
    const customer = await createCustomer(owner, shop.id);
    const otherDevice = (await signInAgain(staff)).accessToken;
    await staff.client.auth.signOut({ scope: 'local' });
    expect(await customersSeenWith(staff.accessToken)).toEqual({ status: 200, ids: [] });
    expect(await customersSeenWith(otherDevice)).toEqual({ status: 200, ids: [customer.id] });
  });

  it('a user banned until later reads nothing; once the ban has run out, reads again', async () => {
    const { shop, owner, staff } = await createShopWithStaff();
    const customer = await createCustomer(owner, shop.id);
    await db().query(`update auth.users set banned_until = now() + interval '1 day' where id = $1`, [staff.id]);
    expect(await customersSeenWith(staff.accessToken)).toEqual({ status: 200, ids: [] });
    await db().query(`update auth.users set banned_until = now() - interval '1 second' where id = $1`, [staff.id]);
    expect(await customersSeenWith(staff.accessToken)).toEqual({ status: 200, ids: [customer.id] });
  });

  it('a soft-deleted user, and a session past its not_after, read nothing', async () => {
    const { shop, owner, staff, manager } = await createShopWithStaff();
    const customer = await createCustomer(owner, shop.id);
    await db().query(`update auth.users set deleted_at = now() where id = $1`, [staff.id]);
    expect(await customersSeenWith(staff.accessToken)).toEqual({ status: 200, ids: [] });
    await db().query(`update auth.sessions set not_after = now() - interval '1 second' where user_id = $1`, [manager.id]);
    expect(await customersSeenWith(manager.accessToken)).toEqual({ status: 200, ids: [] });
    expect(await customersSeenWith(owner.accessToken)).toEqual({ status: 200, ids: [customer.id] });
  });

  it('kiosk keys are unaffected: a kiosk keeps paying after its owner signed out', async () => {
    const { shop, owner } = await createShopWithStaff();
    const customer = await createCustomer(owner, shop.id, { pin: '4821' });
    await callFunction('transactions/charge', asStaff(owner), {
      body: { customer_id: customer.id, amount: 10_000 },
      idempotencyKey: newIdempotencyKey(),
    });
    const kiosk = await registerKiosk(owner, shop.id);
    await owner.client.auth.signOut({ scope: 'global' });
    const paid = await callFunction('kiosk/pay', asKiosk(kiosk.device_key), {
      body: { phone: customer.phone, pin: '4821', amount: 3_000 },
      idempotencyKey: newIdempotencyKey(),
    });
    expect([paid.status, paid.body.balance]).toEqual([200, 7_000]);
  });

  it('a signed-out member cannot join the shop\'s live channel with the token they still hold', async () => {
    const { shop, staff } = await createShopWithStaff();
    const before = anonClient();
    await before.realtime.setAuth(staff.accessToken);
    const joined = await openScreen(before, shop.id);
    expect(joined.status).toBe('SUBSCRIBED');
    await joined.close();

    await staff.client.auth.signOut({ scope: 'global' });
    const after = anonClient();
    await after.realtime.setAuth(staff.accessToken);
    const refused = await openScreen(after, shop.id);
    try {
      expect(refused.status).toBe('CHANNEL_ERROR');
    } finally {
      await refused.close();
    }
  });
});

interface Targets {
  world: ShopWithStaff;
  customerId: string;
  transactionId: string;
  kioskId: string;
  promotionId: string;
}

/**
 * A customer with a PIN and a charge, a kiosk, and a promotion (over a minimum no test charge reaches, so
 * it adds no bonus), made by a signed-in owner.
 */
async function targets(world: ShopWithStaff, owner: TestUser): Promise<Targets> {
  const customer = await createCustomer(owner, world.shop.id, { pin: '1357' });
  const charged = await charge(owner, customer.id, 20_000);
  const { kiosk } = await registerKiosk(owner, world.shop.id);
  const promotion = await callFunction('promotions', asStaff(owner), { body: { shop_id: world.shop.id, min_charge: 500_000, bonus_amount: 1_000 } });
  if (promotion.status !== 201) throw new Error(`create promotion answered ${promotion.status}: ${JSON.stringify(promotion.body)}`);
  return { world, customerId: customer.id, transactionId: charged.transaction.id, kioskId: kiosk.id, promotionId: promotion.body.promotion.id };
}

/** Every kind of staff route with the given token: money, PINs, customers, kiosks, promotions, refunds, shops, the team. */
async function everyStaffRoute({ world, customerId, transactionId, kioskId, promotionId }: Targets, token: string) {
  const key = () => ({ idempotencyKey: newIdempotencyKey() });
  const routes: Array<[string, { method?: string; body?: unknown; idempotencyKey?: string }]> = [
    ['transactions/charge', { body: { customer_id: customerId, amount: 1_000 }, ...key() }],
    ['transactions/deduct', { body: { customer_id: customerId, amount: 1_000 }, ...key() }],
    ['transactions/cancel', { body: { transaction_id: transactionId }, ...key() }],
    ['refunds/quote', { body: { customer_id: customerId } }],
    ['refunds', { body: { customer_id: customerId, method: 'cash' }, ...key() }],
    ['pin/set', { body: { customer_id: customerId, pin: '2468' } }],
    ['pin/verify', { body: { customer_id: customerId, pin: '1357' } }],
    ['pin/unlock', { body: { customer_id: customerId } }],
    ['customers', { body: { shop_id: world.shop.id, name: '새 손님', phone: uniquePhone() } }],
    ['customers', { method: 'PATCH', body: { customer_id: customerId, name: '새 이름' } }],
    ['customers/close', { body: { customer_id: customerId } }],
    ['customers/erase', { body: { customer_id: customerId } }],
    ['shop-kiosks', { body: { shop_id: world.shop.id, name: '새 키오스크' } }],
    ['shop-kiosks/deactivate', { body: { kiosk_id: kioskId } }],
    ['promotions', { body: { shop_id: world.shop.id, min_charge: 1_000, bonus_percent: 5 } }],
    ['promotions/end', { body: { promotion_id: promotionId } }],
    ['shops', { body: { name: '새 가게' } }],
    ['shops', { method: 'PATCH', body: { shop_id: world.shop.id, name: '바뀐 가게' } }],
    [`members?shop_id=${world.shop.id}`, { method: 'GET' }],
    ['members', { body: { shop_id: world.shop.id, email: uniqueEmail('signed-out-invitee'), role: 'staff' } }],
    ['members', { method: 'PATCH', body: { shop_id: world.shop.id, user_id: world.staff.id, role: 'manager' } }],
    ['members/remove', { body: { shop_id: world.shop.id, user_id: world.staff.id } }],
  ];
  const outcomes: Array<[string, number, string | null]> = [];
  for (const [route, options] of routes) {
    const answer: FunctionAnswer = await callFunction(route, { token }, options);
    outcomes.push([`${options.method ?? 'POST'} ${route}`, answer.status, answer.body?.error?.code ?? null]);
  }
  return outcomes.filter(([, status, code]) => status !== 401 || code !== 'not_authenticated');
}

const shopsOf = async (user: TestUser) =>
  (await db().query<{ n: number }>(`select count(*)::int as n from public.shop_members where user_id = $1`, [user.id])).rows[0].n;

describe('staff routes refuse a signed-out session or a banned or deleted user, and change nothing', () => {
  it('after a global sign-out the same token is 401 not_authenticated on every staff route, and nothing is written', async () => {
    const world = await createShopWithStaff();
    const token = world.owner.accessToken;
    const { error } = await world.owner.client.auth.signOut({ scope: 'global' });
    expect(error).toBeNull();
    const t = await targets(world, await signInAgain(world.owner));
    const [before, shopsBefore] = [await fingerprint([world.shop.id]), await shopsOf(world.owner)];
    expect(await everyStaffRoute(t, token)).toEqual([]);
    expect([await fingerprint([world.shop.id]), await shopsOf(world.owner)]).toEqual([before, shopsBefore]);
  });

  it('a banned user is 401 on every staff route; once the ban has run out the same token acts again', async () => {
    const world = await createShopWithStaff();
    const t = await targets(world, world.owner);
    await db().query(`update auth.users set banned_until = now() + interval '1 day' where id = $1`, [world.manager.id]);
    const before = await fingerprint([world.shop.id]);
    expect(await everyStaffRoute(t, world.manager.accessToken)).toEqual([]);
    expect(await fingerprint([world.shop.id])).toEqual(before);

    await db().query(`update auth.users set banned_until = now() - interval '1 second' where id = $1`, [world.manager.id]);
    const charged = await callFunction('transactions/charge', asStaff(world.manager), {
      body: { customer_id: t.customerId, amount: 5_000 },
      idempotencyKey: newIdempotencyKey(),
    });
    expect([charged.status, charged.body.balance]).toEqual([200, 25_000]);
  });

  it('a soft-deleted user is 401', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner, world.shop.id);
    await db().query(`update auth.users set deleted_at = now() where id = $1`, [world.manager.id]);
    const refused = await callFunction('transactions/charge', asStaff(world.manager), {
      body: { customer_id: customer.id, amount: 5_000 },
      idempotencyKey: newIdempotencyKey(),
    });
    expect([refused.status, refused.body.error.code]).toEqual([401, 'not_authenticated']);
    expect(await ledgerCount(customer.id)).toBe(0);
  });

  it("a local sign-out ends that device's money calls only: the user's other session still charges and deducts", async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner, world.shop.id, { pin: '1357' });
    const otherDevice = (await signInAgain(world.staff)).accessToken;
    await world.staff.client.auth.signOut({ scope: 'local' });
    const money = (token: string, route: string, amount: number) =>
      callFunction(route, { token }, { body: { customer_id: customer.id, amount }, idempotencyKey: newIdempotencyKey() });

    const refused = await money(world.staff.accessToken, 'transactions/charge', 10_000);
    expect([refused.status, refused.body.error.code]).toEqual([401, 'not_authenticated']);
    const pin = await callFunction('pin/set', { token: world.staff.accessToken }, { body: { customer_id: customer.id, pin: '2468' } });
    expect([pin.status, pin.body.error.code]).toEqual([401, 'not_authenticated']);

    const charged = await money(otherDevice, 'transactions/charge', 10_000);
    const deducted = await money(otherDevice, 'transactions/deduct', 4_000);
    expect([charged.status, deducted.status, deducted.body.balance]).toEqual([200, 200, 6_000]);
    expect(await ledgerCount(customer.id)).toBe(2);
  });
});
