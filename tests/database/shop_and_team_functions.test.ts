/**
 * Shops and their teams (create_shop, update_shop, add_shop_member, update_shop_member,
 * remove_shop_member, list_shop_members): what each stores and each refusal, called as the edge
 * functions call them. Who may call which is proved once, in tests/functions/roles.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { addMember, createShopWithStaff, createUser, db, ledgerCount } from '../support/index.ts';
import { createCustomer, idempotencyKey, rpc, rpcOk, rpcRefused } from './support.ts';

interface Shop {
  id: string;
  name: string;
  max_balance: number;
  pin_max_attempts: number;
  pin_lock_minutes: number;
}

interface Member {
  shop_id: string;
  user_id: string;
  role: string;
  email: string;
  joined_at: string;
}

async function roleOf(shopId: string, userId: string): Promise<string | undefined> {
  const { rows } = await db().query<{ role: string }>('select role from public.shop_members where shop_id = $1 and user_id = $2', [
    shopId,
    userId,
  ]);
  return rows[0]?.role;
}

describe('create_shop and update_shop', () => {
  it('a signed-in user opens a shop with the default settings and is its only member, an owner', async () => {
    const user = await createUser();
    const { shop } = await rpcOk<{ shop: Shop }>('create_shop', { p_actor_user_id: user.id, p_name: '  동네 빵집 ' });
    expect(shop).toMatchObject({ name: '동네 빵집', max_balance: 2_000_000, pin_max_attempts: 5, pin_lock_minutes: 15 });
    const { rows } = await db().query('select user_id, role from public.shop_members where shop_id = $1', [shop.id]);
    expect(rows).toEqual([{ user_id: user.id, role: 'owner' }]);
  });

  it('refuses a missing or deleted user with not_authenticated and a blank name with invalid_name', async () => {
    await rpcRefused('create_shop', { p_actor_user_id: null, p_name: '가게' }, 'not_authenticated', 401);
    await rpcRefused('create_shop', { p_actor_user_id: crypto.randomUUID(), p_name: '가게' }, 'not_authenticated', 401);
    const user = await createUser();
    await rpcRefused('create_shop', { p_actor_user_id: user.id, p_name: '   ' }, 'invalid_name', 400);
  });

  it('refuses a user deleted while it opens the shop, and leaves no membership of theirs', async () => {
    const user = await createUser();
    const deleting = await db().connect();
    let answer: Awaited<ReturnType<typeof rpc>>;
    try {
      await deleting.query('begin');
      await deleting.query('delete from auth.users where id = $1', [user.id]);
      // create_shop has found the user signed in (the delete is not committed) and waits on its lock.
      const opening = rpc('create_shop', { p_actor_user_id: user.id, p_name: '가게' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await deleting.query('commit');
      answer = await opening;
    } finally {
      deleting.release();
    }
    expect({ code: answer.error?.code, status: answer.status }).toEqual({ code: 'not_authenticated', status: 401 });
    const { rows } = await db().query<{ n: number }>('select count(*)::int as n from public.shop_members where user_id = $1', [user.id]);
    expect(rows[0]!.n).toBe(0);
  });

  it('update_shop changes only the settings given and keeps the others', async () => {
    const { owner, shop } = await createShopWithStaff();
    const updated = await rpcOk<{ shop: Shop }>('update_shop', {
      p_actor_user_id: owner.id,
      p_shop_id: shop.id,
      p_max_balance: 500_000,
      p_pin_lock_minutes: 30,
    });
    expect(updated.shop).toMatchObject({ name: shop.name, max_balance: 500_000, pin_max_attempts: 5, pin_lock_minutes: 30 });
    const renamed = await rpcOk<{ shop: Shop }>('update_shop', { p_actor_user_id: owner.id, p_shop_id: shop.id, p_name: '새 이름' });
    expect(renamed.shop).toMatchObject({ name: '새 이름', max_balance: 500_000, pin_lock_minutes: 30 });
  });

  it.each([
    ['p_max_balance', 0],
    ['p_max_balance', 10_000_000_000],
    ['p_pin_max_attempts', 0],
    ['p_pin_max_attempts', 21],
    ['p_pin_lock_minutes', 0],
    ['p_pin_lock_minutes', 1441],
  ])('refuses %s = %d with validation_failed and changes nothing', async (field, value) => {
    const world = await createShopWithStaff();
    const error = await rpcRefused('update_shop', { p_actor_user_id: world.owner.id, p_shop_id: world.shop.id, [field]: value }, 'validation_failed', 400);
    expect(JSON.parse(error.details)).toMatchObject({ field: field.slice(2) });
    const { rows } = await db().query('select max_balance, pin_max_attempts, pin_lock_minutes from public.shops where id = $1', [world.shop.id]);
    expect(rows[0]).toEqual({ max_balance: '2000000', pin_max_attempts: 5, pin_lock_minutes: 15 });
  });

  it('an unknown shop is shop_not_found', async () => {
    const world = await createShopWithStaff();
    await rpcRefused('update_shop', { p_actor_user_id: world.owner.id, p_shop_id: crypto.randomUUID(), p_name: 'x' }, 'shop_not_found', 404);
  });
});

describe('the team: add, change a role, remove, list', () => {
  it('a deleted user leaves their shops, and the ledger rows they wrote stay as they were', async () => {
    const team = await createShopWithStaff();
    const customer = await createCustomer(team.owner.id, team.shop.id, { balance: 10_000 });
    await rpcOk('deduct_balance', { p_actor_user_id: team.staff.id, p_customer_id: customer.id, p_amount: 3_000, p_idempotency_key: idempotencyKey() });
    await db().query('delete from auth.users where id = $1', [team.staff.id]);
    expect(await roleOf(team.shop.id, team.staff.id)).toBeUndefined();
    expect(await ledgerCount(customer.id)).toBe(2);
    const { rows } = await db().query('select type, amount::int as amount, actor_user_id from public.transactions where customer_id = $1 order by sequence', [customer.id]);
    expect(rows).toEqual([
      { type: 'charge', amount: 10_000, actor_user_id: team.owner.id },
      { type: 'deduct', amount: 3_000, actor_user_id: team.staff.id },
    ]);
  });

  it('adds an existing user by email, whatever its case, and lists the team with emails and joining times', async () => {
    const team = await createShopWithStaff();
    const newcomer = await createUser();
    const { member } = await rpcOk<{ member: Member }>('add_shop_member', {
      p_actor_user_id: team.manager.id,
      p_shop_id: team.shop.id,
      p_email: newcomer.email.toUpperCase(),
      p_role: 'staff',
    });
    expect(member).toMatchObject({ shop_id: team.shop.id, user_id: newcomer.id, role: 'staff', email: newcomer.email });

    const { members } = await rpcOk<{ members: Member[] }>('list_shop_members', { p_actor_user_id: team.staff.id, p_shop_id: team.shop.id });
    expect(members.map((m) => [m.email, m.role]).sort()).toEqual(
      [
        [team.owner.email, 'owner'],
        [team.manager.email, 'manager'],
        [team.staff.email, 'staff'],
        [newcomer.email, 'staff'],
      ].sort(),
    );
    expect(members.every((m) => !Number.isNaN(Date.parse(m.joined_at)))).toBe(true);
  });

  it('refuses an unknown email (user_not_found: the function invites), a second membership and an unknown role', async () => {
    const world = await createShopWithStaff();
    const base = { p_actor_user_id: world.owner.id, p_shop_id: world.shop.id };
    await rpcRefused('add_shop_member', { ...base, p_email: 'nobody-yet@test.comings.kr', p_role: 'staff' }, 'user_not_found', 404);
    await rpcRefused('add_shop_member', { ...base, p_email: world.staff.email, p_role: 'manager' }, 'already_member', 409);
    await rpcRefused('add_shop_member', { ...base, p_email: world.staff.email, p_role: 'boss' }, 'validation_failed', 400);
    await rpcRefused('add_shop_member', { ...base, p_email: 'not an email', p_role: 'staff' }, 'validation_failed', 400);
    expect(await roleOf(world.shop.id, world.staff.id)).toBe('staff');
  });

  it('an owner promotes and demotes; the last owner cannot be demoted, removed or leave (last_owner)', async () => {
    const team = await createShopWithStaff();
    const base = { p_actor_user_id: team.owner.id, p_shop_id: team.shop.id };
    await rpcRefused('update_shop_member', { ...base, p_user_id: team.owner.id, p_role: 'manager' }, 'last_owner', 409);
    await rpcRefused('remove_shop_member', { ...base, p_user_id: team.owner.id }, 'last_owner', 409);
    expect(await roleOf(team.shop.id, team.owner.id)).toBe('owner');

    await rpcOk('update_shop_member', { ...base, p_user_id: team.manager.id, p_role: 'owner' });
    expect(await roleOf(team.shop.id, team.manager.id)).toBe('owner');
    // With a second owner the first may step down, and then the second is the last.
    await rpcOk('update_shop_member', { ...base, p_user_id: team.owner.id, p_role: 'staff' });
    expect(await roleOf(team.shop.id, team.owner.id)).toBe('staff');
    await rpcRefused('remove_shop_member', { p_actor_user_id: team.manager.id, p_shop_id: team.shop.id, p_user_id: team.manager.id }, 'last_owner', 409);
    await rpcRefused('update_shop_member', { ...base, p_user_id: team.owner.id, p_role: 'owner' }, 'insufficient_role', 403);
  });

  it('refuses a role change or removal of a non-member with member_not_found', async () => {
    const world = await createShopWithStaff();
    const stranger = await createUser();
    const base = { p_actor_user_id: world.owner.id, p_shop_id: world.shop.id, p_user_id: stranger.id };
    await rpcRefused('update_shop_member', { ...base, p_role: 'staff' }, 'member_not_found', 404);
    await rpcRefused('remove_shop_member', base, 'member_not_found', 404);
  });

  it('a removed member loses the shop at once: RLS shows them nothing and every function refuses them', async () => {
    const team = await createShopWithStaff();
    await addMember(team.shop.id, (await createUser()).id, 'owner');
    const before = await team.staff.client.from('shops').select('id');
    expect(before.data).toEqual([{ id: team.shop.id }]);

    const { removed } = await rpcOk<{ removed: Member }>('remove_shop_member', {
      p_actor_user_id: team.staff.id,
      p_shop_id: team.shop.id,
      p_user_id: team.staff.id,
    });
    expect(removed).toMatchObject({ user_id: team.staff.id, role: 'staff', email: team.staff.email });
    // The same JWT as before.
    expect((await team.staff.client.from('shops').select('id')).data).toEqual([]);
    await rpcRefused('list_shop_members', { p_actor_user_id: team.staff.id, p_shop_id: team.shop.id }, 'shop_not_found', 404);

    // An owner may leave while another owner stays.
    await rpcOk('remove_shop_member', { p_actor_user_id: team.owner.id, p_shop_id: team.shop.id, p_user_id: team.owner.id });
    expect(await roleOf(team.shop.id, team.owner.id)).toBeUndefined();
  });

  it('auth.users stays out of the API roles\' reach: the emails leave only through list_shop_members', async () => {
    const { rows } = await db().query(
      `select r.rolname, has_table_privilege(r.rolname, 'auth.users', 'select') as can_read
         from pg_roles r where r.rolname in ('anon', 'authenticated') order by 1`,
    );
    expect(rows).toEqual([
      { rolname: 'anon', can_read: false },
      { rolname: 'authenticated', can_read: false },
    ]);
    const { rows: grants } = await db().query(
      `select p.proname, has_function_privilege('authenticated', p.oid, 'execute') as authenticated,
              has_function_privilege('anon', p.oid, 'execute') as anon
         from pg_proc p where p.pronamespace = 'public'::regnamespace
          and p.proname in ('list_shop_members', 'add_shop_member', 'create_shop', 'close_customer', 'erase_customer')
        order by 1`,
    );
    expect(grants.every((g) => !g.authenticated && !g.anon)).toBe(true);
    expect(grants).toHaveLength(5);
  });
});
