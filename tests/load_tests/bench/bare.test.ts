// Phase 0's scratch schema on a real database: the bare deduct moves money like a deduct (atomic,
// refusing below zero, a ledger row per success), its books are checked, and nothing is left behind,
// not even by a run that was killed.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { closeDb, db, stackEnv } from '../../support/index.ts';
import { broadcastTopic, createBareDeduct, SCRATCH_PREFIX } from './bare.ts';
import type { Fixture } from './fixture.ts';
import { serviceRolePool } from './fixture.ts';

const fixture = (customers: number, topUpTo: number) =>
  ({
    target: { dbUrl: stackEnv().DB_URL },
    customers: Array.from({ length: customers }, () => ({ id: randomUUID() })),
    topUpTo,
  }) as unknown as Fixture;

async function scratchSchemas(): Promise<string[]> {
  const { rows } = await db().query<{ name: string }>('select nspname as name from pg_namespace where starts_with(nspname, $1) order by 1', [
    SCRATCH_PREFIX,
  ]);
  return rows.map((r) => r.name);
}

afterAll(closeDb);

describe('the bare atomic deduct of phase 0', () => {
  it('deducts as service_role in a schema of its own, one ledger row per success, and drops it all', async () => {
    const bare = await createBareDeduct(fixture(3, 100));
    const pool = serviceRolePool(stackEnv().DB_URL, 4);
    try {
      expect(bare.schema.startsWith(SCRATCH_PREFIX)).toBe(true);
      expect(await scratchSchemas()).toContain(bare.schema);
      const deduct = bare.iteration(pool, 30);
      // 3 accounts of 100 each: 3 deducts of 30 fit in each, the 4th is refused.
      const answers = await Promise.all(Array.from({ length: 16 }, () => deduct(0)));
      const ok = answers.filter((a) => a.outcome === 'ok').length;
      expect(answers.every((a) => a.name === 'sql_bare_deduct' && (a.outcome === 'ok' || a.outcome === 'insufficient_balance'))).toBe(true);
      expect(ok).toBeLessThanOrEqual(9);
      expect(await bare.books()).toEqual({ ledger_rows_added: ok, balance_mismatches: 0 });
    } finally {
      await pool.end();
      await bare.drop();
    }
    expect(await scratchSchemas()).not.toContain(bare.schema);
  });

  it('broadcasts each successful deduct of phase 0b once, on the scratch schema\'s one topic, and takes the messages along when dropped', async () => {
    const bare = await createBareDeduct(fixture(2, 100), true);
    const topic = broadcastTopic(bare.schema);
    const pool = serviceRolePool(stackEnv().DB_URL, 4);
    const broadcasts = async () =>
      Number((await db().query<{ count: string }>(`select count(*) from realtime.messages where topic = $1 and event = 'movement' and private`, [topic])).rows[0]!.count);
    try {
      const deduct = bare.iteration(pool, 40);
      // 2 accounts of 100 each: 2 deducts of 40 fit in each, every later one is refused and broadcasts
      // nothing. 40 calls at random leave neither account below its 2 (all but 1e-10 of the time).
      const answers = await Promise.all(Array.from({ length: 40 }, () => deduct(0)));
      expect(answers.every((a) => a.name === 'sql_bare_deduct_broadcast')).toBe(true);
      expect(answers.filter((a) => a.outcome === 'ok')).toHaveLength(4);
      expect(answers.filter((a) => a.outcome === 'insufficient_balance')).toHaveLength(36);
      expect(await broadcasts()).toBe(4);
      expect(await bare.books()).toEqual({ ledger_rows_added: 4, balance_mismatches: 0 });
    } finally {
      await pool.end();
      await bare.drop();
    }
    expect(await broadcasts()).toBe(0);
  });

  it('drops the scratch schema a killed run left, and keeps one whose session still runs', async () => {
    const abandoned = `${SCRATCH_PREFIX}abandoned${Date.now()}`;
    const running = `${SCRATCH_PREFIX}running${Date.now()}`;
    const holder = await db().connect();
    try {
      const { rows } = await holder.query<{ pid: number }>('select pg_backend_pid() as pid');
      await holder.query(`create schema ${abandoned}; comment on schema ${abandoned} is '2147483646'`);
      await holder.query(`create schema ${running}; comment on schema ${running} is '${rows[0]!.pid}'`);
      const bare = await createBareDeduct(fixture(1, 100));
      await bare.drop();
      const left = await scratchSchemas();
      expect(left).not.toContain(abandoned);
      expect(left).toContain(running);
    } finally {
      await holder.query(`drop schema if exists ${abandoned}; drop schema if exists ${running}`);
      holder.release();
    }
  });
});
