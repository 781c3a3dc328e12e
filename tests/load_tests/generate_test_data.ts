/**
 * Generates a load-test dataset straight into PostgreSQL: shops with owner/manager/staff logins,
 * active kiosks with known device keys, customers with Korean names, unique 010 phones and PINs,
 * and a ledger that is real (balances equal the ledger, no balance ever below zero, reversals
 * linked to their originals), all set-based on the server.
 *
 *   npm run generate -- --customers 1000 --transactions 100000 [--shops 4] [--seed 1] [--out .stack/dataset.json]
 *
 * It writes as the `postgres` superuser over DB_URL (default: the local stack). Generating the same
 * seed again replaces that seed's previous dataset and nothing else.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { DatasetManifest, DatasetShop } from './dataset_manifest.ts';
import { DEFAULT_MANIFEST_PATH, GENERATOR_LOCK } from './dataset_manifest.ts';
import { signedSql } from '../support/movements.ts';
import { readCommandLine } from './command_line.ts';
import { LEDGER_COLUMNS, LedgerSql, STAFF_ROLES, type LedgerColumn, type LedgerShape } from './ledger_sql.ts';

/** Below this many ledger rows a DELETE is fast enough, and safe for concurrent readers. */
const TRUNCATE_FROM_ROWS = 1_000_000;

const LOCAL_DB_URL = 'postgresql://postgres:postgres@127.0.0.1:54322/postgres';
/** GoTrue's bcrypt cost, so generated logins behave as real ones. */
const PASSWORD_COST = 10;

interface Options extends LedgerShape {
  out: string;
  sample: number;
  pinCost: number;
  dbUrl: string;
}

function readOptions(argv: string[]): Options {
  const line = readCommandLine(argv, {
    customers: '1000',
    transactions: '100000',
    shops: '4',
    seed: '1',
    kiosks: '2',
    months: '6',
    until: '2026-11-01',
    sample: '200',
    'pin-cost': '4',
    out: DEFAULT_MANIFEST_PATH,
  });
  const options: Options = {
    customers: line.integer('customers', 1, 10_000_000),
    transactions: line.integer('transactions', 0, 1_000_000_000),
    shops: line.integer('shops', 1, 10_000),
    seed: line.integer('seed', 0, 2 ** 40 - 1),
    kiosksPerShop: line.integer('kiosks', 1, 8),
    months: line.integer('months', 1, 120),
    sample: line.integer('sample', 0, 100_000),
    pinCost: line.integer('pin-cost', 4, 12),
    until: line.text('until'),
    out: line.text('out'),
    dbUrl: process.env.DB_URL ?? LOCAL_DB_URL,
  };
  if (!/^\d{4}-\d{2}-\d{2}$/.test(options.until)) throw new Error('--until must be a date, YYYY-MM-DD');
  if (options.shops > options.customers) throw new Error('--shops must not exceed --customers');
  // Phones are 8 free digits per shop.
  if (options.customers / options.shops > 100_000_000) throw new Error('at most 10^8 customers per shop');
  return options;
}

/** Derived from the seed so a rerun gives the same logins and keys, and the manifest stays valid. */
function secret(seed: number, label: string): string {
  return createHash('sha256').update(`comings-load-secret:${seed}:${label}`).digest('base64url').slice(0, 24);
}

interface Member {
  shopIndex: number;
  role: (typeof STAFF_ROLES)[number];
  id: string;
  email: string;
  password: string;
}

interface Kiosk {
  shopIndex: number;
  id: string;
  name: string;
  deviceKey: string;
  keyHash: string;
}

function people(sql: LedgerSql, o: Options): { members: Member[]; kiosks: Kiosk[] } {
  const members: Member[] = [];
  const kiosks: Kiosk[] = [];
  for (let shop = 0; shop < o.shops; shop++) {
    STAFF_ROLES.forEach((role, r) => {
      members.push({
        shopIndex: shop,
        role,
        id: sql.idLiteral('user', shop * 8 + r),
        email: `${role}.${shop + 1}@seed${o.seed}.load.comings.test`,
        password: secret(o.seed, `${role}:${shop}`),
      });
    });
    for (let k = 0; k < o.kiosksPerShop; k++) {
      const deviceKey = `ck_${secret(o.seed, `kiosk:${shop}:${k}`)}${secret(o.seed, `kiosk2:${shop}:${k}`)}`;
      kiosks.push({
        shopIndex: shop,
        id: sql.idLiteral('kiosk', shop * 8 + k),
        name: `키오스크 ${k + 1}`,
        deviceKey,
        keyHash: createHash('sha256').update(deviceKey).digest('hex'),
      });
    }
  }
  return { members, kiosks };
}

class Clock {
  private readonly started = performance.now();
  private last = this.started;

  lap(label: string, rows?: number): number {
    const now = performance.now();
    const seconds = (now - this.last) / 1000;
    this.last = now;
    const rate = rows === undefined ? '' : `  ${rows.toLocaleString('en')} rows, ${Math.round(rows / seconds).toLocaleString('en')} rows/s`;
    console.log(`  ${label.padEnd(34)} ${seconds.toFixed(2).padStart(7)} s${rate}`);
    return seconds;
  }

  total(): number {
    return (performance.now() - this.started) / 1000;
  }
}

/**
 * Removes a previous dataset of this seed: its shops and users by id range, every row that
 * references them (found from the catalog's foreign keys, so tables added later are covered),
 * then the ledger, customers, kiosks and the shops and users themselves.
 */
async function removePreviousRun(db: pg.Client, sql: LedgerSql): Promise<{ shops: number; ledgerRows: number }> {
  const [shopLo, shopHi] = sql.idRange('shop');
  const [userLo, userHi] = sql.idRange('user');
  await db.query(`create temp table gen_old_shops on commit drop as select id from public.shops where id between $1 and $2`, [shopLo, shopHi]);
  await db.query(`create temp table gen_old_users on commit drop as select id from auth.users where id between $1 and $2`, [userLo, userHi]);
  const ofShops = (table: string) => `select id from ${table} where shop_id in (select id from gen_old_shops)`;
  const owned: Record<string, string> = {
    'public.shops': 'select id from gen_old_shops',
    'auth.users': 'select id from gen_old_users',
    'public.customers': ofShops('public.customers'),
    'public.kiosks': ofShops('public.kiosks'),
    'public.transactions': ofShops('public.transactions'),
    'public.promotions': ofShops('public.promotions'),
  };
  const edges = await db.query<{ tbl: string; col: string; ref: string }>(`
    select format('%I.%I', n.nspname, t.relname) as tbl, a.attname as col,
           format('%I.%I', rn.nspname, rt.relname) as ref
    from pg_constraint c
    join pg_class t on t.oid = c.conrelid join pg_namespace n on n.oid = t.relnamespace
    join pg_class rt on rt.oid = c.confrelid join pg_namespace rn on rn.oid = rt.relnamespace
    cross join lateral unnest(c.conkey, c.confkey) as k(col, refcol)
    join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.col
    join pg_attribute r on r.attrelid = c.confrelid and r.attnum = k.refcol
    where c.contype = 'f' and r.attname = 'id'
      and format('%I.%I', rn.nspname, rt.relname) = any($1)`, [Object.keys(owned)]);
  // The owned tables themselves are cleared by shop below; everything else that points at them first.
  for (const edge of edges.rows) {
    if (edge.tbl in owned) continue;
    await db.query(`delete from ${edge.tbl} where ${pg.escapeIdentifier(edge.col)} in (${owned[edge.ref]})`);
  }
  const foreign = await db.query<{ other: boolean; ours: boolean }>(`
    select exists (select 1 from public.transactions where shop_id not in (select id from gen_old_shops)) as other,
           exists (select 1 from public.transactions where shop_id in (select id from gen_old_shops)) as ours`);
  let ledgerRows = 0;
  if (foreign.rows[0]!.ours) {
    let truncated = false;
    const { rows: [estimate] } = await db.query<{ n: string }>(
      `select greatest(reltuples, 0)::bigint as n from pg_class where oid = 'public.transactions'::regclass`,
    );
    // TRUNCATE is instant where DELETE of millions is not, but it is not MVCC-safe: a reader whose
    // snapshot is older sees the ledger empty. So only for a large ledger, and only after taking the
    // table's lock and then finding no other shop's row, so that no row committed meanwhile is lost.
    if (Number(estimate!.n) >= TRUNCATE_FROM_ROWS && !foreign.rows[0]!.other) {
      await db.query('savepoint gen_truncate');
      try {
        await db.query('lock table public.transactions in access exclusive mode');
        const { rows: [since] } = await db.query<{ other: boolean }>(
          `select exists (select 1 from public.transactions where shop_id not in (select id from gen_old_shops)) as other`,
        );
        if (since!.other) throw new Error('another shop wrote to the ledger meanwhile');
        await db.query('truncate public.transactions');
        ledgerRows = Number(estimate!.n);
        truncated = true;
      } catch {
        await db.query('rollback to savepoint gen_truncate');
      }
    }
    if (!truncated) {
      const deleted = await db.query(`delete from public.transactions where shop_id in (select id from gen_old_shops)`);
      ledgerRows = deleted.rowCount ?? 0;
    }
  }
  await db.query(`delete from public.promotions where shop_id in (select id from gen_old_shops)`);
  await db.query(`delete from public.customers where shop_id in (select id from gen_old_shops)`);
  await db.query(`delete from public.kiosks where shop_id in (select id from gen_old_shops)`);
  const shops = await db.query(`delete from public.shops where id in (select id from gen_old_shops)`);
  await db.query(`delete from auth.users where id in (select id from gen_old_users)`);
  return { shops: shops.rowCount ?? 0, ledgerRows };
}

async function hashSecrets(db: pg.Client, sql: LedgerSql, o: Options, members: Member[]) {
  // bcrypt is the slow part of the whole dataset: hash each distinct PIN once (4 digits: at most
  // 10,000 hashes whatever the number of customers) on a connection of its own, in parallel with the
  // ledger. Customers sharing a PIN share its hash, which a throw-away dataset can afford.
  const passwords = await db.query<{ hash: string }>(
    `select extensions.crypt(p, extensions.gen_salt('bf', ${PASSWORD_COST})) as hash from unnest($1::text[]) with ordinality as u(p, n) order by n`,
    [members.map((m) => m.password)],
  );
  const pins = db.query<{ pin: string; hash: string }>(
    `select pin, extensions.crypt(pin, extensions.gen_salt('bf', ${o.pinCost})) as hash
     from (select distinct ${sql.pin('i')} as pin from generate_series(0::bigint, ${o.customers - 1}::bigint) as i) as p`,
  );
  return { passwordHashes: passwords.rows.map((r) => r.hash), pins };
}

async function generate(o: Options): Promise<void> {
  const sql = new LedgerSql(o);
  const { members, kiosks } = people(sql, o);
  const clock = new Clock();
  const db = new pg.Client({ connectionString: o.dbUrl, application_name: 'generate_test_data' });
  const hasher = new pg.Client({ connectionString: o.dbUrl, application_name: 'generate_test_data:bcrypt' });
  const producer = new pg.Client({ connectionString: o.dbUrl, application_name: 'generate_test_data:ledger' });
  await Promise.all([db.connect(), hasher.connect(), producer.connect()]);
  try {
    const url = new URL(o.dbUrl);
    console.log(`Generating seed ${o.seed}: ${o.shops} shops, ${o.customers} customers, ${o.transactions} transactions into ${url.host}${url.pathname}`);
    const secrets = hashSecrets(hasher, sql, o, members);
    secrets.catch(() => undefined);

    await db.query('begin');
    await db.query('select pg_advisory_xact_lock(hashtext($1))', [GENERATOR_LOCK]);
    await db.query(`set local statement_timeout = 0`);
    await db.query(`set local timezone = 'Asia/Seoul'`);
    await db.query(`set local work_mem = '256MB'`);
    await db.query(`set local synchronous_commit = off`);
    const { rows: [role] } = await db.query<{ rolsuper: boolean }>(`select rolsuper from pg_roles where rolname = current_user`);
    // As superuser, skip per-row foreign-key triggers (the slowest part of a bulk insert) and check the
    // same references set-based before COMMIT instead. Check constraints and unique indexes stay on.
    // The setting is local to this transaction, so it ends with it whatever happens.
    const replica = role!.rolsuper;
    if (replica) await db.query(`set local session_replication_role = replica`);
    const removed = await removePreviousRun(db, sql);
    clock.lap(removed.shops ? `removed previous seed ${o.seed} data` : 'checked for a previous run');

    await db.query(
      `insert into public.shops (id, name, created_at)
       select ${sql.id('shop', 'i')}, '커밍스 부하테스트 ' || (i + 1) || '호점 (seed ${o.seed})',
              timestamptz '${o.until} 00:00:00+09' - interval '${o.months} months' - interval '7 days'
       from generate_series(0, ${o.shops - 1}) as i`,
    );
    const authIdentities = await db.query(`select to_regclass('auth.identities') is not null as present`);
    // The logins go in now (the ledger names them) and get their bcrypt hashes at the end, when the
    // second connection has long computed them: nobody sees them before COMMIT.
    await db.query(
      `insert into auth.users (instance_id, id, aud, role, email, email_confirmed_at,
                               raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
       select '00000000-0000-0000-0000-000000000000', id, 'authenticated', 'authenticated', email, now(),
              '{"provider": "email", "providers": ["email"]}', '{}', now(), now()
       from unnest($1::uuid[], $2::text[]) as u(id, email)`,
      [members.map((m) => m.id), members.map((m) => m.email)],
    );
    if (authIdentities.rows[0].present) {
      // A real Supabase project's GoTrue signs in through the email identity as well.
      await db.query(
        `insert into auth.identities (provider_id, user_id, identity_data, provider, created_at, updated_at)
         select u.id::text, u.id, jsonb_build_object('sub', u.id::text, 'email', u.email), 'email', now(), now()
         from auth.users u where u.id = any($1::uuid[])`,
        [members.map((m) => m.id)],
      );
    }
    await db.query(
      `insert into public.shop_members (shop_id, user_id, role)
       select (array[${Array.from({ length: o.shops }, (_, i) => `'${sql.idLiteral('shop', i)}'`).join(',')}]::uuid[])[s + 1], u, r
       from unnest($1::int[], $2::uuid[], $3::text[]) as m(s, u, r)`,
      [members.map((m) => m.shopIndex), members.map((m) => m.id), members.map((m) => m.role)],
    );
    await db.query(
      `insert into public.kiosks (id, shop_id, name, active)
       select k, (array[${Array.from({ length: o.shops }, (_, i) => `'${sql.idLiteral('shop', i)}'`).join(',')}]::uuid[])[s + 1], n, true
       from unnest($1::uuid[], $2::int[], $3::text[]) as k(k, s, n)`,
      [kiosks.map((k) => k.id), kiosks.map((k) => k.shopIndex), kiosks.map((k) => k.name)],
    );
    await db.query(
      `insert into private.kiosk_credentials (shop_id, kiosk_id, key_hash)
       select k.shop_id, c.kiosk_id, c.key_hash
       from unnest($1::uuid[], $2::text[]) as c(kiosk_id, key_hash) join public.kiosks k on k.id = c.kiosk_id`,
      [kiosks.map((k) => k.id), kiosks.map((k) => k.keyHash)],
    );
    await db.query(sql.insertPromotions());
    clock.lap('shops, logins, kiosks, promotions');

    await db.query(sql.customerPlan());
    await db.query(`create unique index on gen_customers (i)`);
    const customers = await db.query(sql.insertCustomers());
    clock.lap('customers', customers.rowCount ?? 0);

    const deferred = await deferLedgerIndexes(db, o, removed.ledgerRows);
    if (deferred.length) clock.lap(`dropped ${deferred.length} plain ledger indexes for the load`);
    const loaded = await streamLedger(db, producer, sql);
    const ledgerSeconds = clock.lap('transactions', loaded);
    for (const index of deferred) {
      await db.query(index.definition);
      if (index.comment !== null) await db.query(`comment on index ${index.name} is ${pg.escapeLiteral(index.comment)}`);
    }
    if (deferred.length) clock.lap(`rebuilt ${deferred.length} indexes`);

    const { passwordHashes, pins } = await secrets;
    await db.query(
      `update auth.users u set encrypted_password = h.hash from unnest($1::uuid[], $2::text[]) as h(id, hash) where u.id = h.id`,
      [members.map((m) => m.id), passwordHashes],
    );
    const { rows: pinRows } = await pins;
    await db.query(
      `insert into private.customer_pins (shop_id, customer_id, pin_hash, failed_attempts, locked_until, updated_at)
       select c.shop_id, c.id, p.hash, 0, null, now()
       from gen_customers c join unnest($1::text[], $2::text[]) as p(pin, hash) on p.pin = c.pin`,
      [pinRows.map((r) => r.pin), pinRows.map((r) => r.hash)],
    );
    clock.lap(`passwords; PINs (${pinRows.length} distinct bcrypt hashes)`, o.customers);

    const shopIds = Array.from({ length: o.shops }, (_, i) => sql.idLiteral('shop', i));
    const totals = await verify(db, o, replica, shopIds);
    clock.lap('analyzed; verified references and balances');

    const manifest: DatasetManifest = {
      version: 1,
      seed: o.seed,
      generated_at: new Date().toISOString(),
      shape: { shops: o.shops, customers: o.customers, transactions: o.transactions, months: o.months, until: o.until },
      totals,
      shops: await describeShops(db, sql, o, members, kiosks),
    };
    await db.query('commit');
    clock.lap('commit');

    mkdirSync(dirname(o.out), { recursive: true });
    writeFileSync(o.out, `${JSON.stringify(manifest, null, 2)}\n`);
    const total = clock.total();
    console.log(
      `Done in ${total.toFixed(2)} s: ${o.transactions.toLocaleString('en')} transactions at ` +
        `${Math.round(o.transactions / ledgerSeconds).toLocaleString('en')} rows/s (ledger insert), ` +
        `${Math.round(o.transactions / total).toLocaleString('en')} rows/s overall. Manifest: ${o.out}`,
    );
  } catch (error) {
    await db.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    await Promise.all([db.end(), hasher.end(), producer.end()]);
  }
}

/**
 * Loads the ledger as a pipeline over two backends: one computes the rows (`COPY (select ...) TO
 * STDOUT`, binary) and this transaction's backend only parses and stores them (`COPY ... FROM
 * STDIN`), so both cores work and every row is still written inside the one transaction.
 */
async function streamLedger(db: pg.Client, producer: pg.Client, sql: LedgerSql): Promise<number> {
  const { rows } = await db.query<{ name: LedgerColumn; type: string }>(
    `select attname as name, format_type(atttypid, atttypmod) as type from pg_attribute
     where attrelid = 'public.transactions'::regclass and attnum > 0 and not attisdropped and attname = any($1)`,
    [LEDGER_COLUMNS],
  );
  const types = Object.fromEntries(rows.map((r) => [r.name, r.type])) as Record<LedgerColumn, string>;
  const missing = LEDGER_COLUMNS.filter((column) => !types[column]);
  if (missing.length) throw new Error(`public.transactions lacks the contract's columns: ${missing.join(', ')}`);
  // The producer lays out the same plan in a temporary table of its own: the plan is a pure
  // function of the seed, and it cannot see this transaction's uncommitted one.
  await producer.query('begin');
  await producer.query(`set local work_mem = '256MB'`);
  await producer.query(sql.customerPlan());
  try {
    const source = producer.query(copyTo(`copy (${sql.ledgerRows(types)}) to stdout (format binary)`));
    const sink = db.query(copyFrom(`copy public.transactions (${LEDGER_COLUMNS.join(', ')}) from stdin (format binary)`));
    await pipeline(source, batched(), sink);
    return Number(sink.rowCount);
  } finally {
    await producer.query('rollback');
  }
}

/**
 * COPY TO hands over one chunk per row; writing each as its own CopyData message costs a socket
 * write per row. Gathering them into 256 KiB messages makes the hop between the backends nearly free.
 */
function batched(limit = 256 * 1024): Transform {
  let pending: Buffer[] = [];
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      pending.push(chunk);
      size += chunk.length;
      if (size >= limit) {
        const batch = Buffer.concat(pending, size);
        pending = [];
        size = 0;
        done(null, batch);
      } else done();
    },
    flush(done) {
      done(null, size ? Buffer.concat(pending, size) : undefined);
    },
  });
}

interface DeferredIndex {
  name: string;
  definition: string;
  comment: string | null;
}

/**
 * For a load that is large against the ledger already there, building an index once over the whole
 * table is several times faster than growing it row by row (what pg_restore does too). Only plain
 * indexes are dropped: the ones behind primary key and unique constraints stay and keep checking.
 * They are dropped inside the generator's transaction and rebuilt from their own definitions before
 * COMMIT, so any failure on the way rolls the drop back with everything else.
 */
async function deferLedgerIndexes(db: pg.Client, o: Options, removedRows: number): Promise<DeferredIndex[]> {
  // The planner's estimate of the ledger's size, less what this run just removed (not yet counted).
  const { rows: [size] } = await db.query<{ rows: string }>(
    `select greatest(reltuples, 0)::bigint as rows from pg_class where oid = 'public.transactions'::regclass`,
  );
  const remaining = Math.max(Number(size!.rows) - removedRows, 0);
  if (o.transactions < 1_000_000 || o.transactions < remaining) return [];
  await db.query(`set local maintenance_work_mem = '1GB'`);
  const { rows } = await db.query<DeferredIndex>(`
    select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as definition,
           obj_description(i.indexrelid, 'pg_class') as comment
    from pg_index i
    where i.indrelid = 'public.transactions'::regclass
      and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)`);
  for (const index of rows) await db.query(`drop index ${index.name}`);
  return rows;
}

/**
 * Proves the dataset before it is committed: every reference the skipped foreign-key triggers
 * would have checked, every reversal's link, and every balance against its ledger.
 */
async function verify(db: pg.Client, o: Options, replica: boolean, shopIds: string[]): Promise<DatasetManifest['totals']> {
  // Fresh statistics first: the plans below (and the load tests after COMMIT) need them.
  await db.query('analyze public.shops, public.shop_members, public.customers, public.kiosks, public.transactions, private.customer_pins, private.kiosk_credentials');
  // One pass over the ledger, aggregated per customer, then matched against the customers.
  const { rows: [ledger] } = await db.query(`
    with per_customer as (
      select t.customer_id, t.shop_id, count(*) as n,
             sum(${signedSql('t.amount', 't.type')}) as balance,
             sum(${signedSql('t.bonus_amount', 't.type')}) as bonus_balance,
             count(*) filter (where t.type = 'charge') as charge,
             count(*) filter (where t.type = 'bonus') as bonus,
             count(*) filter (where t.type = 'refund') as refund,
             count(*) filter (where t.type = 'deduct') as deduct,
             count(*) filter (where t.type = 'charge_cancel') as charge_cancel,
             count(*) filter (where t.type = 'deduct_cancel') as deduct_cancel,
             count(*) filter (where t.actor_user_id is not null and m.user_id is null) as foreign_user,
             count(*) filter (where t.actor_kiosk_id is not null and k.id is null) as foreign_kiosk
      from public.transactions t
      left join public.shop_members m on m.shop_id = t.shop_id and m.user_id = t.actor_user_id
      left join public.kiosks k on k.id = t.actor_kiosk_id and k.shop_id = t.shop_id
      where t.shop_id = any($1::uuid[])
      group by t.customer_id, t.shop_id
    )
    select coalesce(sum(p.n), 0) as total,
           coalesce(sum(p.charge), 0) as charge, coalesce(sum(p.deduct), 0) as deduct,
           coalesce(sum(p.charge_cancel), 0) as charge_cancel, coalesce(sum(p.deduct_cancel), 0) as deduct_cancel,
           coalesce(sum(p.bonus), 0) as bonus, coalesce(sum(p.refund), 0) as refund,
           coalesce(sum(p.foreign_user), 0) as foreign_user, coalesce(sum(p.foreign_kiosk), 0) as foreign_kiosk,
           count(*) filter (where p.customer_id is not null and (c.id is null or c.shop_id <> p.shop_id)) as foreign_customer,
           count(*) filter (where c.id is not null and (c.current_balance <> coalesce(p.balance, 0)
                                                        or c.bonus_balance <> coalesce(p.bonus_balance, 0)
                                                        or c.ledger_sequence <> coalesce(p.n, 0))) as mismatches,
           coalesce(sum(c.current_balance), 0) as outstanding
    from per_customer p
    full join (select * from public.customers where shop_id = any($1::uuid[])) as c on c.id = p.customer_id`,
    [shopIds],
  );
  const { rows: [links] } = await db.query(`
    select count(*) as bad from public.transactions r
    left join public.transactions o on o.id = r.original_transaction_id
    where r.original_transaction_id is not null and r.shop_id = any($1::uuid[])
      and (o.id is null or o.customer_id <> r.customer_id or o.created_at >= r.created_at
           or not ((r.type = 'charge_cancel' and o.type = 'charge' and r.amount = o.amount)
                   or (r.type = 'deduct_cancel' and o.type = 'deduct' and r.amount <= o.amount)
                   or (r.type = 'bonus' and o.type = 'charge')))`,
    [shopIds],
  );
  // PINs and kiosk keys carry their shop (issue 16): each must be of its customer's or kiosk's shop.
  // Composite foreign keys hold this, except in replica mode, which skips them.
  const secretsOffShop = !replica ? 0 : Number((await db.query(`
    select (select count(*) from private.customer_pins p left join public.customers c on c.shop_id = p.shop_id and c.id = p.customer_id
            where p.shop_id = any($1::uuid[]) and c.id is null)
         + (select count(*) from private.kiosk_credentials k left join public.kiosks s on s.shop_id = k.shop_id and s.id = k.kiosk_id
            where k.shop_id = any($1::uuid[]) and s.id is null) as bad`,
    [shopIds],
  )).rows[0].bad);
  const problems = [
    Number(ledger.total) !== o.transactions && `${ledger.total} ledger rows instead of ${o.transactions}`,
    secretsOffShop > 0 && `${secretsOffShop} PINs or kiosk keys filed under another shop than their customer's or kiosk's`,
    replica && Number(ledger.foreign_customer) > 0 && `${ledger.foreign_customer} customers' rows filed under another shop`,
    replica && Number(ledger.foreign_user) > 0 && `${ledger.foreign_user} rows by a user who is no member of the shop`,
    replica && Number(ledger.foreign_kiosk) > 0 && `${ledger.foreign_kiosk} rows by a kiosk of another shop`,
    Number(links.bad) > 0 && `${links.bad} reversals not matching their original`,
    Number(ledger.mismatches) > 0 && `${ledger.mismatches} balances differing from their ledger`,
  ].filter(Boolean);
  if (problems.length) throw new Error(`generated dataset is inconsistent, rolled back: ${problems.join('; ')}`);
  return {
    transactions_by_type: {
      charge: Number(ledger.charge),
      deduct: Number(ledger.deduct),
      charge_cancel: Number(ledger.charge_cancel),
      deduct_cancel: Number(ledger.deduct_cancel),
      bonus: Number(ledger.bonus),
      refund: Number(ledger.refund),
    },
    outstanding_balance: Number(ledger.outstanding),
  };
}

async function describeShops(db: pg.Client, sql: LedgerSql, o: Options, members: Member[], kiosks: Kiosk[]): Promise<DatasetShop[]> {
  const sample = await db.query<{ shop_idx: number; id: string; name: string; phone: string; pin: string; balance: string }>(
    `select g.shop_idx::int, c.id, c.name, c.phone, g.pin, c.current_balance as balance
     from gen_customers g join public.customers c on c.id = g.id
     where g.local_idx < $1 order by g.shop_idx, g.local_idx`,
    [o.sample],
  );
  const shops = await db.query<{ id: string; name: string }>(
    `select id, name from public.shops where id = any($1::uuid[]) order by id`,
    [Array.from({ length: o.shops }, (_, i) => sql.idLiteral('shop', i))],
  );
  return shops.rows.map((shop, shopIndex) => ({
    id: shop.id,
    name: shop.name,
    members: members
      .filter((m) => m.shopIndex === shopIndex)
      .map((m) => ({ role: m.role, user_id: m.id, email: m.email, password: m.password })),
    kiosks: kiosks
      .filter((k) => k.shopIndex === shopIndex)
      .map((k) => ({ id: k.id, name: k.name, device_key: k.deviceKey })),
    customers: sample.rows
      .filter((c) => c.shop_idx === shopIndex)
      .map((c) => ({ id: c.id, name: c.name, phone: c.phone, pin: c.pin, balance: Number(c.balance) })),
  }));
}

// A bad option or a failed load prints one line; exit at once, as a connection left open would keep the process alive.
(async () => generate(readOptions(process.argv.slice(2))))().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
