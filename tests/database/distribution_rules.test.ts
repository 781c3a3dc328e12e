/**
 * The schema follows Citus's rules for a multi-tenant table distributed by shop (issue 16), read from
 * the catalog: every primary key, unique constraint, unique index and foreign key of a product table
 * names the shop (shops, the distribution root, its id), and a foreign key maps shop to shop; no key
 * leaves the product's tables; no policy holds a subquery; no product table has a trigger; every row
 * lock a function takes on a product table names the shop. Each check is also run on scratch objects
 * that break its rule, made in a transaction that is rolled back, to prove it can fail.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db } from '../support/index.ts';

/** The product's tables: all of public's and private's, which the first test below holds to. */
const PRODUCT_TABLES = [
  'public.shops', 'public.shop_members', 'public.customers', 'public.kiosks', 'public.promotions',
  'public.transactions', 'private.customer_pins', 'private.kiosk_credentials',
];
/** Where the functions that move money, PINs and customers live. */
const FUNCTION_SCHEMAS = ['public', 'private'];

/** The distribution column of a table: shops is distributed by its id, every other table by shop_id. */
const DISTRIBUTION_COLUMN = `case when t.oid = 'public.shops'::regclass then 'id' else 'shop_id' end`;

type Check = (client: pg.PoolClient, tables: string[]) => Promise<string[]>;

/** Primary keys, unique constraints and unique indexes without the table's distribution column. */
const keysWithoutShop: Check = async (client, tables) => {
  const { rows } = await client.query<{ what: string }>(`
    select i.indexrelid::regclass::text as what
    from pg_index i join pg_class t on t.oid = i.indrelid
    where t.oid = any ($1::regclass[]) and i.indisunique
      and not exists (
        select 1 from pg_attribute a
        where a.attrelid = t.oid and a.attnum = any (i.indkey) and a.attname = ${DISTRIBUTION_COLUMN})
    order by 1`, [tables]);
  return rows.map((row) => row.what);
};

/** Foreign keys that leave the product's tables, or do not map the distribution column to the referenced one. */
const foreignKeysOffShop: Check = async (client, tables) => {
  const { rows } = await client.query<{ what: string }>(`
    select c.conrelid::regclass::text || '.' || c.conname as what
    from pg_constraint c join pg_class t on t.oid = c.conrelid join pg_class r on r.oid = c.confrelid
    where c.contype = 'f' and t.oid = any ($1::regclass[])
      and (not r.oid = any ($1::regclass[])
           or not exists (
             select 1 from unnest(c.conkey, c.confkey) k(col, ref)
             where (select attname from pg_attribute where attrelid = t.oid and attnum = k.col) = ${DISTRIBUTION_COLUMN}
               and (select attname from pg_attribute where attrelid = r.oid and attnum = k.ref)
                   = case when r.oid = 'public.shops'::regclass then 'id' else 'shop_id' end))
    order by 1`, [tables]);
  return rows.map((row) => row.what);
};

/** Policies whose expression holds a subquery (a SubLink in the stored node tree). */
const policiesWithSubquery: Check = async (client, tables) => {
  const { rows } = await client.query<{ what: string }>(`
    select p.polrelid::regclass::text || ': ' || p.polname as what
    from pg_policy p
    where p.polrelid = any ($1::regclass[])
      and (coalesce(p.polqual::text, '') like '%{SUBLINK%' or coalesce(p.polwithcheck::text, '') like '%{SUBLINK%')
    order by 1`, [tables]);
  return rows.map((row) => row.what);
};

/** Triggers on product tables other than the internal ones that enforce foreign keys. */
const triggersOnProductTables: Check = async (client, tables) => {
  const { rows } = await client.query<{ what: string }>(`
    select t.tgrelid::regclass::text || ': ' || t.tgname as what
    from pg_trigger t
    where t.tgrelid = any ($1::regclass[]) and not t.tgisinternal
    order by 1`, [tables]);
  return rows.map((row) => row.what);
};

const LOCKING_CLAUSE = /\bfor\s+(update|no\s+key\s+update|share|key\s+share)\b/i;

/**
 * Row locks on product tables that do not name the shop: each statement of each function's source
 * (comments removed, split at semicolons) that takes a row lock and reads a product table must say
 * `shop_id =` (on shops, the root, `id =`) after its `where`.
 */
async function locksWithoutShop(client: pg.PoolClient, tables: string[], schemas: string[]): Promise<string[]> {
  const { rows } = await client.query<{ fn: string; src: string }>(`
    select p.oid::regprocedure::text as fn, p.prosrc as src
    from pg_proc p where p.pronamespace = any ($1::regnamespace[]) and p.prolang in (
      select oid from pg_language where lanname in ('plpgsql', 'sql'))`, [schemas]);
  const shortName = (qualified: string) => qualified.split('.').pop()!;
  const names = tables.map(shortName);
  const found: string[] = [];
  for (const { fn, src } of rows) {
    const statements = src.replace(/--[^\n]*/g, '').split(';');
    for (const statement of statements) {
      if (!LOCKING_CLAUSE.test(statement)) continue;
      const read = [...statement.matchAll(/\b(?:from|join)\s+(\w+\.\w+|\w+)/gi)].map((m) => m[1]!);
      // auth.users and other tables outside the product are not distributed: locks on them are free.
      const product = read.filter((table) => (table.includes('.') ? tables.includes(table) || (/^(public|private)\./.test(table) && names.includes(shortName(table))) : names.includes(table)));
      if (product.length === 0) continue;
      const where = statement.slice(statement.search(/\bwhere\b/i));
      const onlyShops = product.every((table) => shortName(table) === 'shops');
      const named = onlyShops ? /\bid\s*=/.test(where) : /\bshop_id\s*=/.test(where);
      if (!named) found.push(`${fn}: ${statement.replace(/\s+/g, ' ').trim().slice(0, 120)}`);
    }
  }
  return found.sort();
}

let client: pg.PoolClient;
beforeAll(async () => {
  client = await db().connect();
});
afterAll(() => client.release());

describe('the schema distributes by shop', () => {
  it('the product tables are every table of public and private', async () => {
    const { rows } = await client.query<{ name: string }>(`
      select c.oid::regclass::text as name from pg_class c
      where c.relnamespace in ('public'::regnamespace, 'private'::regnamespace) and c.relkind in ('r', 'p') order by 1`);
    expect(rows.map((row) => row.name.includes('.') ? row.name : `public.${row.name}`).sort()).toEqual([...PRODUCT_TABLES].sort());
  });

  it('every primary key, unique constraint and unique index names the shop', async () => {
    expect(await keysWithoutShop(client, PRODUCT_TABLES)).toEqual([]);
  });

  it('every foreign key stays within the product tables and maps shop to shop', async () => {
    expect(await foreignKeysOffShop(client, PRODUCT_TABLES)).toEqual([]);
  });

  it('no policy of a product table holds a subquery', async () => {
    expect(await policiesWithSubquery(client, PRODUCT_TABLES)).toEqual([]);
  });

  it('no product table has a trigger', async () => {
    expect(await triggersOnProductTables(client, PRODUCT_TABLES)).toEqual([]);
  });

  it('every row lock a function takes on a product table names the shop', async () => {
    expect(await locksWithoutShop(client, PRODUCT_TABLES, FUNCTION_SCHEMAS)).toEqual([]);
  });

  it('every staff function that names a customer or a transaction takes the shop as p_shop_id', async () => {
    const { rows } = await client.query<{ name: string }>(`
      select p.proname as name from pg_proc p
      where p.pronamespace = 'public'::regnamespace
        and ('p_customer_id' = any (p.proargnames) or 'p_transaction_id' = any (p.proargnames))
        and not 'p_shop_id' = any (p.proargnames)
      order by 1`);
    expect(rows).toEqual([]);
  });
});

describe('each check flags what breaks its rule (scratch objects, rolled back)', () => {
  const SCRATCH = ['x_distribution_scratch.parent', 'x_distribution_scratch.child'];
  let flagged: Record<string, string[]>;

  beforeAll(async () => {
    await client.query('begin');
    try {
      await client.query(`
        create schema x_distribution_scratch;
        create table x_distribution_scratch.parent (id uuid primary key, shop_id uuid not null);
        create table x_distribution_scratch.child (
          shop_id uuid not null references public.shops (id),
          id uuid not null,
          parent_id uuid references x_distribution_scratch.parent (id),
          user_id uuid references auth.users (id),
          primary key (shop_id, id)
        );
        create unique index child_id_unique on x_distribution_scratch.child (id);
        alter table x_distribution_scratch.child enable row level security;
        create policy child_read on x_distribution_scratch.child
          using (shop_id = any ((select private.member_shop_ids())::uuid[]));
        create function x_distribution_scratch.touch() returns trigger language plpgsql as $$ begin return new; end $$;
        create trigger child_touch before insert on x_distribution_scratch.child
          for each row execute function x_distribution_scratch.touch();
        create function x_distribution_scratch.lock_by_id(p_id uuid) returns void language plpgsql as $$
        begin
          perform 1 from public.customers c where c.id = p_id for update;
        end $$;
        create function x_distribution_scratch.lock_by_shop(p_shop_id uuid, p_id uuid) returns void language plpgsql as $$
        begin
          perform 1 from public.customers c where c.shop_id = p_shop_id and c.id = p_id for update;
        end $$;
      `);
      const tables = [...PRODUCT_TABLES, ...SCRATCH];
      flagged = {
        keys: await keysWithoutShop(client, tables),
        foreignKeys: await foreignKeysOffShop(client, tables),
        policies: await policiesWithSubquery(client, tables),
        triggers: await triggersOnProductTables(client, tables),
        locks: await locksWithoutShop(client, tables, ['x_distribution_scratch']),
      };
    } finally {
      await client.query('rollback');
    }
  });

  it('a key without the shop', () => {
    expect(flagged.keys.map((name) => name.replace(/^x_distribution_scratch\./, ''))).toEqual(['child_id_unique', 'parent_pkey']);
  });

  it('a foreign key by id alone, and one out of the product tables', () => {
    expect(flagged.foreignKeys.map((name) => name.replace(/^x_distribution_scratch\./, ''))).toEqual([
      'child.child_parent_id_fkey', 'child.child_user_id_fkey',
    ]);
  });

  it('a policy with a subquery', () => {
    expect(flagged.policies.map((name) => name.replace(/^x_distribution_scratch\./, ''))).toEqual(['child: child_read']);
  });

  it('a trigger', () => {
    expect(flagged.triggers.map((name) => name.replace(/^x_distribution_scratch\./, ''))).toEqual(['child: child_touch']);
  });

  it('a row lock by id alone, and not one by shop and id', () => {
    expect(flagged.locks).toHaveLength(1);
    expect(flagged.locks[0]).toMatch(/lock_by_id\(uuid\): .*perform 1 from public\.customers c where c\.id = p_id for update/);
  });
});
