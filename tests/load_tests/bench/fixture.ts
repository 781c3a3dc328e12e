// Who the benchmark acts for, and the state it needs before it measures: the dataset's customers
// with their PINs, each shop's kiosk keys and signed-in staff, balances topped up so that deducts
// measure work and not refusals, and books that balance before the first request (a mismatch found
// after a phase must be that phase's).

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { readDatasetManifest, type DatasetManifest, type DatasetShop } from '../dataset_manifest.ts';
import type { BenchTarget } from './target.ts';

export type StaffRole = DatasetShop['members'][number]['role'];

export interface StaffSession {
  userId: string;
  email: string;
  role: StaffRole;
  accessToken: string;
}

export interface BenchShop {
  id: string;
  kioskKeys: string[];
  staff: StaffSession[];
  /** Owners and managers: the roles that may cancel. */
  cancellers: StaffSession[];
}

export interface BenchCustomer {
  id: string;
  shopId: string;
  name: string;
  phone: string;
  pin: string;
}

export interface Fixture {
  target: BenchTarget;
  customers: BenchCustomer[];
  shops: Map<string, BenchShop>;
  /** The one customer the hot-customer phase piles onto. */
  hotCustomer: BenchCustomer;
  /** As the service role, for the reconciliation and the set-up. */
  db: pg.Pool;
  /** What each customer was topped up to. */
  topUpTo: number;
  dataset: { customers: number; transactions: number };
}

/** Half the default balance ceiling (2,000,000 KRW): room for the mix's top-ups and its payments. */
const TOP_UP_TO = 1_000_000;

/** A pool whose connections act as the edge functions' service role does through PostgREST. */
export function serviceRolePool(dbUrl: string, max: number): pg.Pool {
  // `role` is a setting like any other: given at connection start it is `set role` before the first query.
  const pool = new pg.Pool({ connectionString: dbUrl, max, application_name: 'comings-bench', options: '-c role=service_role' });
  pool.on('error', () => undefined);
  return pool;
}

export async function mismatchCount(db: pg.Pool): Promise<number> {
  const { rows } = await db.query<{ count: string }>('select count(*) from public.reconcile_balances()');
  return Number(rows[0]!.count);
}

// Rows written by a request: a promotion's bonus row rides on its charge's request and has no key.
export async function ledgerRowCount(db: pg.Pool): Promise<number> {
  const { rows } = await db.query<{ count: string }>('select count(idempotency_key) from public.transactions');
  return Number(rows[0]!.count);
}

async function signIn(target: BenchTarget, member: DatasetShop['members'][number]): Promise<StaffSession> {
  const res = await fetch(`${target.apiUrl}/auth/v1/token?grant_type=password`, {
    method: 'POST',
    headers: { apikey: target.anonKey, 'content-type': 'application/json' },
    body: JSON.stringify({ email: member.email, password: member.password }),
  });
  const body = (await res.json().catch(() => null)) as { access_token?: unknown } | null;
  if (res.status !== 200 || typeof body?.access_token !== 'string') {
    throw new Error(`staff ${member.email} could not sign in: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
  }
  return { userId: member.user_id, email: member.email, role: member.role, accessToken: body.access_token };
}

async function requireHealthyFunctions(target: BenchTarget): Promise<void> {
  const res = await fetch(`${target.apiUrl}/functions/v1/health`, {
    headers: { apikey: target.anonKey, Authorization: `Bearer ${target.anonKey}` },
  }).catch((error: unknown) => {
    throw new Error(`The stack at ${target.apiUrl} does not answer: ${String(error)}`);
  });
  const body = (await res.json().catch(() => null)) as { status?: unknown } | null;
  if (res.status !== 200 || body?.status !== 'ok') {
    throw new Error(`The stack at ${target.apiUrl} is not healthy: GET /functions/v1/health answered ${res.status} ${JSON.stringify(body)}`);
  }
}

/** Charges every customer up to the target balance (real charges: the ledger stays true). */
async function topUp(db: pg.Pool, customers: BenchCustomer[], ownerOf: Map<string, string>): Promise<number> {
  const { rows } = await db.query<{ id: string; balance: string; max_balance: string }>(
    `select c.id, c.current_balance as balance, s.max_balance
     from public.customers c join public.shops s on s.id = c.shop_id
     where c.id = any($1::uuid[])`,
    [customers.map((c) => c.id)],
  );
  if (rows.length !== customers.length) {
    throw new Error(
      `${customers.length - rows.length} of the dataset's ${customers.length} customers are not in this database: ` +
        'the manifest belongs to another stack; run `npm run generate` against this one.',
    );
  }
  const shopOf = new Map(customers.map((c) => [c.id, c.shopId]));
  let charged = 0;
  const queue = [...rows];
  const worker = async () => {
    for (let row = queue.pop(); row; row = queue.pop()) {
      const target = Math.min(TOP_UP_TO, Math.floor(Number(row.max_balance) / 2));
      const amount = target - Number(row.balance);
      if (amount <= 0) continue;
      await db.query('select public.charge_balance($1, $2, $3, $4, $5)', [
        ownerOf.get(shopOf.get(row.id)!)!,
        row.id,
        amount,
        `bench-top-up-${randomUUID()}`,
        'bench top-up',
      ]);
      charged += 1;
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return charged;
}

/** The manifest's customers (a sample of each shop), as the bench addresses them. */
export function customersOf(manifest: DatasetManifest): BenchCustomer[] {
  return manifest.shops.flatMap((shop) => shop.customers.map((c) => ({ id: c.id, shopId: shop.id, name: c.name, phone: c.phone, pin: c.pin })));
}

/** The shop's owner: the acting user of top-ups, and of the staff movements a SQL phase sends. */
export function ownerOf(shop: DatasetShop): string {
  const owner = shop.members.find((m) => m.role === 'owner');
  if (!owner) throw new Error(`Shop ${shop.id} of the dataset has no owner`);
  return owner.user_id;
}

/**
 * The books a run starts from: every balance agrees with its ledger (a mismatch found after a phase
 * must be that phase's), and `customers` are topped up. Returns the service role's pool for the checks.
 */
export async function openBooks(target: BenchTarget, manifest: DatasetManifest, customers: BenchCustomer[], log: (line: string) => void): Promise<pg.Pool> {
  const db = serviceRolePool(target.dbUrl, 4);
  try {
    const before = await mismatchCount(db);
    if (before > 0) throw new Error(`${before} balances already disagree with their ledger before the benchmark`);
    const charged = await topUp(db, customers, new Map(manifest.shops.map((shop) => [shop.id, ownerOf(shop)])));
    log(`Topped up ${charged} of ${customers.length} customers to ${TOP_UP_TO.toLocaleString('en')} KRW.`);
    return db;
  } catch (error) {
    await db.end();
    throw error;
  }
}

export async function setUp(target: BenchTarget, log: (line: string) => void): Promise<Fixture> {
  const manifest = readDatasetManifest(target.datasetPath);
  const customers = customersOf(manifest);
  if (customers.length === 0) throw new Error(`${target.datasetPath} names no customer`);
  for (const shop of manifest.shops) {
    const roles = new Set(shop.members.map((m) => m.role));
    if (shop.kiosks.length === 0 || !roles.has('owner')) {
      throw new Error(`Shop ${shop.id} of the dataset needs a kiosk and an owner (top-ups and cancels)`);
    }
  }

  await requireHealthyFunctions(target);
  const db = await openBooks(target, manifest, customers, log);
  try {
    const shops = new Map<string, BenchShop>();
    for (const shop of manifest.shops) {
      const staff = await Promise.all(shop.members.map((member) => signIn(target, member)));
      shops.set(shop.id, {
        id: shop.id,
        kioskKeys: shop.kiosks.map((k) => k.device_key),
        staff,
        cancellers: staff.filter((s) => s.role === 'owner' || s.role === 'manager'),
      });
    }
    return {
      target,
      customers,
      shops,
      hotCustomer: customers[0]!,
      db,
      topUpTo: TOP_UP_TO,
      dataset: { customers: manifest.shape.customers, transactions: manifest.shape.transactions },
    };
  } catch (error) {
    await db.end();
    throw error;
  }
}
