/**
 * The one place roles are proved: README.md's "Who may do what" table, read from the README itself,
 * row by row against the running stack. Every row is tried as each column's caller (owner, manager
 * and staff of the shop, the owner of another shop, the shop's kiosk, anon); a ✓ must succeed and
 * an empty cell must be refused with the code that caller gets. A README row without a probe here,
 * or a probe without its README row, fails the suite: the table and the code cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addMember, createShopWithStaff, createUser, db, gatewayHeaders, send, type ShopWithStaff, type TestUser } from '../support/index.ts';
import { anonKey, asKiosk, asStaff, callFunction, charge, createCustomer, newIdempotencyKey, registerKiosk, uniquePhone, type Caller, type CustomerRecord, type FunctionAnswer } from './http.ts';

const COLUMNS = ['owner', 'manager', 'staff', "another shop's member", 'kiosk', 'anon'] as const;
type Column = (typeof COLUMNS)[number];

interface World extends ShopWithStaff {
  deviceKey: string;
}

/** Who calls: a staff caller with the user acting, or a kiosk or anon with no user. */
interface Acting {
  column: Column;
  caller: Caller;
  user: TestUser | null;
}

/** What one cell observed: succeeded, or the refusal's status and code. */
type Outcome = 'allowed' | 'no rows' | `${number} ${string}`;

type Probe = (world: World, acting: Acting) => Promise<Outcome>;

function outcome(answer: FunctionAnswer): Outcome {
  if (answer.status >= 200 && answer.status < 300) return 'allowed';
  return `${answer.status} ${answer.body?.error?.code}`;
}

const post = (route: string, body: unknown, acting: Acting, options: { method?: string; money?: boolean } = {}) =>
  callFunction(route, acting.caller, {
    method: options.method ?? 'POST',
    body,
    idempotencyKey: options.money ? newIdempotencyKey() : undefined,
  }).then(outcome);

/**
 * One read through /rest/v1 as the caller: 'allowed' when the shop's row comes back, 'no rows' when
 * RLS hides it (an empty 200; a statement of a customer RLS hides answers 404 customer_not_found, its
 * way of having no rows), else the status and `no rows`.
 */
async function restRead(acting: Acting, pathAndQuery: string, rpcArguments?: object): Promise<Outcome> {
  const { status, body } = await send({
    method: rpcArguments ? 'POST' : 'GET',
    path: `rest/v1/${pathAndQuery}`,
    headers: gatewayHeaders(acting.caller.token, {
      'content-type': 'application/json',
      ...(acting.caller.kioskKey ? { 'x-kiosk-key': acting.caller.kioskKey } : {}),
    }),
    body: rpcArguments ? JSON.stringify(rpcArguments) : undefined,
  });
  const ok = status >= 200 && status < 300;
  if (rpcArguments) {
    if (ok && (body as { closing?: unknown } | null)?.closing) return 'allowed';
    // The statement names one customer: one the caller may not read answers as an unknown one.
    if (status === 404 && (body as { code?: unknown } | null)?.code === 'customer_not_found') return 'no rows';
    return `${status} no rows`;
  }
  if (ok && Array.isArray(body)) return body.length >= 1 ? 'allowed' : 'no rows';
  return `${status} no rows`;
}

const customerOf = (world: World, fields: { pin?: string } = {}) => createCustomer(world.owner, world.shop.id, fields);

async function closedCustomer(world: World): Promise<CustomerRecord> {
  const customer = await customerOf(world);
  const closed = await callFunction('customers/close', asStaff(world.owner), { body: { customer_id: customer.id } });
  if (closed.status !== 200) throw new Error(`close answered ${closed.status}`);
  return customer;
}

async function newMember(world: World, role: 'owner' | 'manager' | 'staff'): Promise<TestUser> {
  const user = await createUser();
  await addMember(world.shop.id, user.id, role);
  return user;
}

// The row's first cell, exactly as in README.md, and how to try it.
// `unknown`: what another shop's member gets from a staff row, which is exactly what an unknown id of
// the row's target gets (their ids cannot be told from random ones); ' / ' joins a row's two routes.
const PROBES: Record<string, { kind: 'rest' | 'staff' | 'kiosk'; probe: Probe; unknown?: Outcome }> = {
  "read the shop's customers, ledger, kiosks, team, promotions, daily summaries, outstanding balance, a customer's statement (REST, RLS)": {
    kind: 'rest',
    probe: async (world, acting) => {
      const customer = await customerOf(world);
      await charge(world.owner, customer.id, 1_000);
      await callFunction('promotions', asStaff(world.owner), { body: { shop_id: world.shop.id, min_charge: 50_000, bonus_amount: 1_000 } });
      const shop = `shop_id=eq.${world.shop.id}`;
      const reads = await Promise.all([
        restRead(acting, `customers?id=eq.${customer.id}&select=id`),
        restRead(acting, `transactions?customer_id=eq.${customer.id}&select=id`),
        restRead(acting, `kiosks?${shop}&select=id`),
        restRead(acting, `shop_members?${shop}&select=user_id`),
        restRead(acting, `promotions?${shop}&select=id`),
        restRead(acting, `shop_daily_summaries?${shop}&select=shop_id`),
        restRead(acting, `shop_outstanding_balances?${shop}&select=shop_id`),
        restRead(acting, 'rpc/customer_statement', { p_customer_id: customer.id }),
      ]);
      // One outcome when every read agrees; otherwise each read's, so that a failure names the one that differs.
      return new Set(reads).size === 1 ? reads[0]! : (reads.join(' / ') as Outcome);
    },
  },
  'open a shop and become its first owner (`POST /shops`)': {
    kind: 'staff',
    probe: (_world, acting) => post('shops', { name: '새 가게' }, acting),
  },
  "change the shop's name, balance ceiling, PIN policy or refund and bonus settings (`PATCH /shops`)": {
    kind: 'staff',
    unknown: '404 shop_not_found',
    probe: async (world, acting) => {
      const ceiling = await post('shops', { shop_id: world.shop.id, max_balance: 3_000_000 }, acting, { method: 'PATCH' });
      const refunds = await post('shops', { shop_id: world.shop.id, refund_fee_percent: 10, spend_bonus_first: true }, acting, { method: 'PATCH' });
      return ceiling === refunds ? ceiling : `${ceiling} / ${refunds}` as Outcome;
    },
  },
  'see the team: roles, emails, joining times (`GET /members`)': {
    kind: 'staff',
    unknown: '404 shop_not_found',
    probe: (world, acting) => callFunction(`members?shop_id=${world.shop.id}`, acting.caller, { method: 'GET' }).then(outcome),
  },
  'add or invite a staff member (`POST /members`)': {
    kind: 'staff',
    unknown: '404 shop_not_found',
    probe: async (world, acting) => post('members', { shop_id: world.shop.id, email: (await createUser()).email, role: 'staff' }, acting),
  },
  'add or invite a manager or an owner (`POST /members`)': {
    kind: 'staff',
    unknown: '404 shop_not_found',
    probe: async (world, acting) => post('members', { shop_id: world.shop.id, email: (await createUser()).email, role: 'manager' }, acting),
  },
  "change a member's role (`PATCH /members`)": {
    kind: 'staff',
    unknown: '404 shop_not_found',
    probe: async (world, acting) =>
      post('members', { shop_id: world.shop.id, user_id: (await newMember(world, 'staff')).id, role: 'manager' }, acting, { method: 'PATCH' }),
  },
  'remove a staff member (`POST /members/remove`)': {
    kind: 'staff',
    unknown: '404 shop_not_found',
    probe: async (world, acting) => post('members/remove', { shop_id: world.shop.id, user_id: (await newMember(world, 'staff')).id }, acting),
  },
  'remove a manager or an owner (`POST /members/remove`)': {
    kind: 'staff',
    unknown: '404 shop_not_found',
    probe: async (world, acting) => post('members/remove', { shop_id: world.shop.id, user_id: (await newMember(world, 'manager')).id }, acting),
  },
  "leave the shop (`POST /members/remove` with one's own id; never its last owner)": {
    kind: 'staff',
    unknown: '404 shop_not_found',
    probe: async (world, acting) => {
      // Another owner stays, so that the owner's leaving is not the last owner's.
      if (acting.column === 'owner') await newMember(world, 'owner');
      return post('members/remove', { shop_id: world.shop.id, user_id: acting.user?.id ?? world.staff.id }, acting);
    },
  },
  'create or rename a customer (`POST`/`PATCH /customers`)': {
    kind: 'staff',
    unknown: '404 shop_not_found / 404 customer_not_found',
    probe: async (world, acting) => {
      const created = await post('customers', { shop_id: world.shop.id, name: '새 손님', phone: uniquePhone() }, acting);
      const renamed = await post('customers', { customer_id: (await customerOf(world)).id, name: '새 이름' }, acting, { method: 'PATCH' });
      return created === renamed ? created : `${created} / ${renamed}` as Outcome;
    },
  },
  'close a customer whose balance is zero (`POST /customers/close`)': {
    kind: 'staff',
    unknown: '404 customer_not_found',
    probe: async (world, acting) => post('customers/close', { customer_id: (await customerOf(world)).id }, acting),
  },
  "erase a closed customer's name, phone and PIN (`POST /customers/erase`)": {
    kind: 'staff',
    unknown: '404 customer_not_found',
    probe: async (world, acting) => post('customers/erase', { customer_id: (await closedCustomer(world)).id }, acting),
  },
  'charge, deduct (`/transactions/charge`, `/transactions/deduct`)': {
    kind: 'staff',
    unknown: '404 customer_not_found',
    probe: async (world, acting) => {
      const customer = await customerOf(world);
      const charged = await post('transactions/charge', { customer_id: customer.id, amount: 2_000 }, acting, { money: true });
      if (charged === 'allowed') return post('transactions/deduct', { customer_id: customer.id, amount: 1_000 }, acting, { money: true });
      await charge(world.owner, customer.id, 2_000);
      const deducted = await post('transactions/deduct', { customer_id: customer.id, amount: 1_000 }, acting, { money: true });
      return deducted === charged ? charged : `${charged} / ${deducted}` as Outcome;
    },
  },
  'cancel a transaction, or part of a deduct (`/transactions/cancel`)': {
    kind: 'staff',
    unknown: '404 transaction_not_found',
    probe: async (world, acting) => {
      const customer = await customerOf(world);
      const charged = await charge(world.owner, customer.id, 1_000);
      return post('transactions/cancel', { transaction_id: charged.transaction.id }, acting, { money: true });
    },
  },
  'quote and make a refund of the remaining balance (`/refunds/quote`, `/refunds`)': {
    kind: 'staff',
    unknown: '404 customer_not_found',
    probe: async (world, acting) => {
      const customer = await customerOf(world);
      await charge(world.owner, customer.id, 3_000);
      const quoted = await post('refunds/quote', { customer_id: customer.id }, acting);
      const refunded = await post('refunds', { customer_id: customer.id, method: 'cash' }, acting, { money: true });
      return quoted === refunded ? quoted : `${quoted} / ${refunded}` as Outcome;
    },
  },
  'create or end a charge promotion (`/promotions`, `/promotions/end`)': {
    kind: 'staff',
    unknown: '404 shop_not_found / 404 promotion_not_found',
    probe: async (world, acting) => {
      const created = await post('promotions', { shop_id: world.shop.id, min_charge: 10_000, bonus_percent: 10 }, acting);
      const owned = await callFunction('promotions', asStaff(world.owner), { body: { shop_id: world.shop.id, min_charge: 50_000, bonus_amount: 5_000 } });
      const ended = await post('promotions/end', { promotion_id: owned.body.promotion.id }, acting);
      return created === ended ? created : `${created} / ${ended}` as Outcome;
    },
  },
  "set a customer's PIN (`/pin/set`)": {
    kind: 'staff',
    unknown: '404 customer_not_found',
    probe: async (world, acting) => post('pin/set', { customer_id: (await customerOf(world)).id, pin: '2468' }, acting),
  },
  "verify a customer's PIN (`/pin/verify`)": {
    kind: 'staff',
    unknown: '404 customer_not_found',
    probe: async (world, acting) => post('pin/verify', { customer_id: (await customerOf(world, { pin: '1357' })).id, pin: '1357' }, acting),
  },
  'unlock a locked PIN (`/pin/unlock`)': {
    kind: 'staff',
    unknown: '404 customer_not_found',
    probe: async (world, acting) => {
      const customer = await customerOf(world, { pin: '1357' });
      await db().query(`update private.customer_pins set failed_attempts = 5, locked_until = now() + interval '15 minutes' where customer_id = $1`, [customer.id]);
      return post('pin/unlock', { customer_id: customer.id }, acting);
    },
  },
  'register or deactivate a kiosk (`/shop-kiosks`, `/shop-kiosks/deactivate`)': {
    kind: 'staff',
    unknown: '404 shop_not_found / 404 kiosk_not_found',
    probe: async (world, acting) => {
      const registered = await post('shop-kiosks', { shop_id: world.shop.id, name: '새 키오스크' }, acting);
      const { kiosk } = await registerKiosk(world.owner, world.shop.id);
      const deactivated = await post('shop-kiosks/deactivate', { kiosk_id: kiosk.id }, acting);
      return registered === deactivated ? registered : `${registered} / ${deactivated}` as Outcome;
    },
  },
  'pay with phone and PIN, see the balance (`/kiosk/pay`, `/kiosk/balance`)': {
    kind: 'kiosk',
    probe: async (world, acting) => {
      const customer = await customerOf(world, { pin: '1357' });
      await charge(world.owner, customer.id, 5_000);
      const paid = await post('kiosk/pay', { phone: customer.phone, pin: '1357', amount: 1_000 }, acting, { money: true });
      const balance = await post('kiosk/balance', { phone: customer.phone, pin: '1357' }, acting);
      return paid === balance ? paid : `${paid} / ${balance}` as Outcome;
    },
  },
};

/** The refusal each caller gets from a route of this kind when its cell is empty. */
function refusal(kind: 'rest' | 'staff' | 'kiosk', column: Column, unknown: Outcome | undefined): Outcome {
  if (kind === 'rest') return column === 'kiosk' || column === 'anon' ? '401 no rows' : 'no rows';
  if (kind === 'kiosk') return '401 invalid_kiosk_key';
  if (column === 'kiosk' || column === 'anon') return '401 not_authenticated';
  if (column === "another shop's member") {
    if (!unknown) throw new Error('a staff row needs the outcome of an unknown id (unknown)');
    return unknown;
  }
  return '403 insufficient_role';
}

interface TableRow {
  action: string;
  allowed: Record<Column, boolean>;
}

function readmeTable(): TableRow[] {
  const readme = readFileSync(path.join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.split('\n## Who may do what\n')[1]?.split('\n## ')[0] ?? '';
  const lines = section.split('\n').filter((line) => line.startsWith('|'));
  const cells = (line: string) => line.slice(1, -1).split('|').map((cell) => cell.trim());
  const header = cells(lines[0] ?? '|');
  expect(header.slice(1)).toEqual([...COLUMNS]);
  return lines.slice(2).map((line) => {
    const [action, ...marks] = cells(line);
    return { action, allowed: Object.fromEntries(COLUMNS.map((column, i) => [column, marks[i] === '✓'])) as Record<Column, boolean> };
  });
}

const table = readmeTable();

describe("README's \"Who may do what\", row by row", () => {
  it('has a probe for every row and a row for every probe', () => {
    expect(table.map((row) => row.action).sort()).toEqual(Object.keys(PROBES).sort());
  });

  it.each(table.map((row) => [row.action, row] as const))('%s', async (_action, row) => {
    const [shop, other] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    const world: World = { ...shop, deviceKey: (await registerKiosk(shop.owner, shop.shop.id)).device_key };
    const acting: Record<Column, Acting> = {
      owner: { column: 'owner', caller: asStaff(world.owner), user: world.owner },
      manager: { column: 'manager', caller: asStaff(world.manager), user: world.manager },
      staff: { column: 'staff', caller: asStaff(world.staff), user: world.staff },
      "another shop's member": { column: "another shop's member", caller: asStaff(other.owner), user: other.owner },
      kiosk: { column: 'kiosk', caller: asKiosk(world.deviceKey), user: null },
      anon: { column: 'anon', caller: { token: anonKey() }, user: null },
    };
    const { kind, probe, unknown } = PROBES[row.action];
    const observed: Partial<Record<Column, Outcome>> = {};
    const expected: Partial<Record<Column, Outcome>> = {};
    for (const column of COLUMNS) {
      observed[column] = await probe(world, acting[column]);
      expected[column] = row.allowed[column] ? 'allowed' : refusal(kind, column, unknown);
    }
    expect(observed).toEqual(expected);
  });
});

