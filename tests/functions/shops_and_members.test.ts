/**
 * The routes of a shop that runs itself, over HTTP: opening a shop, its settings, the team (list, add
 * or invite, role, remove). Who may call which is in roles.test.ts; the SQL rules in tests/database.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { anonClient, createShopWithStaff, createUser, db, invitationToken, uniqueEmail } from '../support/index.ts';
import { asStaff, callFunction, charge, createCustomer, expectError, invoke, staffClient } from './http.ts';

const newEmail = () => uniqueEmail('invitee');

describe('POST and PATCH /functions/v1/shops', () => {
  it('opens a shop for any signed-in user, who then owns it and reads it through RLS', async () => {
    const user = await createUser();
    const answer = await invoke(staffClient(user), 'shops', { name: '  골목 카페 ' });
    expect(answer.status).toBe(201);
    expect(answer.body.shop).toMatchObject({ name: '골목 카페', max_balance: 2_000_000, pin_max_attempts: 5, pin_lock_minutes: 15 });
    const read = await user.client.from('shop_members').select('shop_id, role');
    expect(read.data).toEqual([{ shop_id: answer.body.shop.id, role: 'owner' }]);
  });

  it('changes the ceiling, and the next charge above it is refused', async () => {
    const { owner, shop } = await createShopWithStaff();
    const answer = await callFunction('shops', asStaff(owner), { method: 'PATCH', body: { shop_id: shop.id, max_balance: 10_000, pin_max_attempts: 3 } });
    expect(answer.status).toBe(200);
    expect(answer.body.shop).toMatchObject({ id: shop.id, max_balance: 10_000, pin_max_attempts: 3, pin_lock_minutes: 15 });
    const customer = await createCustomer(owner, shop.id);
    await charge(owner, customer.id, 10_000);
    const over = await callFunction('transactions/charge', asStaff(owner), { body: { customer_id: customer.id, amount: 1 }, idempotencyKey: randomUUID() });
    expectError(over, 409, 'balance_ceiling_exceeded');
  });

  it.each([
    ['a ceiling of 0', { max_balance: 0 }, ['max_balance']],
    ['a ceiling of 10 billion', { max_balance: 10_000_000_000 }, ['max_balance']],
    ['a lock of 0 minutes', { pin_lock_minutes: 0 }, ['pin_lock_minutes']],
    ['a fractional attempt count', { pin_max_attempts: 2.5 }, []],
    ['nothing to change', {}, []],
    ['a balance field', { name: 'x', current_balance: 5 }, []],
  ])('refuses %s with 400 validation_failed and changes nothing', async (_label, fields, path) => {
    const { owner, shop } = await createShopWithStaff();
    const answer = await callFunction('shops', asStaff(owner), { method: 'PATCH', body: { shop_id: shop.id, ...fields } });
    const error = expectError(answer, 400, 'validation_failed');
    if (path.length) expect(error.details[0].path).toEqual(path);
    const { rows } = await db().query('select name, max_balance::int, pin_max_attempts, pin_lock_minutes from public.shops where id = $1', [shop.id]);
    expect(rows[0]).toEqual({ name: shop.name, max_balance: 2_000_000, pin_max_attempts: 5, pin_lock_minutes: 15 });
  });
});

describe('/functions/v1/members', () => {
  it('lists the team with role, email and joining time for a member, through functions.invoke GET', async () => {
    const { owner, manager, staff, shop } = await createShopWithStaff();
    const { data, error } = await staffClient(staff).functions.invoke(`members?shop_id=${shop.id}`, { method: 'GET' });
    expect(error).toBeNull();
    const members = (data as { members: { email: string; role: string; joined_at: string; user_id: string }[] }).members;
    expect(members.map((m) => [m.user_id, m.email, m.role]).sort()).toEqual(
      [
        [owner.id, owner.email, 'owner'],
        [manager.id, manager.email, 'manager'],
        [staff.id, staff.email, 'staff'],
      ].sort(),
    );
    // Each joining time is the membership's own created_at, compared by the database at full precision.
    const { rows } = await db().query<{ user_id: string; same: boolean }>(
      `select m.user_id, m.created_at = listed.joined_at as same
       from unnest($2::uuid[], $3::timestamptz[]) as listed (user_id, joined_at)
       join public.shop_members m on m.shop_id = $1 and m.user_id = listed.user_id`,
      [shop.id, members.map((m) => m.user_id), members.map((m) => m.joined_at)],
    );
    expect(rows.map((row) => [row.user_id, row.same]).sort()).toEqual([owner.id, manager.id, staff.id].map((id) => [id, true]).sort());
    expectError(await callFunction('members?shop_id=nope', asStaff(staff), { method: 'GET' }), 400, 'validation_failed');
  });

  it('adds an existing user at once, and a second add of the same address is 409 already_member', async () => {
    const { owner, shop } = await createShopWithStaff();
    const barista = await createUser();
    const added = await callFunction('members', asStaff(owner), { body: { shop_id: shop.id, email: barista.email, role: 'staff' } });
    expect(added.status).toBe(201);
    expect(added.body.member).toMatchObject({ user_id: barista.id, email: barista.email, role: 'staff' });
    expectError(await callFunction('members', asStaff(owner), { body: { shop_id: shop.id, email: barista.email, role: 'manager' } }), 409, 'already_member');
    // The new member acts at once with the session they already had.
    expect((await barista.client.from('shops').select('id')).data).toEqual([{ id: shop.id }]);
  });

  it('invites an unknown address through GoTrue and adds the invited user, who accepts and works', async () => {
    const { owner, shop } = await createShopWithStaff();
    const address = newEmail();
    const added = await callFunction('members', asStaff(owner), { body: { shop_id: shop.id, email: address, role: 'manager' } });
    expect(added.status).toBe(201);
    expect(added.body.member).toMatchObject({ email: address, role: 'manager' });

    const invitee = anonClient();
    const accepted = await invitee.auth.verifyOtp({ token_hash: await invitationToken(address), type: 'invite' });
    expect(accepted.error).toBeNull();
    expect(accepted.data.user!.id).toBe(added.body.member.user_id);
    // The session the invitation opened works: the invitee reads exactly the shop it joined.
    expect((await invitee.from('shops').select('id')).data).toEqual([{ id: shop.id }]);
  });

  it('refuses an invitation the caller may not make before anyone is invited', async () => {
    const { staff, manager, shop } = await createShopWithStaff();
    const address = newEmail();
    expectError(await callFunction('members', asStaff(staff), { body: { shop_id: shop.id, email: address, role: 'staff' } }), 403, 'insufficient_role');
    expectError(await callFunction('members', asStaff(manager), { body: { shop_id: shop.id, email: address, role: 'manager' } }), 403, 'insufficient_role');
    const { rows } = await db().query('select 1 from auth.users where email = $1', [address]);
    expect(rows).toEqual([]);
  });

  it('changes a role, and refuses demoting the last owner with 409 last_owner', async () => {
    const { owner, staff, shop } = await createShopWithStaff();
    const promoted = await callFunction('members', asStaff(owner), { method: 'PATCH', body: { shop_id: shop.id, user_id: staff.id, role: 'manager' } });
    expect([promoted.status, promoted.body.member.role]).toEqual([200, 'manager']);
    const error = expectError(
      await callFunction('members', asStaff(owner), { method: 'PATCH', body: { shop_id: shop.id, user_id: owner.id, role: 'staff' } }),
      409,
      'last_owner',
    );
    expect(error.details).toEqual({ shop_id: shop.id, user_id: owner.id });
  });

  it('removes a member, whose next call with the same still-valid JWT is refused', async () => {
    const { owner, manager, shop } = await createShopWithStaff();
    const customer = await createCustomer(manager, shop.id);
    const removed = await callFunction('members/remove', asStaff(owner), { body: { shop_id: shop.id, user_id: manager.id } });
    expect([removed.status, removed.body.removed.role]).toEqual([200, 'manager']);
    expectError(
      await callFunction('customers', asStaff(manager), { method: 'PATCH', body: { customer_id: customer.id, name: '다른 이름' } }),
      404,
      'customer_not_found',
    );
    expect((await manager.client.from('customers').select('id')).data).toEqual([]);
  });
});

describe('POST /functions/v1/customers/close and /customers/erase', () => {
  it('closes a customer at zero balance, refuses the charge after it, then erases name and phone', async () => {
    const { owner, manager, shop } = await createShopWithStaff();
    const customer = await createCustomer(owner, shop.id, { pin: '1234' });
    await charge(owner, customer.id, 3_000);
    expectError(await callFunction('customers/close', asStaff(manager), { body: { customer_id: customer.id } }), 409, 'balance_not_zero');
    await callFunction('transactions/deduct', asStaff(owner), { body: { customer_id: customer.id, amount: 3_000 }, idempotencyKey: randomUUID() });

    const closed = await callFunction('customers/close', asStaff(manager), { body: { customer_id: customer.id } });
    expect(closed.status).toBe(200);
    expect(closed.body.customer).toMatchObject({ id: customer.id, name: customer.name, current_balance: 0 });
    expectError(
      await callFunction('transactions/charge', asStaff(owner), { body: { customer_id: customer.id, amount: 1_000 }, idempotencyKey: randomUUID() }),
      409,
      'customer_closed',
    );
    expectError(await callFunction('pin/set', asStaff(owner), { body: { customer_id: customer.id, pin: '5678' } }), 409, 'customer_closed');

    const erased = await callFunction('customers/erase', asStaff(owner), { body: { customer_id: customer.id } });
    expect(erased.status).toBe(200);
    expect(erased.body.customer).toMatchObject({ id: customer.id, name: null, phone: null, phone_last4: null });
    const reused = await createCustomer(owner, shop.id, { phone: customer.phone });
    expect(reused.phone).toBe(customer.phone);
  });

  it('refuses erasing an open customer with 409 customer_not_closed', async () => {
    const { owner, shop } = await createShopWithStaff();
    const customer = await createCustomer(owner, shop.id);
    expectError(await callFunction('customers/erase', asStaff(owner), { body: { customer_id: customer.id } }), 409, 'customer_not_closed');
  });
});
