// A shop's live screen through supabase-js itself: a private channel per shop, fed by the
// database's broadcast of every committed movement, and RLS on realtime.messages deciding who hears.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '@supabase/supabase-js';
import type { Database } from '../../functions/_shared/database.types.ts';
import { anonClient, clientOptions, db, serviceClient, stackEnv } from '../support/index.ts';
import { asKiosk, asStaff, callFunction, charge, createCustomer, kioskShop, newIdempotencyKey, signToken, shopWithCustomer } from '../functions/http.ts';
import { openScreen, type Screen } from './support.ts';

const opened: Screen[] = [];
async function screenOf(...args: Parameters<typeof openScreen>): Promise<Screen> {
  const screen = await openScreen(...args);
  opened.push(screen);
  return screen;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((screen) => screen.close()));
});

function kioskPay(deviceKey: string, phone: string, amount: number) {
  return callFunction('kiosk/pay', asKiosk(deviceKey), {
    body: { phone, pin: '2580', amount },
    idempotencyKey: newIdempotencyKey(),
  });
}

describe('live screen: a member hears their shop', () => {
  it('hears a kiosk payment within a second of its answer, with the balance it left and nothing secret', async () => {
    const { shop, staff, customer, kiosk, deviceKey } = await kioskShop({ balance: 10_000 });
    const screen = await screenOf(staff.client, shop.id);
    expect(screen.status).toBe('SUBSCRIBED');

    const paid = await kioskPay(deviceKey, customer.phone, 3_500);
    expect(paid.status).toBe(200);
    const answeredAt = Date.now();
    const [heard] = await screen.waitFor(1, 1_000);
    expect(Date.now() - answeredAt).toBeLessThan(1_000);

    expect(heard.event).toBe('movement');
    expect(heard.meta?.id).toBe(heard.payload.id);
    expect(Object.keys(heard.payload).sort()).toEqual(['customer', 'id', 'shop_id', 'transaction']);
    expect(heard.payload.shop_id).toBe(shop.id);
    expect(heard.payload.transaction).toEqual({
      id: paid.body.transaction.id,
      type: 'deduct',
      amount: 3_500,
      paid_amount: 3_500,
      bonus_amount: 0,
      balance_after: 6_500,
      paid_balance_after: 6_500,
      bonus_balance_after: 0,
      sequence: 2,
      created_at: paid.body.transaction.created_at,
      customer_id: customer.id,
      original_transaction_id: null,
      actor_user_id: null,
      actor_kiosk_id: kiosk.id,
      memo: null,
    });
    expect(heard.payload.customer).toEqual({ id: customer.id, name: customer.name, balance: 6_500, paid_balance: 6_500, bonus_balance: 0 });
    const text = JSON.stringify(heard);
    expect(text).not.toMatch(/pin|hash|idempotency|2580/i);
    expect(await screen.waitFor(1)).toHaveLength(1);
  });

  it("hears it over Phoenix's 1.0.0 serializer too, which supabase-js speaks when asked", async () => {
    const { shop, staff, customer, deviceKey } = await kioskShop({ balance: 10_000 });
    const { API_URL, ANON_KEY } = stackEnv();
    const client = createClient<Database>(API_URL, ANON_KEY, { ...clientOptions, realtime: { ...clientOptions.realtime, vsn: '1.0.0' } });
    await client.realtime.setAuth(staff.accessToken);
    const screen = await screenOf(client, shop.id);
    expect(screen.status).toBe('SUBSCRIBED');
    expect((await kioskPay(deviceKey, customer.phone, 2_000)).status).toBe(200);
    const [heard] = await screen.waitFor(1);
    expect(heard.payload.transaction).toMatchObject({ type: 'deduct', amount: 2_000, balance_after: 8_000 });
  });
});

describe('live screen: who may not hear a shop', () => {
  it("refuses another shop's member, anon and a removed member; none of them hears the payment a member hears", async () => {
    const { shop, owner, staff, manager, customer, deviceKey } = await kioskShop({ balance: 10_000 });
    const stranger = (await shopWithCustomer()).owner;
    const refusal = `Unauthorized: You do not have permissions to read from this Channel topic: shop:${shop.id}`;

    const { error: removeError } = await serviceClient()
      .from('shop_members')
      .delete()
      .eq('shop_id', shop.id)
      .eq('user_id', manager.id);
    expect(removeError).toBeNull();

    const member = await screenOf(owner.client, shop.id);
    const refused = {
      stranger: await screenOf(stranger.client, shop.id),
      anon: await screenOf(anonClient(), shop.id),
      removed: await screenOf(manager.client, shop.id),
    };
    // The same topic joined as a public channel is not the shop's private channel: it hears nothing.
    const publicTopic = await screenOf(anonClient(), shop.id, { private: false });
    expect(member.status).toBe('SUBSCRIBED');
    expect(publicTopic.status).toBe('SUBSCRIBED');
    for (const screen of Object.values(refused)) {
      expect(screen.status).toBe('CHANNEL_ERROR');
      expect(screen.error?.message).toBe(refusal);
    }

    expect((await kioskPay(deviceKey, customer.phone, 1_000)).status).toBe(200);
    expect((await charge(staff, customer.id, 2_000)).balance).toBe(11_000);
    // The member's screen is the witness: deliveries go out one after another, so once it has heard
    // both movements, anything sent to the refused screens would have arrived too.
    await member.waitFor(2);
    expect(member.heard.map((heard) => heard.payload.customer.balance)).toEqual([9_000, 11_000]);
    for (const screen of [...Object.values(refused), publicTopic]) expect(screen.heard).toEqual([]);
  });

  it("refuses a member's own broadcast into the shop's channel: only the database speaks there", async () => {
    const { shop, owner, staff, customer } = await kioskShop({ balance: 10_000 });
    const listener = await screenOf(owner.client, shop.id);
    const sender = await screenOf(staff.client, shop.id, { ack: true });
    const fake = { transaction: { type: 'charge', amount: 1_000_000 } };
    expect(await sender.channel.send({ type: 'broadcast', event: 'movement', payload: fake })).toBe('error');

    // On a public channel of the same name clients do broadcast to each other, and still reach no member.
    const publicListener = await screenOf(anonClient(), shop.id, { private: false });
    const publicSender = await screenOf(anonClient(), shop.id, { private: false, ack: true });
    expect(await publicSender.channel.send({ type: 'broadcast', event: 'movement', payload: fake })).toBe('ok');
    await publicListener.waitFor(1);
    expect(publicListener.heard[0]).toMatchObject({ event: 'movement', payload: fake });
    // A real movement after the fakes is the witness: once the member hears it, the fakes had their turn.
    await charge(owner, customer.id, 1_000);
    await listener.waitFor(1);
    expect(listener.heard.map((heard) => heard.payload.transaction)).toEqual([
      expect.objectContaining({ type: 'charge', amount: 1_000, balance_after: 11_000 }),
    ]);
    expect(publicSender.heard).toEqual([]);
  });

  it('cuts a joined member off at their next token once they are removed from the shop', async () => {
    const { shop, owner, staff, customer } = await kioskShop({ balance: 10_000 });
    const removed = await screenOf(staff.client, shop.id);
    const member = await screenOf(owner.client, shop.id);
    expect([removed.status, member.status]).toEqual(['SUBSCRIBED', 'SUBSCRIBED']);

    await charge(owner, customer.id, 1_000);
    await removed.waitFor(1);

    await serviceClient().from('shop_members').delete().eq('shop_id', shop.id).eq('user_id', staff.id);
    // supabase-js hands every refreshed session's token to Realtime, which checks the policy again:
    // the member who is still one keeps listening, the removed one is shut out.
    expect((await owner.client.auth.refreshSession()).error).toBeNull();
    expect((await staff.client.auth.refreshSession()).error).toBeNull();
    await removed.until(() => removed.statuses.includes('CLOSED'), 'the channel to close');
    expect(removed.system).toEqual([
      {
        extension: 'system',
        status: 'error',
        message: `You no longer have permission to read from this Channel topic: shop:${shop.id}`,
        channel: `shop:${shop.id}`,
      },
    ]);

    await charge(owner, customer.id, 500);
    await member.waitFor(2);
    expect(removed.heard.map((heard) => heard.payload.customer.balance)).toEqual([11_000]);
    expect(member.heard.map((heard) => heard.payload.customer.balance)).toEqual([11_000, 11_500]);
  });
});

describe('live screen: tokens', () => {
  it('refuses an expired token and a token signed with another secret', async () => {
    const { shop, staff } = await kioskShop({ balance: 10_000 });
    const now = Math.floor(Date.now() / 1000);
    const expired = await signToken({ sub: staff.id, iat: now - 120, exp: now - 60 });
    const forged = await signToken({ sub: staff.id }, 'not-the-secret-of-this-project-at-all-000');

    const client = anonClient();
    await client.realtime.setAuth(expired);
    const withExpired = await screenOf(client, shop.id);
    expect(withExpired.status).toBe('CHANNEL_ERROR');
    expect(withExpired.error?.message).toMatch(/^InvalidJWTToken: Token has expired (6\d) seconds ago$/);

    const other = anonClient();
    await other.realtime.setAuth(forged);
    const withForged = await screenOf(other, shop.id);
    expect(withForged.status).toBe('CHANNEL_ERROR');
    expect(withForged.error?.message).toBe('JwtSignatureError: Failed to validate JWT signature');
  });

  it('shuts a channel down when its token expires, and it hears nothing after', async () => {
    const { shop, owner, staff, customer } = await kioskShop({ balance: 10_000 });
    const client = anonClient();
    await client.realtime.setAuth(await signToken({ sub: staff.id, exp: Math.floor(Date.now() / 1000) + 2 }));
    const screen = await screenOf(client, shop.id);
    const witness = await screenOf(owner.client, shop.id);
    expect([screen.status, witness.status]).toEqual(['SUBSCRIBED', 'SUBSCRIBED']);

    await screen.until(() => screen.statuses.includes('CLOSED'), 'the channel to close', 5_000);
    expect(screen.system).toHaveLength(1);
    expect(screen.system[0]).toMatchObject({ extension: 'system', status: 'error', channel: `shop:${shop.id}` });
    expect(screen.system[0].message).toMatch(/^Token has expired \d seconds ago$/);

    await charge(owner, customer.id, 1_000);
    await witness.waitFor(1);
    expect(screen.heard).toEqual([]);
  });
});

describe('live screen: only what commits, in commit order', () => {
  it('hears a movement only once its transaction commits, and never one that rolls back', async () => {
    const { shop, owner, staff, customer } = await kioskShop({ balance: 10_000 });
    // Another customer's charges, committed by the API, are the witnesses: the screen hears them in
    // commit order, so once it has heard one, anything committed before it would have arrived too.
    const other = await createCustomer(owner, shop.id);
    const screen = await screenOf(staff.client, shop.id);
    const connection = await db().connect();
    try {
      await connection.query('begin');
      await connection.query('select public.charge_balance($1, $2, 700, $3)', [owner.id, customer.id, newIdempotencyKey()]);
      await connection.query('rollback');

      await connection.query('begin');
      await connection.query('select public.charge_balance($1, $2, 300, $3)', [owner.id, customer.id, newIdempotencyKey()]);
      await charge(owner, other.id, 100);
      await screen.waitFor(1);
      expect(screen.heard.map((heard) => heard.payload.customer.id)).toEqual([other.id]);
      await connection.query('commit');
    } finally {
      connection.release();
    }
    const [, heard] = await screen.waitFor(2);
    expect(heard.payload.transaction).toMatchObject({ type: 'charge', amount: 300, balance_after: 10_300 });
    await charge(owner, other.id, 100);
    await screen.waitFor(3);
    expect(screen.heard.map((heard) => [heard.payload.customer.id, heard.payload.transaction.amount])).toEqual([
      [other.id, 100],
      [customer.id, 300],
      [other.id, 100],
    ]);
  });

  it('hears 200 movements of a burst, none lost, each customer in commit order', async () => {
    const { shop, owner, staff, customer } = await kioskShop({ balance: 10_000 });
    const others = await Promise.all([1, 2, 3].map(() => createCustomer(owner, shop.id)));
    const customers = [customer.id, ...others.map((other) => other.id)];
    const screen = await screenOf(staff.client, shop.id);

    const perCustomer = 50;
    const answers = await Promise.all(
      Array.from({ length: perCustomer * customers.length }, (_, index) =>
        callFunction('transactions/charge', asStaff(owner), {
          body: { customer_id: customers[index % customers.length], amount: 100 },
          idempotencyKey: newIdempotencyKey(),
        }),
      ),
    );
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(200);
    await screen.waitFor(200, 15_000);
    // One more movement, of a customer outside the burst, is the witness that nothing else was in flight.
    const witness = await createCustomer(owner, shop.id);
    await charge(owner, witness.id, 100);
    await screen.waitFor(201);
    expect(screen.heard).toHaveLength(201);
    expect(screen.heard[200].payload.customer.id).toBe(witness.id);

    const { rows } = await db().query<{ id: string; customer_id: string; balance_after: string }>(
      'select id, customer_id, balance_after from public.transactions where shop_id = $1 and amount = 100 order by customer_id, balance_after',
      [shop.id],
    );
    for (const id of customers) {
      const ledger = rows.filter((row) => row.customer_id === id);
      const heard = screen.heard.filter((message) => message.payload.customer.id === id);
      // The ledger's order for one customer is its commit order: each movement waited for the row lock.
      expect(heard.map((message) => message.payload.transaction.id)).toEqual(ledger.map((row) => row.id));
      const start = id === customer.id ? 10_000 : 0;
      expect(heard.map((message) => message.payload.transaction.balance_after)).toEqual(
        Array.from({ length: perCustomer }, (_, index) => start + 100 * (index + 1)),
      );
    }
  });
});

describe('the websocket endpoint behind the gateway', () => {
  /** The status and body the gateway answers to a websocket upgrade, when it refuses it. */
  function upgrade(query: string): Promise<{ status: number; body: unknown }> {
    const url = new URL(`/realtime/v1/websocket?${query}`, stackEnv().API_URL);
    return new Promise((resolve, reject) => {
      const req = http.request(url, {
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        },
      });
      req.on('upgrade', (_res, socket) => {
        socket.destroy();
        resolve({ status: 101, body: null });
      });
      req.on('response', async (res) => {
        let text = '';
        for await (const chunk of res) text += chunk;
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('refuses an upgrade without a known apikey as Kong does, and takes one with the anon key', async () => {
    expect(await upgrade('vsn=2.0.0')).toEqual({
      status: 401,
      body: { message: 'No API key found in request', hint: 'No `apikey` request header or url param was found.' },
    });
    expect(await upgrade('vsn=2.0.0&apikey=not-a-key')).toMatchObject({ status: 401, body: { message: 'Invalid API key' } });
    expect(await upgrade(`vsn=2.0.0&apikey=${stackEnv().ANON_KEY}`)).toEqual({ status: 101, body: null });
  });
});
