import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anonClient, db } from '../support/clients.ts';
import { stackEnv } from '../support/env.ts';
import { signedSql } from '../support/movements.ts';
import { readDatasetManifest, type DatasetManifest } from './dataset_manifest.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

const SHAPE = { shops: 2, customers: 60, transactions: 3_000 };
// Seeds of their own, so a rerun against a long-lived stack replaces only this test's datasets.
const SEED = 900_001;
const OTHER_SEED = 900_002;

async function generate(seed: number, out: string): Promise<string> {
  const { stdout } = await run(
    path.join(root, 'node_modules/.bin/tsx'),
    [
      'tests/load_tests/generate_test_data.ts',
      '--customers', String(SHAPE.customers),
      '--transactions', String(SHAPE.transactions),
      '--shops', String(SHAPE.shops),
      '--seed', String(seed),
      '--sample', '5',
      '--out', out,
    ],
    { cwd: root, env: { ...process.env, DB_URL: stackEnv().DB_URL }, timeout: 120_000 },
  );
  return stdout;
}

/** Every ledger row of the dataset's shops, in one digest: equal digests, equal ledgers. */
async function ledgerFingerprint(shopIds: string[]): Promise<string> {
  const { rows } = await db().query<{ digest: string }>(
    `select md5(string_agg(concat_ws('|', id, customer_id, type, amount, balance_after, original_transaction_id,
                 idempotency_key, actor_user_id, actor_kiosk_id, memo, created_at), ',' order by id)) as digest
     from public.transactions where shop_id = any($1::uuid[])`,
    [shopIds],
  );
  return rows[0]!.digest;
}

describe('the load-test data generator', () => {
  let outDir: string;
  let manifest: DatasetManifest;
  let shopIds: string[];
  let output: string;

  beforeAll(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), 'comings-dataset-'));
    output = await generate(SEED, path.join(outDir, 'dataset.json'));
    manifest = readDatasetManifest(path.join(outDir, 'dataset.json'));
    shopIds = manifest.shops.map((shop) => shop.id);
  }, 180_000);

  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('prints its speed in rows per second', () => {
    expect(output).toMatch(/3,000 transactions at [\d,]+ rows\/s \(ledger insert\)/);
  });

  it('writes exactly the requested shops, customers and ledger rows', async () => {
    const { rows: [counts] } = await db().query(
      `select (select count(*) from public.shops where id = any($1::uuid[]))::int as shops,
              (select count(*) from public.customers where shop_id = any($1::uuid[]))::int as customers,
              (select count(*) from public.transactions where shop_id = any($1::uuid[]))::int as transactions,
              (select count(*) from private.customer_pins p join public.customers c on c.id = p.customer_id
                where c.shop_id = any($1::uuid[]))::int as pins`,
      [shopIds],
    );
    expect(counts).toEqual({ shops: 2, customers: 60, transactions: 3_000, pins: 60 });
    const byType = manifest.totals.transactions_by_type;
    expect(byType.charge + byType.deduct + byType.charge_cancel + byType.deduct_cancel + byType.bonus + byType.refund).toBe(3_000);
    expect(byType.charge_cancel).toBeGreaterThan(0);
    expect(byType.deduct_cancel).toBeGreaterThan(0);
    expect(byType.bonus).toBeGreaterThan(0);
    expect(byType.refund).toBeGreaterThan(0);
  });

  it("keeps every balance equal to its ledger, as reconcile_balances() finds", async () => {
    const { rows } = await db().query(`select * from public.reconcile_balances() where shop_id = any($1::uuid[])`, [shopIds]);
    expect(rows).toEqual([]);
    const { rows: [total] } = await db().query<{ outstanding: string }>(
      `select sum(current_balance)::text as outstanding from public.customers where shop_id = any($1::uuid[])`,
      [shopIds],
    );
    expect(Number(total!.outstanding)).toBe(manifest.totals.outstanding_balance);
  });

  it('never lets a balance or its parts go below zero: each is the running sum, row by row in sequence order', async () => {
    const { rows: [check] } = await db().query(
      `with running as (
         select balance_after, bonus_balance_after, paid_balance_after, sequence, created_at,
                sum(${signedSql('amount')})
                  over w as expected,
                sum(${signedSql('bonus_amount')})
                  over w as expected_bonus,
                row_number() over w as n,
                lag(created_at) over w as before
         from public.transactions where shop_id = any($1::uuid[])
         window w as (partition by customer_id order by sequence))
       select count(*) filter (where balance_after <> expected or bonus_balance_after <> expected_bonus
                                 or sequence <> n or created_at <= before)::int as wrong,
              min(paid_balance_after)::int as lowest_paid, min(bonus_balance_after)::int as lowest_bonus
       from running`,
      [shopIds],
    );
    expect(check).toEqual({ wrong: 0, lowest_paid: 0, lowest_bonus: 0 });
  });

  it('spends paid money first: a deduct takes bonus only once no paid money is left, and a refund empties both parts', async () => {
    const { rows: [check] } = await db().query(
      `select count(*) filter (where type = 'deduct' and bonus_amount > 0 and paid_balance_after > 0)::int as bonus_before_paid,
              count(*) filter (where type = 'refund' and balance_after <> 0)::int as refunds_not_emptying,
              count(*) filter (where type = 'deduct_cancel' and amount < (select o.amount from public.transactions o where o.id = t.original_transaction_id))::int as partial_cancels
       from public.transactions t where shop_id = any($1::uuid[])`,
      [shopIds],
    );
    expect(check).toMatchObject({ bonus_before_paid: 0, refunds_not_emptying: 0 });
    expect(check!.partial_cancels).toBeGreaterThan(0);
  });

  it('links each reversal and bonus to an earlier original of the same customer and type, at most once, a cancel never above it', async () => {
    const { rows: [links] } = await db().query(
      `select count(*)::int as linked,
              count(*) filter (where o.customer_id = r.customer_id and o.created_at < r.created_at
                               and ((o.type || '_cancel' = r.type and r.amount <= o.amount)
                                    or (r.type = 'bonus' and o.type = 'charge' and r.amount = o.amount / 10)))::int as matching,
              count(distinct (r.original_transaction_id, r.type))::int as originals
       from public.transactions r join public.transactions o on o.id = r.original_transaction_id
       where r.shop_id = any($1::uuid[])`,
      [shopIds],
    );
    const byType = manifest.totals.transactions_by_type;
    const linked = byType.charge_cancel + byType.deduct_cancel + byType.bonus;
    expect(links).toEqual({ linked, matching: linked, originals: linked });
  });

  it('gives customers Korean names and unique 010 phones, and spreads the ledger over months of opening hours', async () => {
    const { rows: [people] } = await db().query(
      `select count(*) filter (where name !~ '^[가-힣]{3}$')::int as odd_names,
              count(*) filter (where phone !~ '^010-[0-9]{4}-[0-9]{4}$')::int as odd_phones,
              (count(*) - count(distinct (shop_id, phone)))::int as repeated_phones
       from public.customers where shop_id = any($1::uuid[])`,
      [shopIds],
    );
    expect(people).toEqual({ odd_names: 0, odd_phones: 0, repeated_phones: 0 });
    const { rows: [time] } = await db().query(
      `select extract(day from max(created_at) - min(created_at))::int as span_days,
              count(*) filter (where extract(hour from created_at at time zone 'Asia/Seoul') not between 8 and 21)::int as closed_hours,
              max(created_at) < timestamptz '2026-11-01 00:00+09' as before_until
       from public.transactions where shop_id = any($1::uuid[])`,
      [shopIds],
    );
    expect(time!.span_days).toBeGreaterThan(120);
    expect(time!.closed_hours).toBe(0);
    expect(time!.before_until).toBe(true);
  });

  it("sets each sampled customer's PIN to the one in the manifest, as a bcrypt hash", async () => {
    const sample = manifest.shops.flatMap((shop) => shop.customers);
    expect(sample).toHaveLength(10);
    const { rows } = await db().query<{ matches: boolean; bcrypt: boolean }>(
      `select extensions.crypt(s.pin, p.pin_hash) = p.pin_hash as matches, p.pin_hash like '$2a$04$%' as bcrypt
       from unnest($1::uuid[], $2::text[]) as s(id, pin) join private.customer_pins p on p.customer_id = s.id`,
      [sample.map((c) => c.id), sample.map((c) => c.pin)],
    );
    expect(rows).toEqual(sample.map(() => ({ matches: true, bcrypt: true })));
  });

  it('gives kiosks working device keys: kiosk_balance answers with the manifest balance', async () => {
    const shop = manifest.shops[0]!;
    const customer = shop.customers[0]!;
    const keyHashes = await db().query<{ key_hash: string }>(
      `select c.key_hash from private.kiosk_credentials c join public.kiosks k on k.id = c.kiosk_id
       where k.shop_id = $1 and k.active order by k.id`,
      [shop.id],
    );
    expect(keyHashes.rows.map((r) => r.key_hash)).toEqual(
      shop.kiosks.map((k) => createHash('sha256').update(k.device_key).digest('hex')),
    );
    const { rows: [answer] } = await db().query<{ result: { balance: number; customer: { id: string } } }>(
      `select public.kiosk_balance($1, $2, $3) as result`,
      [shop.kiosks[0]!.device_key, customer.phone, customer.pin],
    );
    expect(answer!.result.customer.id).toBe(customer.id);
    expect(Number(answer!.result.balance)).toBe(customer.balance);
  });

  it("lets the owner login sign in and read, through RLS, only the owner's shop", async () => {
    const shop = manifest.shops[1]!;
    const owner = shop.members.find((m) => m.role === 'owner')!;
    expect(shop.members.map((m) => m.role)).toEqual(['owner', 'manager', 'staff']);
    const client = anonClient();
    const { data, error } = await client.auth.signInWithPassword({ email: owner.email, password: owner.password });
    expect(error).toBeNull();
    expect(data.user?.id).toBe(owner.user_id);
    const shops = await client.from('shops').select('id');
    expect(shops.data).toEqual([{ id: shop.id }]);
  });

  it('is deterministic: the same seed rebuilds the same ledger in place, another seed a different one', async () => {
    const before = await ledgerFingerprint(shopIds);
    await generate(SEED, path.join(outDir, 'again.json'));
    expect(await ledgerFingerprint(shopIds)).toBe(before);
    const again = readDatasetManifest(path.join(outDir, 'again.json'));
    expect(again.shops).toEqual(manifest.shops);
    expect(again.totals).toEqual(manifest.totals);

    await generate(OTHER_SEED, path.join(outDir, 'other.json'));
    const other = readDatasetManifest(path.join(outDir, 'other.json'));
    const otherShops = other.shops.map((shop) => shop.id);
    expect(otherShops.some((id) => shopIds.includes(id))).toBe(false);
    expect(await ledgerFingerprint(otherShops)).not.toBe(before);
    const { rows: [count] } = await db().query<{ n: number }>(
      `select count(*)::int as n from public.transactions where shop_id = any($1::uuid[])`,
      [shopIds],
    );
    expect(count!.n).toBe(3_000);
  }, 180_000);
});
