// A shop's team and a customer's closing under concurrency: owners demoting each other at the same
// moment never leave a shop without an owner, one address added fifty times at once is one
// membership, and a close racing a charge or a kiosk payment never closes a customer with money left
// nor lets money move on a closed one.
import { describe, expect, it } from 'vitest';
import { asKiosk, asStaff, callFunction, charge, createCustomer, newIdempotencyKey, registerKiosk } from '../functions/http.ts';
import { addMember, createShop, createShopWithStaff, createUser, db, uniqueEmail } from '../support/index.ts';
import { IN_FLIGHT, atOnce, expectBooksBalance } from './at-once.ts';

const SHOPS = IN_FLIGHT / 2;
const PIN = '8642';

async function ownersOf(shopIds: string[]): Promise<Map<string, number>> {
  const { rows } = await db().query<{ shop_id: string; owners: number }>(
    `select s.id as shop_id, count(m.user_id) filter (where m.role = 'owner')::int as owners
       from public.shops s left join public.shop_members m on m.shop_id = s.id
      where s.id = any($1::uuid[]) group by s.id`,
    [shopIds],
  );
  return new Map(rows.map((row) => [row.shop_id, row.owners]));
}

describe('the last owner under concurrency', () => {
  it('two owners demoting each other, or themselves, at the same moment always leave exactly one owner', async () => {
    const shops = await Promise.all(
      Array.from({ length: SHOPS }, async () => {
        const [shop, first, second] = await Promise.all([createShop(), createUser(), createUser()]);
        await Promise.all([addMember(shop.id, first.id, 'owner'), addMember(shop.id, second.id, 'owner')]);
        return { shop, owners: [first, second] as const };
      }),
    );
    const shopIds = shops.map(({ shop }) => shop.id);

    // Each owner demotes the other: whoever gets the shop's lock first wins, and the other is no
    // longer an owner when its turn comes.
    const mutual = await atOnce(`${SHOPS} pairs of owners demoting each other`, IN_FLIGHT, (index) => {
      const { shop, owners } = shops[index >> 1]!;
      const [actor, target] = index % 2 === 0 ? owners : [owners[1], owners[0]];
      return callFunction('members', asStaff(actor), { method: 'PATCH', body: { shop_id: shop.id, user_id: target.id, role: 'manager' } });
    });
    expect(mutual.outcomes).toEqual({ '200': SHOPS, '403 insufficient_role': SHOPS });
    expect([...(await ownersOf(shopIds)).values()]).toEqual(Array(SHOPS).fill(1));

    // Both owners again; now each steps down at once: one may, the other is then the last owner.
    await db().query(`update public.shop_members set role = 'owner' where shop_id = any($1::uuid[])`, [shopIds]);
    const selves = await atOnce(`${SHOPS} pairs of owners stepping down together`, IN_FLIGHT, (index) => {
      const { shop, owners } = shops[index >> 1]!;
      const actor = owners[index % 2]!;
      return callFunction('members', asStaff(actor), { method: 'PATCH', body: { shop_id: shop.id, user_id: actor.id, role: 'staff' } });
    });
    expect(selves.outcomes).toEqual({ '200': SHOPS, '409 last_owner': SHOPS });
    expect([...(await ownersOf(shopIds)).values()]).toEqual(Array(SHOPS).fill(1));
  });
});

describe('one address added many times at once', () => {
  it.each([
    ['a new address (each call invites it)', async () => uniqueEmail('race')],
    ['an existing user', async () => (await createUser()).email],
  ])('%s: exactly one membership and one user, the others already_member', async (_label, address) => {
    const { owner, shop } = await createShopWithStaff();
    const email = await address();
    const burst = await atOnce(`${IN_FLIGHT} adds of one address`, IN_FLIGHT, () =>
      callFunction('members', asStaff(owner), { body: { shop_id: shop.id, email, role: 'staff' } }),
    );
    expect(burst.outcomes).toEqual({ '201': 1, '409 already_member': IN_FLIGHT - 1 });
    const { rows } = await db().query(
      `select count(distinct u.id)::int as users, count(m.user_id)::int as memberships
         from auth.users u left join public.shop_members m on m.user_id = u.id and m.shop_id = $2
        where u.email = $1`,
      [email, shop.id],
    );
    expect(rows[0]).toEqual({ users: 1, memberships: 1 });
  });
});

describe('closing a customer while money moves', () => {
  it('a close and a charge at once on a zero balance: exactly one of them is done', async () => {
    const { owner, manager, shop } = await createShopWithStaff();
    const customers = await Promise.all(Array.from({ length: SHOPS }, () => createCustomer(owner, shop.id)));
    const burst = await atOnce(`${SHOPS} closes racing ${SHOPS} charges`, IN_FLIGHT, (index) => {
      const customer = customers[index >> 1]!;
      return index % 2 === 0
        ? callFunction('customers/close', asStaff(manager), { body: { customer_id: customer.id } })
        : callFunction('transactions/charge', asStaff(owner), { body: { customer_id: customer.id, amount: 1_000 }, idempotencyKey: newIdempotencyKey() });
    });
    for (const [n, customer] of customers.entries()) {
      const [close, chargeAnswer] = [burst.answers[2 * n]!, burst.answers[2 * n + 1]!];
      const done = [close.status === 200, chargeAnswer.status === 200];
      expect(done.filter(Boolean)).toHaveLength(1);
      // The one not done was refused for the other's reason, and the books say the same.
      if (done[0]) {
        expect(chargeAnswer.body.error.code).toBe('customer_closed');
        await expectBooksBalance(customer.id, 0);
      } else {
        expect(close.body.error.code).toBe('balance_not_zero');
        await expectBooksBalance(customer.id, 1_000);
      }
    }
    console.log(`[race] closes done: ${burst.answers.filter((a, i) => i % 2 === 0 && a.status === 200).length} of ${SHOPS}`);
  });

  it('a close and a kiosk payment of the whole balance at once: the payment is always done, the close only after it', async () => {
    const { owner, manager, shop } = await createShopWithStaff();
    const { device_key } = await registerKiosk(owner, shop.id);
    const customers = await Promise.all(
      Array.from({ length: SHOPS }, async () => {
        const customer = await createCustomer(owner, shop.id, { pin: PIN });
        await charge(owner, customer.id, 1_000);
        return customer;
      }),
    );
    const burst = await atOnce(`${SHOPS} closes racing ${SHOPS} kiosk payments`, IN_FLIGHT, (index) => {
      const customer = customers[index >> 1]!;
      return index % 2 === 0
        ? callFunction('customers/close', asStaff(manager), { body: { customer_id: customer.id } })
        : callFunction('kiosk/pay', asKiosk(device_key), { body: { phone: customer.phone, pin: PIN, amount: 1_000 }, idempotencyKey: newIdempotencyKey() });
    });
    // A close that comes first finds the 1,000 and is refused; one that comes after the payment
    // finds 0 and closes. Never the other way round: no close with money left, no payment refused.
    for (const [n, customer] of customers.entries()) {
      const [close, pay] = [burst.answers[2 * n]!, burst.answers[2 * n + 1]!];
      expect(pay.status).toBe(200);
      if (close.status !== 200) expect(close.body.error.code).toBe('balance_not_zero');
      const ledger = await expectBooksBalance(customer.id, 0);
      expect(ledger.map((row) => row.type)).toEqual(['charge', 'deduct']);
      const { rows } = await db().query<{ closed: boolean; after: boolean }>(
        `select c.closed_at is not null as closed,
                exists (select 1 from public.transactions t where t.customer_id = c.id and t.created_at > c.closed_at) as after
           from public.customers c where c.id = $1`,
        [customer.id],
      );
      expect(rows[0]).toEqual({ closed: close.status === 200, after: false });
    }
  });
});
