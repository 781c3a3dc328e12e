/**
 * The money and PIN rules under real concurrency: 50 PostgreSQL connections, logged in as
 * service_role as PostgREST would be, each calling a function at the same moment. A gate connection
 * holds the customer's row (or PIN row) lock until all 50 calls are queued behind it, so every call
 * really races the others; the outcome is then checked with exact counts and figures.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShopWithStaff, db, ledgerCount, stackEnv } from '../support/index.ts';
import { balanceOf, createCustomer, idempotencyKey, mismatches, rpcOk, type MoneyResult, type PinResult } from './support.ts';

const RACERS = 50;

// The racers' connections carry no data (each test races on a shop and customer of its own), so the
// tests share them rather than each opening and closing 50 connections.
let racers: pg.Client[];

beforeAll(async () => {
  racers = await Promise.all(
    Array.from({ length: RACERS }, async () => {
      const client = new pg.Client({ connectionString: stackEnv().DB_URL, options: '-c role=service_role' });
      await client.connect();
      return client;
    }),
  );
});

afterAll(async () => {
  await Promise.all(racers.map((client) => client.end()));
});

type Outcome<T> = { ok: true; value: T } | { ok: false; code: string };

/**
 * Runs one call per racer while `gateSql` holds its lock, waits until every racer is queued on a
 * lock, opens the gate, and returns each racer's outcome (the contract code when refused).
 */
async function race<T>(gateSql: string, gateParams: unknown[], call: (i: number) => [string, unknown[]]): Promise<Outcome<T>[]> {
  const gate = await db().connect();
  try {
    await gate.query('begin');
    await gate.query(gateSql, gateParams);
    const calls = racers.map(async (client, i): Promise<Outcome<T>> => {
      const [sql, params] = call(i);
      try {
        const { rows } = await client.query(sql, params);
        return { ok: true, value: Object.values(rows[0])[0] as T };
      } catch (error) {
        // A contract refusal carries its JSON; anything else (a lost connection) shows as itself.
        const { message } = error as Error;
        return { ok: false, code: message.startsWith('{') ? JSON.parse(message).code : message };
      }
    });
    await expect.poll(async () => {
      // The gate is inside its transaction, where pg_stat_activity is read once and then cached.
      await gate.query('select pg_stat_clear_snapshot()');
      const { rows } = await gate.query(
        `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and usename = current_user and pid <> pg_backend_pid()
           and backend_type = 'client backend' and query like 'select public.%'`,
      );
      return rows[0].n;
    }, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(RACERS);
    await gate.query('commit');
    return await Promise.all(calls);
  } finally {
    gate.release();
  }
}

function tally<T>(outcomes: Outcome<T>[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) {
    const key = outcome.ok ? 'ok' : outcome.code;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

const LOCK_CUSTOMER = 'select 1 from public.customers where id = $1 for update';

describe(`${RACERS} calls at once`, () => {
  it('deducts on one customer never drive the balance below zero: 10 of 50 succeed, 40 are insufficient_balance', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { balance: 10_000 });
    const outcomes = await race<MoneyResult>(LOCK_CUSTOMER, [customer.id], () => [
      'select public.deduct_balance($1, $2, 1000, $3)',
      [world.staff.id, customer.id, idempotencyKey()],
    ]);
    expect(tally(outcomes)).toEqual({ ok: 10, insufficient_balance: 40 });
    const balancesAfter = outcomes.flatMap((o) => (o.ok ? [o.value.balance] : [])).sort((x, y) => x - y);
    expect(balancesAfter).toEqual([0, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000]);
    expect(await balanceOf(customer.id)).toBe(0);
    expect(await mismatches()).toEqual([]);
  });

  it('charges on one customer add up exactly', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id);
    const outcomes = await race<MoneyResult>(LOCK_CUSTOMER, [customer.id], (i) => [
      'select public.charge_balance($1, $2, $3, $4)',
      [world.staff.id, customer.id, 1_000 + i, idempotencyKey()],
    ]);
    expect(tally(outcomes)).toEqual({ ok: RACERS });
    // 50 charges of 1,000 + i won, i = 0..49.
    expect(await balanceOf(customer.id)).toBe(50 * 1_000 + (49 * 50) / 2);
    expect(await mismatches()).toEqual([]);
  });

  it('a mix of charges and deducts ends at exactly the expected balance', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { balance: 25_000 });
    const outcomes = await race<MoneyResult>(LOCK_CUSTOMER, [customer.id], (i) => [
      i % 2 === 0 ? 'select public.charge_balance($1, $2, 3000, $3)' : 'select public.deduct_balance($1, $2, 1000, $3)',
      [world.staff.id, customer.id, idempotencyKey()],
    ]);
    expect(tally(outcomes)).toEqual({ ok: RACERS });
    expect(await balanceOf(customer.id)).toBe(25_000 + 25 * 3_000 - 25 * 1_000);
    expect(await mismatches()).toEqual([]);
  });

  it('calls with one idempotency key apply once and all answer the same transaction', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id);
    const key = idempotencyKey('same');
    const outcomes = await race<MoneyResult>(LOCK_CUSTOMER, [customer.id], () => [
      'select public.charge_balance($1, $2, 7000, $3)',
      [world.staff.id, customer.id, key],
    ]);
    expect(tally(outcomes)).toEqual({ ok: RACERS });
    const results = outcomes.map((o) => (o.ok ? o.value : null)!);
    expect(new Set(results.map((r) => r.transaction.id)).size).toBe(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(new Set(results.map((r) => r.balance))).toEqual(new Set([7_000]));
    expect(await balanceOf(customer.id)).toBe(7_000);
    expect(await ledgerCount(customer.id)).toBe(1);
  });

  it('cancels of one transaction apply exactly once; the other 49 are already_cancelled', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { balance: 10_000 });
    const paid = await rpcOk<MoneyResult>('deduct_balance', {
      p_actor_user_id: world.staff.id,
      p_customer_id: customer.id,
      p_amount: 4_000,
      p_idempotency_key: idempotencyKey(),
    });
    const outcomes = await race<MoneyResult>(LOCK_CUSTOMER, [customer.id], () => [
      'select public.cancel_transaction($1, $2, $3)',
      [world.manager.id, paid.transaction.id, idempotencyKey()],
    ]);
    expect(tally(outcomes)).toEqual({ ok: 1, already_cancelled: 49 });
    expect(await balanceOf(customer.id)).toBe(10_000);
    expect(await mismatches()).toEqual([]);
  });

  it('wrong PINs are counted exactly: four pin_invalid (4, 3, 2, 1 left), then pin_locked, and the right PIN stays locked out', async () => {
    const world = await createShopWithStaff();
    const customer = await createCustomer(world.owner.id, world.shop.id, { pin: '2580' });
    const outcomes = await race<PinResult>(
      'select 1 from private.customer_pins where customer_id = $1 for update',
      [customer.id],
      () => ['select public.verify_pin_atomic($1, $2, $3)', [customer.id, '0852', world.staff.id]],
    );
    const answers = outcomes.map((o) => (o.ok ? o.value : null)!);
    expect(answers.filter((a) => a.code === 'pin_invalid').map((a) => a.remaining_attempts).sort()).toEqual([1, 2, 3, 4]);
    expect(answers.filter((a) => a.code === 'pin_locked')).toHaveLength(46);
    expect(answers.filter((a) => a.ok)).toHaveLength(0);
    const { rows } = await db().query('select failed_attempts from private.customer_pins where customer_id = $1', [customer.id]);
    expect(rows[0].failed_attempts).toBe(5);
    const right = await rpcOk<PinResult>('verify_pin_atomic', { p_customer_id: customer.id, p_pin: '2580', p_actor_user_id: world.staff.id });
    expect(right).toMatchObject({ ok: false, code: 'pin_locked' });
  });

  it('kiosk payments by one customer never overspend', async () => {
    const world = await createShopWithStaff();
    const { device_key } = await rpcOk<{ device_key: string }>('register_kiosk', {
      p_actor_user_id: world.owner.id,
      p_shop_id: world.shop.id,
      p_name: '동시 결제',
    });
    const customer = await createCustomer(world.owner.id, world.shop.id, { pin: '1470', balance: 10_000 });
    const outcomes = await race<MoneyResult>(LOCK_CUSTOMER, [customer.id], () => [
      'select public.kiosk_pay($1, $2, $3, 1000, $4)',
      [device_key, customer.phone, '1470', idempotencyKey()],
    ]);
    expect(tally(outcomes)).toEqual({ ok: 10, insufficient_balance: 40 });
    expect(await balanceOf(customer.id)).toBe(0);
    expect(await mismatches()).toEqual([]);
  });
});
