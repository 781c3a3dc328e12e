/**
 * What each API role can reach through PostgREST: a member reads their own shop and nothing else,
 * anon reads nothing, no role reads a PIN or kiosk key hash, nobody writes balances or the ledger
 * through REST, and only service_role may execute the RPC functions.
 */
import type { SupabaseClient } from '@supabase/supabase-js';
import { describe, expect, it } from 'vitest';
import { addMember, anonClient, createShop, createShopWithStaff, createUser, db, serviceClient, untyped, type ShopWithStaff, type TestUser } from '../support/index.ts';
import { createCustomer, idempotencyKey, rpcOk, type Customer, type MoneyResult } from './support.ts';

interface ShopWithLedger {
  shop: ShopWithStaff;
  customers: Customer[];
  kioskId: string;
}

/** A shop with two customers (30,000 charged, 12,000 of it spent, one charge cancelled) and a kiosk. */
async function shopWithLedger(): Promise<ShopWithLedger> {
  const shop = await createShopWithStaff();
  const first = await createCustomer(shop.owner.id, shop.shop.id, { pin: '1234', balance: 30_000 });
  const second = await createCustomer(shop.owner.id, shop.shop.id, { pin: '5678' });
  await rpcOk('deduct_balance', { p_actor_user_id: shop.staff.id, p_customer_id: first.id, p_amount: 12_000, p_idempotency_key: idempotencyKey() });
  const mistaken = await rpcOk<MoneyResult>('charge_balance', { p_actor_user_id: shop.staff.id, p_customer_id: second.id, p_amount: 5_000, p_idempotency_key: idempotencyKey() });
  await rpcOk('cancel_transaction', { p_actor_user_id: shop.owner.id, p_transaction_id: mistaken.transaction.id, p_idempotency_key: idempotencyKey() });
  const { kiosk } = await rpcOk<{ kiosk: { id: string } }>('register_kiosk', { p_actor_user_id: shop.owner.id, p_shop_id: shop.shop.id, p_name: '입구' });
  return { shop, customers: [first, second], kioskId: kiosk.id };
}

/** Two such shops: what one member reads is only proved scoped while the other shop's rows exist. */
async function twoShops(): Promise<{ a: ShopWithLedger; b: ShopWithLedger }> {
  const [a, b] = await Promise.all([shopWithLedger(), shopWithLedger()]);
  return { a, b };
}

/** The owner of a new shop that has nothing else: a signed-in member and no more. */
async function ownerOfEmptyShop(): Promise<TestUser> {
  const [shop, owner] = await Promise.all([createShop(), createUser()]);
  await addMember(shop.id, owner.id, 'owner');
  return owner;
}

async function rows(client: SupabaseClient, table: string, column = 'shop_id'): Promise<string[]> {
  const { data, error } = await client.from(table).select(column);
  expect(error).toBeNull();
  return (data as unknown as Record<string, string>[]).map((row) => row[column]!);
}

const TABLES = ['shops', 'shop_members', 'customers', 'kiosks', 'transactions', 'promotions', 'shop_daily_summaries', 'shop_outstanding_balances'];

describe('a shop member', () => {
  it('reads exactly their own shop, its members, customers, kiosks and ledger', async () => {
    const { a } = await twoShops();
    const client = a.shop.staff.client;
    expect(await rows(client, 'shops', 'id')).toEqual([a.shop.shop.id]);
    expect((await rows(client, 'shop_members', 'user_id')).sort()).toEqual([a.shop.owner.id, a.shop.manager.id, a.shop.staff.id].sort());
    expect((await rows(client, 'customers', 'id')).sort()).toEqual(a.customers.map((c) => c.id).sort());
    expect(await rows(client, 'kiosks', 'id')).toEqual([a.kioskId]);
    const ledger = await rows(client, 'transactions');
    expect(ledger).toHaveLength(4);
    expect(new Set(ledger)).toEqual(new Set([a.shop.shop.id]));
  });

  it('sees the other shop\'s rows as absent, even when naming them', async () => {
    const { a, b } = await twoShops();
    const client = a.shop.owner.client;
    const { data, error } = await client.from('customers').select('id').eq('id', b.customers[0]!.id);
    expect(error).toBeNull();
    expect(data).toEqual([]);
    const { data: ledger } = await client.from('transactions').select('id').eq('shop_id', b.shop.shop.id);
    expect(ledger).toEqual([]);
  });

  it('reads their shop\'s daily summary and outstanding balance with exact figures, and only theirs', async () => {
    const { a } = await twoShops();
    const client = a.shop.manager.client;
    const { data: summaries, error } = await client.from('shop_daily_summaries').select('*');
    expect(error).toBeNull();
    expect(summaries).toHaveLength(1);
    expect(summaries![0]).toMatchObject({
      shop_id: a.shop.shop.id,
      charged: 35_000,
      deducted: 12_000,
      reversed: 5_000,
      transaction_count: 4,
      outstanding_balance: 18_000,
    });
    const { data: outstanding } = await client.from('shop_outstanding_balances').select('*');
    expect(outstanding).toEqual([{ shop_id: a.shop.shop.id, customer_count: 2, outstanding_balance: 18_000, outstanding_paid_balance: 18_000, outstanding_bonus_balance: 0 }]);
  });

  it('a signed-in user of no shop reads nothing at all, in tables where a shop has rows', async () => {
    const [{ shop }, outsider] = await Promise.all([shopWithLedger(), createUser()]);
    await rpcOk('create_promotion', { p_actor_user_id: shop.owner.id, p_shop_id: shop.shop.id, p_min_charge: 50_000, p_bonus_amount: 5_000 });
    for (const table of TABLES) {
      const column = table === 'shops' ? 'id' : 'shop_id';
      expect(await rows(shop.owner.client, table, column), table).not.toEqual([]);
      expect(await rows(outsider.client, table, column), table).toEqual([]);
    }
  });
});

describe('anon', () => {
  it.each(TABLES)('is refused %s outright (permission denied)', async (table) => {
    const { data, error } = await untyped(anonClient()).from(table).select('*');
    expect(data).toBeNull();
    expect(error?.code).toBe('42501');
  });
});

describe('secrets', () => {
  it('no API role holds any privilege on the PIN and kiosk key tables', async () => {
    const { rows: privileges } = await db().query(`
      select r.role, t.tbl,
             has_table_privilege(r.role, t.tbl, 'select, insert, update, delete') as any_privilege
      from unnest(array['anon', 'authenticated', 'service_role']) as r(role)
      cross join unnest(array['private.customer_pins', 'private.kiosk_credentials']) as t(tbl)
      where has_table_privilege(r.role, t.tbl, 'select, insert, update, delete')`);
    expect(privileges).toEqual([]);
  });

  it.each(['anon', 'authenticated', 'service_role'])('%s cannot select a PIN hash or a kiosk key hash even over SQL', async (role) => {
    const client = await db().connect();
    try {
      for (const table of ['private.customer_pins', 'private.kiosk_credentials']) {
        await client.query('begin');
        await client.query(`set local role ${role}`);
        await expect(client.query(`select * from ${table}`)).rejects.toMatchObject({ code: '42501' });
        await client.query('rollback');
      }
    } finally {
      client.release();
    }
  });

  it('the private schema is not reachable through the Data API', async () => {
    const { error } = await untyped(serviceClient()).schema('private').from('customer_pins').select('*');
    expect(error?.code).toBe('PGRST106');
  });
});

describe('writes through REST', () => {
  it('a member can neither insert customers nor change a balance nor touch the ledger', async () => {
    const { shop, customers } = await shopWithLedger();
    const client = shop.owner.client;
    const customer = customers[0]!;
    const inserted = await client.from('customers').insert({ shop_id: shop.shop.id, name: '침입', phone: '010-0000-0000' });
    expect(inserted.error?.code).toBe('42501');
    const updated = await client.from('customers').update({ current_balance: 9_999_999 }).eq('id', customer.id);
    expect(updated.error?.code).toBe('42501');
    const ledgerInsert = await client.from('transactions').insert({ shop_id: shop.shop.id, customer_id: customer.id, type: 'charge', amount: 1, balance_after: 1, sequence: 1, idempotency_key: 'x', actor_user_id: shop.owner.id });
    expect(ledgerInsert.error?.code).toBe('42501');
    const deleted = await client.from('transactions').delete().eq('customer_id', customer.id);
    expect(deleted.error?.code).toBe('42501');
  });

  it('even service_role cannot write a balance or the ledger', async () => {
    const { shop, customers } = await shopWithLedger();
    const client = serviceClient();
    const customer = customers[0]!;
    const balance = await client.from('customers').update({ current_balance: 1 }).eq('id', customer.id);
    expect(balance.error?.code).toBe('42501');
    const created = await client.from('customers').insert({ shop_id: shop.shop.id, name: '잔액 주입', phone: '010-0000-0001', current_balance: 500 });
    expect(created.error?.code).toBe('42501');
    const ledger = await client.from('transactions').update({ amount: 1 }).eq('customer_id', customer.id);
    expect(ledger.error?.code).toBe('42501');
    const erased = await client.from('transactions').delete().eq('customer_id', customer.id);
    expect(erased.error?.code).toBe('42501');
    const { data } = await client.from('customers').select('current_balance').eq('id', customer.id).single();
    expect(data).toEqual({ current_balance: 18_000 });
  });

  // The ledger has no trigger (Citus distributes no table with one): its immutability is privileges.
  // The money functions are security definer, owned by the table's owner, and write only inserts.
  it('no role but the ledger\'s owner may insert, update, delete or truncate it, over SQL too', async () => {
    const { shop, customers } = await shopWithLedger();
    const client = await db().connect();
    try {
      for (const role of ['service_role', 'authenticated', 'anon']) {
        for (const sql of [
          `insert into public.transactions (shop_id, customer_id, type, amount, balance_after, idempotency_key, actor_user_id, sequence)
             values ('${shop.shop.id}', '${customers[0]!.id}', 'charge', 1, 1, 'forged', '${shop.owner.id}', 999)`,
          `update public.transactions set amount = amount + 1 where shop_id = '${shop.shop.id}'`,
          `delete from public.transactions where shop_id = '${shop.shop.id}'`,
          'truncate public.transactions',
        ]) {
          await client.query('begin');
          await client.query(`set local role ${role}`);
          await expect(client.query(sql), `${role}: ${sql.slice(0, 20)}`).rejects.toMatchObject({ code: '42501' });
          await client.query('rollback');
        }
      }
      const { rows } = await client.query(`
        select r.rolname from pg_roles r
        where not r.rolsuper and r.rolname not like 'pg\\_%' and r.oid <> (select relowner from pg_class where oid = 'public.transactions'::regclass)
          and (has_table_privilege(r.oid, 'public.transactions', 'insert') or has_table_privilege(r.oid, 'public.transactions', 'update')
               or has_table_privilege(r.oid, 'public.transactions', 'delete') or has_table_privilege(r.oid, 'public.transactions', 'truncate'))`);
      expect(rows).toEqual([]);
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});

describe('the RPC functions', () => {
  const FUNCTIONS: Record<string, Record<string, unknown>> = {
    create_customer: { p_actor_user_id: null, p_shop_id: null, p_name: 'x', p_phone: '010-1111-2222' },
    update_customer: { p_actor_user_id: null, p_customer_id: null },
    charge_balance: { p_actor_user_id: null, p_customer_id: null, p_amount: 1, p_idempotency_key: 'k' },
    deduct_balance: { p_actor_user_id: null, p_customer_id: null, p_amount: 1, p_idempotency_key: 'k' },
    cancel_transaction: { p_actor_user_id: null, p_transaction_id: null, p_idempotency_key: 'k' },
    set_pin: { p_actor_user_id: null, p_customer_id: null, p_pin: '1234' },
    verify_pin_atomic: { p_customer_id: null, p_pin: '1234' },
    unlock_pin: { p_actor_user_id: null, p_customer_id: null },
    kiosk_pay: { p_kiosk_key: 'k', p_phone: '010-1111-2222', p_pin: '1234', p_amount: 1, p_idempotency_key: 'k' },
    kiosk_balance: { p_kiosk_key: 'k', p_phone: '010-1111-2222', p_pin: '1234' },
    register_kiosk: { p_actor_user_id: null, p_shop_id: null, p_name: 'x' },
    deactivate_kiosk: { p_actor_user_id: null, p_kiosk_id: null },
    create_shop: { p_actor_user_id: null, p_name: 'x' },
    update_shop: { p_actor_user_id: null, p_shop_id: null, p_name: 'x' },
    list_shop_members: { p_actor_user_id: null, p_shop_id: null },
    add_shop_member: { p_actor_user_id: null, p_shop_id: null, p_email: 'a@b.kr', p_role: 'staff' },
    update_shop_member: { p_actor_user_id: null, p_shop_id: null, p_user_id: null, p_role: 'staff' },
    remove_shop_member: { p_actor_user_id: null, p_shop_id: null, p_user_id: null },
    close_customer: { p_actor_user_id: null, p_customer_id: null },
    erase_customer: { p_actor_user_id: null, p_customer_id: null },
    reconcile_balances: {},
    create_promotion: { p_actor_user_id: null, p_shop_id: null, p_min_charge: 1, p_bonus_amount: 1 },
    end_promotion: { p_actor_user_id: null, p_promotion_id: null },
    quote_refund: { p_actor_user_id: null, p_customer_id: null },
    refund_balance: { p_actor_user_id: null, p_customer_id: null, p_method: 'cash', p_idempotency_key: 'k' },
  };

  it.each(Object.keys(FUNCTIONS))('%s is refused to anon and to a signed-in member (permission denied)', async (fn) => {
    const member = await ownerOfEmptyShop();
    for (const client of [anonClient(), member.client]) {
      const { data, error } = await untyped(client).rpc(fn, FUNCTIONS[fn]);
      expect(data).toBeNull();
      expect(error?.code).toBe('42501');
    }
  });

  // customer_statement is the one read a member calls as themselves: security invoker, so RLS decides.
  it('service_role is the only API role that may execute any function in public but the statement', async () => {
    const { rows: executable } = await db().query(`
      select p.proname, r.role
      from pg_proc p
      join pg_namespace n on n.oid = p.pronamespace
      cross join unnest(array['anon', 'authenticated', 'service_role']) as r(role)
      where n.nspname = 'public' and has_function_privilege(r.role, p.oid, 'execute')
      order by 1, 2`);
    expect(executable.map((row) => `${row.proname}:${row.role}`)).toEqual(
      [...Object.keys(FUNCTIONS).map((fn) => `${fn}:service_role`), 'customer_statement:authenticated', 'customer_statement:service_role'].sort(),
    );
  });

  it('every security definer function pins an empty search_path', async () => {
    const { rows: loose } = await db().query(`
      select n.nspname || '.' || p.proname as fn
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('public', 'private')
        and not coalesce('search_path=""' = any (p.proconfig), false)`);
    expect(loose).toEqual([]);
  });
});
