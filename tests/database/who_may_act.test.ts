/**
 * Who may act, over SQL as the edge functions call it: every staff RPC (each public function taking
 * p_actor_user_id) takes the token's session as p_actor_session_id, and refuses with
 * `not_authenticated` (401) a session that was signed out or expired, or a user who is banned or
 * deleted, changing nothing; another session of the same user still acts. Another shop's ids answer
 * exactly what unknown ids answer. And the sign of each movement type has one home.
 */
import { describe, expect, it } from 'vitest';
import { createShopWithStaff, createUser, db, signInAgain, uniqueEmail, uniquePhone, type ShopWithStaff, type TestUser } from '../support/index.ts';
import { fingerprint } from '../security/support.ts';
import { movementSign } from '../support/movements.ts';
import { createCustomer, idempotencyKey, rpc, rpcOk, rpcRefused, type Customer, type MoneyResult } from './support.ts';

/** The `session_id` claim of a user's access token, as the edge functions read it. */
function sessionOf(user: TestUser): string {
  const payload = JSON.parse(Buffer.from(user.accessToken.split('.')[1], 'base64url').toString('utf8')) as { session_id: string };
  return payload.session_id;
}

interface Targets {
  world: ShopWithStaff;
  customer: Customer;
  transactionId: string;
  kioskId: string;
  promotionId: string;
}

// Every staff RPC with the arguments of a call the owner may make on real targets of the shop.
const STAFF_CALLS: Record<string, (t: Targets) => Record<string, unknown>> = {
  charge_balance: (t) => ({ p_customer_id: t.customer.id, p_amount: 1_000, p_idempotency_key: idempotencyKey() }),
  deduct_balance: (t) => ({ p_customer_id: t.customer.id, p_amount: 1_000, p_idempotency_key: idempotencyKey() }),
  cancel_transaction: (t) => ({ p_transaction_id: t.transactionId, p_idempotency_key: idempotencyKey() }),
  quote_refund: (t) => ({ p_customer_id: t.customer.id }),
  refund_balance: (t) => ({ p_customer_id: t.customer.id, p_method: 'cash', p_idempotency_key: idempotencyKey() }),
  set_pin: (t) => ({ p_customer_id: t.customer.id, p_pin: '2468' }),
  verify_pin_atomic: (t) => ({ p_customer_id: t.customer.id, p_pin: '1357' }),
  unlock_pin: (t) => ({ p_customer_id: t.customer.id }),
  create_customer: (t) => ({ p_shop_id: t.world.shop.id, p_name: '새 손님', p_phone: uniquePhone() }),
  update_customer: (t) => ({ p_customer_id: t.customer.id, p_name: '새 이름' }),
  close_customer: (t) => ({ p_customer_id: t.customer.id }),
  erase_customer: (t) => ({ p_customer_id: t.customer.id }),
  register_kiosk: (t) => ({ p_shop_id: t.world.shop.id, p_name: '새 키오스크' }),
  deactivate_kiosk: (t) => ({ p_kiosk_id: t.kioskId }),
  create_promotion: (t) => ({ p_shop_id: t.world.shop.id, p_min_charge: 1_000, p_bonus_percent: 5 }),
  end_promotion: (t) => ({ p_promotion_id: t.promotionId }),
  create_shop: () => ({ p_name: '새 가게' }),
  update_shop: (t) => ({ p_shop_id: t.world.shop.id, p_name: '바뀐 가게' }),
  list_shop_members: (t) => ({ p_shop_id: t.world.shop.id }),
  add_shop_member: (t) => ({ p_shop_id: t.world.shop.id, p_email: t.world.staff.email, p_role: 'staff' }),
  update_shop_member: (t) => ({ p_shop_id: t.world.shop.id, p_user_id: t.world.staff.id, p_role: 'manager' }),
  remove_shop_member: (t) => ({ p_shop_id: t.world.shop.id, p_user_id: t.world.staff.id }),
};

async function targets(): Promise<Targets> {
  const world = await createShopWithStaff();
  const customer = await createCustomer(world.owner.id, world.shop.id, { pin: '1357', balance: 20_000 });
  const { rows } = await db().query<{ id: string }>(`select id from public.transactions where customer_id = $1`, [customer.id]);
  const { kiosk } = await rpcOk<{ kiosk: { id: string } }>('register_kiosk', { p_actor_user_id: world.owner.id, p_shop_id: world.shop.id, p_name: '카운터' });
  const { promotion } = await rpcOk<{ promotion: { id: string } }>('create_promotion', {
    p_actor_user_id: world.owner.id, p_shop_id: world.shop.id, p_min_charge: 50_000, p_bonus_amount: 5_000,
  });
  return { world, customer, transactionId: rows[0].id, kioskId: kiosk.id, promotionId: promotion.id };
}

/** What a refused actor could have changed: the shop, and any shop the owner belongs to. */
async function snapshot(t: Targets) {
  const { rows } = await db().query<{ n: number }>(`select count(*)::int as n from public.shop_members where user_id = $1`, [t.world.owner.id]);
  return { shop: await fingerprint([t.world.shop.id]), ownerShops: rows[0].n };
}

async function everyStaffCallRefused(t: Targets, actor: Record<string, unknown>): Promise<void> {
  const before = await snapshot(t);
  for (const [fn, args] of Object.entries(STAFF_CALLS)) {
    const answer = await rpc(fn, { ...args(t), ...actor });
    expect([fn, answer.status, answer.error?.code]).toEqual([fn, 401, 'not_authenticated']);
  }
  expect(await snapshot(t)).toEqual(before);
}

describe('every staff RPC takes the actor\'s session', () => {
  // The session comes last, or just before the shop that routes the call (issue 16: p_shop_id, added
  // after it so that older callers' arguments keep their places).
  it('is every public function taking p_actor_user_id, with p_actor_session_id last but for p_shop_id, executable by service_role only', async () => {
    const { rows } = await db().query<{ name: string; last: string }>(
      `select p.proname as name,
              (select a from unnest(p.proargnames) with ordinality u(a, i) where a <> 'p_shop_id' or i < array_length(p.proargnames, 1)
               order by i desc limit 1) as last
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where n.nspname = 'public' and 'p_actor_user_id' = any (p.proargnames)
       order by 1`,
    );
    expect(rows.map((row) => row.name)).toEqual(Object.keys(STAFF_CALLS).sort());
    expect(rows.filter((row) => row.last !== 'p_actor_session_id')).toEqual([]);
    const { rows: grants } = await db().query<{ name: string; anon: boolean; authenticated: boolean; service_role: boolean }>(
      `select p.proname as name, has_function_privilege('anon', p.oid, 'execute') as anon,
              has_function_privilege('authenticated', p.oid, 'execute') as authenticated,
              has_function_privilege('service_role', p.oid, 'execute') as service_role
       from pg_proc p
       where p.pronamespace = 'public'::regnamespace and 'p_actor_user_id' = any (p.proargnames)`,
    );
    expect(grants.filter((row) => row.anon || row.authenticated || !row.service_role)).toEqual([]);
  });
});

describe('a signed-out session, or a banned or deleted user, changes nothing', () => {
  it('a session that is gone (signed out) is refused by every staff RPC', async () => {
    const t = await targets();
    await everyStaffCallRefused(t, { p_actor_user_id: t.world.owner.id, p_actor_session_id: crypto.randomUUID() });
  });

  it("another user's session, or the user's own expired session, is refused too", async () => {
    const t = await targets();
    await everyStaffCallRefused(t, { p_actor_user_id: t.world.owner.id, p_actor_session_id: sessionOf(t.world.staff) });
    const device = await createUser();
    await db().query(`update auth.sessions set not_after = now() - interval '1 second' where id = $1`, [sessionOf(device)]);
    const rpcArgs = { p_actor_user_id: device.id, p_actor_session_id: sessionOf(device), p_name: '가게' };
    await rpcRefused('create_shop', rpcArgs, 'not_authenticated', 401);
  });

  it('a signed-out session (its row deleted, as GoTrue\'s sign-out does) is refused; the same user\'s other session still acts', async () => {
    const t = await targets();
    const { world } = t;
    const elsewhere = await createUser({ email: uniqueEmail('second') });
    await db().query(`insert into public.shop_members (shop_id, user_id, role) values ($1, $2, 'staff')`, [world.shop.id, elsewhere.id]);
    const signedOut = sessionOf(elsewhere);
    // A second session of the same user, as another device holds it.
    const otherDevice = sessionOf(await signInAgain(elsewhere));
    await db().query(`delete from auth.sessions where id = $1`, [signedOut]);

    const charge = (session: string) => ({
      p_actor_user_id: elsewhere.id, p_actor_session_id: session, p_customer_id: t.customer.id, p_amount: 1_000,
      p_idempotency_key: idempotencyKey(),
    });
    await rpcRefused('charge_balance', charge(signedOut), 'not_authenticated', 401);
    const charged = await rpcOk<MoneyResult>('charge_balance', charge(otherDevice));
    expect(charged.transaction.amount).toBe(1_000);
    const members = await rpcOk<{ members: unknown[] }>('list_shop_members', {
      p_actor_user_id: elsewhere.id, p_shop_id: world.shop.id, p_actor_session_id: otherDevice,
    });
    expect(members.members).toHaveLength(4);
  });

  it('a banned user is refused with any session, and acts again once the ban has run out', async () => {
    const t = await targets();
    const owner = t.world.owner;
    await db().query(`update auth.users set banned_until = now() + interval '1 day' where id = $1`, [owner.id]);
    try {
      await everyStaffCallRefused(t, { p_actor_user_id: owner.id, p_actor_session_id: sessionOf(owner) });
      // Without a session (a token minted without the claim) the user alone decides.
      await everyStaffCallRefused(t, { p_actor_user_id: owner.id });
    } finally {
      await db().query(`update auth.users set banned_until = now() - interval '1 second' where id = $1`, [owner.id]);
    }
    await rpcOk('list_shop_members', { p_actor_user_id: owner.id, p_shop_id: t.world.shop.id, p_actor_session_id: sessionOf(owner) });
  });

  it('a soft-deleted user and a user id that does not exist are refused', async () => {
    const other = await targets();
    await db().query(`update auth.users set deleted_at = now() where id = $1`, [other.world.owner.id]);
    await everyStaffCallRefused(other, { p_actor_user_id: other.world.owner.id, p_actor_session_id: sessionOf(other.world.owner) });
    await everyStaffCallRefused(other, { p_actor_user_id: crypto.randomUUID() });
  });
});

describe("another shop's ids answer exactly like unknown ids", () => {
  it('the same code, status, message and details (the id the caller sent) for a real id of another shop and a random one', async () => {
    const [mine, theirs] = await Promise.all([targets(), targets()]);
    const actor = { p_actor_user_id: mine.world.owner.id, p_actor_session_id: sessionOf(mine.world.owner) };
    const probes: Array<[string, keyof Targets | 'shop', (id: string) => Record<string, unknown>]> = [
      ['charge_balance', 'customer', (id) => ({ p_customer_id: id, p_amount: 1_000, p_idempotency_key: 'same-key' })],
      ['quote_refund', 'customer', (id) => ({ p_customer_id: id })],
      ['cancel_transaction', 'transactionId', (id) => ({ p_transaction_id: id, p_idempotency_key: 'same-key' })],
      ['deactivate_kiosk', 'kioskId', (id) => ({ p_kiosk_id: id })],
      ['end_promotion', 'promotionId', (id) => ({ p_promotion_id: id })],
      ['update_shop', 'shop', (id) => ({ p_shop_id: id, p_name: '탈취' })],
      ['list_shop_members', 'shop', (id) => ({ p_shop_id: id })],
    ];
    const before = await fingerprint([theirs.world.shop.id]);
    for (const [fn, kind, args] of probes) {
      const real = kind === 'shop' ? theirs.world.shop.id : kind === 'customer' ? theirs.customer.id : (theirs[kind] as string);
      const random = crypto.randomUUID();
      const [a, b] = [await rpc(fn, { ...args(real), ...actor }), await rpc(fn, { ...args(random), ...actor })];
      expect(a.status).toBe(404);
      expect([fn, a.status, JSON.stringify(a.error).replaceAll(real, '<id>')]).toEqual([fn, b.status, JSON.stringify(b.error).replaceAll(random, '<id>')]);
    }
    expect(await fingerprint([theirs.world.shop.id])).toEqual(before);
  });
});

describe('the sign of each movement type', () => {
  it('has one home, which knows every type the ledger allows', async () => {
    const { rows } = await db().query<{ type: string; sign: number; one: number }>(
      `select s.type, s.sign, private.movement_sign(s.type) as one from private.movement_signs() s order by s.type`,
    );
    expect(rows).toEqual([
      { type: 'bonus', sign: 1, one: 1 },
      { type: 'charge', sign: 1, one: 1 },
      { type: 'charge_cancel', sign: -1, one: -1 },
      { type: 'deduct', sign: -1, one: -1 },
      { type: 'deduct_cancel', sign: 1, one: 1 },
      { type: 'refund', sign: -1, one: -1 },
    ]);
    // The TypeScript copy the tests and the generator use says the same.
    expect(rows.map((r) => movementSign(r.type))).toEqual(rows.map((r) => r.sign));
    // The ledger's type check (transactions_type_known) lists exactly these types.
    const { rows: check } = await db().query<{ definition: string }>(
      `select pg_get_constraintdef(c.oid) as definition from pg_constraint c
       where c.conrelid = 'public.transactions'::regclass and c.conname = 'transactions_type_known'`,
    );
    const allowed = [...check[0].definition.matchAll(/'([a-z_]+)'::text/g)].map((match) => match[1]).sort();
    expect(allowed).toEqual(rows.map((row) => row.type));
  });
});
