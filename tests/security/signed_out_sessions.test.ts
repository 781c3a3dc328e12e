// An access token outlives its session by up to an hour. Reads through REST must not: RLS's membership
// helper checks the token's session and its user on every statement.
import { createClient } from '@supabase/supabase-js';
import { describe, expect, it } from 'vitest';
import { asStaff, callFunction, createCustomer, registerKiosk, asKiosk, newIdempotencyKey } from '../functions/http.ts';
import { anonClient, clientOptions, createShopWithStaff, db, stackEnv, type TestUser } from '../support/index.ts';
import { openScreen } from '../realtime/support.ts';

/** What the user's token reads through REST: the shop's customers' ids. */
async function customersSeenWith(accessToken: string): Promise<{ status: number; ids: string[] }> {
  const { API_URL, ANON_KEY } = stackEnv();
  const response = await fetch(`${API_URL}/rest/v1/customers?select=id`, {
    headers: { apikey: ANON_KEY, authorization: `Bearer ${accessToken}` },
  });
  const rows = (await response.json()) as { id: string }[];
  return { status: response.status, ids: rows.map((row) => row.id) };
}

async function secondSession(user: TestUser): Promise<string> {
  const client = createClient(stackEnv().API_URL, stackEnv().ANON_KEY, clientOptions);
  const { data, error } = await client.auth.signInWithPassword({ email: user.email, password: user.password });
  if (error || !data.session) throw new Error(`second sign-in: ${error?.message}`);
  return data.session.access_token;
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
    const otherDevice = await secondSession(staff);
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
