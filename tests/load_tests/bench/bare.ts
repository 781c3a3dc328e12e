// Phase 0: the least an atomic deduct can cost on this PostgreSQL, for deduct_balance to be judged
// against: one plpgsql call that locks the account row (`select … for update`), updates its balance
// and inserts a ledger row into a table whose only index is its primary key. No idempotency, no
// membership, no ceiling, no foreign keys, no JSON.
//
// Phase 0b is the same call with one thing more: the live screens' broadcast of the movement
// (`realtime.send` of a payload with the keys record_movement sends), which every movement of the
// product makes. It shows what that one feature costs on its own, next to the whole deduct.
//
// The bench creates it for the phase in a scratch schema of its own (never public, never a
// migration), fills it with the dataset's customers at the balance the fixture tops up to, and
// drops it afterwards with the messages phase 0b broadcast, so nothing is left behind: on Ctrl-C too
// (bench.ts), and a schema left by a run that was killed outright (tsx's CLI SIGKILLs its child when
// the child is slow to acknowledge a signal, as on a loaded machine) is dropped by the next run, once
// its session is gone. It is called as deduct_balance is, over pg as service_role, by the same closed
// loop with the same number of connections.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Iteration } from './driver.ts';
import type { Fixture } from './fixture.ts';
import { BARE_BROADCAST_REQUEST, BARE_REQUEST, judgeSqlFailure } from './scenarios.ts';

export interface BareDeduct {
  /** The scratch schema's name: `comings_bench_scratch_<random>`. */
  schema: string;
  /** One bare deduct of `amount` from a random customer of the dataset, over the pool's connections. */
  iteration(db: pg.Pool, amount: number): Iteration;
  /**
   * Ledger rows written, and accounts whose balance is not the start minus their ledger rows; for
   * phase 0b also the ledger rows without their broadcast (realtime.send only warns when it fails).
   */
  books(): Promise<{ ledger_rows_added: number; balance_mismatches: number }>;
  /** Drops the schema with everything in it. Safe to call more than once. */
  drop(): Promise<void>;
}

/** The scratch schema's statements, in order; the accounts are inserted after them. */
export function bareDeductSql(schema: string): string[] {
  const s = pg.escapeIdentifier(schema);
  return [
    `create schema ${s}`,
    `create table ${s}.accounts (id uuid primary key, balance bigint not null)`,
    `create table ${s}.ledger (
       id uuid primary key,
       account_id uuid not null,
       amount bigint not null,
       balance_after bigint not null,
       created_at timestamptz not null default now()
     )`,
    `create function ${s}.deduct(p_account_id uuid, p_amount bigint, p_id uuid, p_broadcast boolean)
     returns bigint
     language plpgsql
     as $$
     declare
       v_balance bigint;
     begin
       select a.balance into v_balance from ${s}.accounts a where a.id = p_account_id for update;
       if not found then
         raise exception 'no such account %', p_account_id;
       end if;
       if v_balance < p_amount then
         raise exception using errcode = 'PGRST', message = '{"code":"insufficient_balance","message":"balance too low"}';
       end if;
       update ${s}.accounts set balance = v_balance - p_amount where id = p_account_id;
       insert into ${s}.ledger (id, account_id, amount, balance_after) values (p_id, p_account_id, p_amount, v_balance - p_amount);
       if p_broadcast then
         perform realtime.send(
           jsonb_build_object(
             'shop_id', p_account_id,
             'transaction', jsonb_build_object(
               'id', p_id, 'type', 'deduct', 'amount', p_amount, 'paid_amount', p_amount, 'bonus_amount', 0,
               'balance_after', v_balance - p_amount, 'paid_balance_after', v_balance - p_amount,
               'bonus_balance_after', 0, 'sequence', 1, 'created_at', now(), 'customer_id', p_account_id,
               'original_transaction_id', null, 'actor_user_id', p_account_id, 'actor_kiosk_id', null, 'memo', null
             ),
             'customer', jsonb_build_object(
               'id', p_account_id, 'name', 'bench', 'balance', v_balance - p_amount,
               'paid_balance', v_balance - p_amount, 'bonus_balance', 0
             )
           ),
           'movement',
           ${pg.escapeLiteral(broadcastTopic(schema))},
           true
         );
       end if;
       return v_balance - p_amount;
     end;
     $$`,
    `grant usage on schema ${s} to service_role`,
    `grant select, update on ${s}.accounts to service_role`,
    `grant insert on ${s}.ledger to service_role`,
    `grant execute on function ${s}.deduct(uuid, bigint, uuid, boolean) to service_role`,
  ];
}

export const SCRATCH_PREFIX = 'comings_bench_scratch_';

/** The one topic phase 0b broadcasts on, named after its scratch schema. */
export const broadcastTopic = (schema: string) => `${schema}:movements`;

/** Deletes what a scratch schema broadcast, as the owner (hosted, Realtime's daily partitions go anyway). */
async function dropBroadcasts(owner: pg.Client, schema: string): Promise<void> {
  await owner.query('delete from realtime.messages where topic = $1', [broadcastTopic(schema)]).catch(() => undefined);
}

/** The scratch schemas alive now, so that an interrupted run (Ctrl-C) still drops its own. */
const live = new Set<BareDeduct>();

export async function dropLiveScratchSchemas(): Promise<void> {
  await Promise.all([...live].map((bare) => bare.drop().catch(() => undefined)));
}

/**
 * Each scratch schema's comment is the pid of the session that made it, which holds it for the
 * phase: a schema whose session is gone was left by a run that was killed, and goes.
 */
async function dropAbandoned(owner: pg.Client): Promise<void> {
  const { rows } = await owner.query<{ name: string }>(
    `select n.nspname as name
       from pg_namespace n
      where starts_with(n.nspname, $1)
        and not exists (
          select 1 from pg_stat_activity a
           where a.pid::text = coalesce(obj_description(n.oid, 'pg_namespace'), '')
        )`,
    [SCRATCH_PREFIX],
  );
  for (const { name } of rows) {
    await dropBroadcasts(owner, name);
    await owner.query(`drop schema if exists ${pg.escapeIdentifier(name)} cascade`);
  }
}

/**
 * Creates the scratch schema as the database URL's own user (who may create schemas; service_role may
 * not); `broadcast` makes it phase 0b's.
 */
export async function createBareDeduct(fx: Fixture, broadcast = false): Promise<BareDeduct> {
  const schema = `${SCRATCH_PREFIX}${randomBytes(6).toString('hex')}`;
  const s = pg.escapeIdentifier(schema);
  const owner = new pg.Client({ connectionString: fx.target.dbUrl, application_name: 'comings-bench-scratch' });
  // The server going away (a stack stopped by the same Ctrl-C) is an error of the next query, not a crash.
  owner.on('error', () => undefined);
  await owner.connect();
  let dropped = false;
  let bare: BareDeduct | undefined;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    if (bare) live.delete(bare);
    try {
      await dropBroadcasts(owner, schema);
      await owner.query(`drop schema if exists ${s} cascade`);
    } finally {
      await owner.end();
    }
  };
  try {
    await dropAbandoned(owner);
    await owner.query('begin');
    for (const statement of bareDeductSql(schema)) await owner.query(statement);
    const { rows } = await owner.query<{ pid: number }>('select pg_backend_pid() as pid');
    await owner.query(`comment on schema ${s} is ${pg.escapeLiteral(String(rows[0]!.pid))}`);
    await owner.query(`insert into ${s}.accounts (id, balance) select unnest($1::uuid[]), $2`, [fx.customers.map((c) => c.id), fx.topUpTo]);
    await owner.query('commit');
    await owner.query(`analyze ${s}.accounts`);
  } catch (error) {
    await owner.query('rollback').catch(() => undefined);
    await drop();
    throw error;
  }
  const customers = fx.customers;
  bare = {
    schema,
    iteration(db, amount) {
      const text = `select ${s}.deduct($1, $2, gen_random_uuid(), ${broadcast}) as balance`;
      const name = broadcast ? BARE_BROADCAST_REQUEST : BARE_REQUEST;
      return async () => {
        const customer = customers[Math.floor(Math.random() * customers.length)]!;
        try {
          const { rows } = await db.query<{ balance: string }>({ name: `bench_${name}`, text, values: [customer.id, amount] });
          const balance = Number(rows[0]?.balance);
          return Number.isInteger(balance) && balance >= 0
            ? { name, outcome: 'ok' }
            : { name, outcome: 'error', why: `wrong answer: ${JSON.stringify(rows[0])}` };
        } catch (error) {
          return judgeSqlFailure(name, error, ['insufficient_balance']);
        }
      };
    },
    async books() {
      const { rows } = await owner.query<{ rows: string; mismatches: string; broadcasts: string }>(
        `select (select count(*) from ${s}.ledger) as rows,
                (select count(*) from ${s}.accounts a
                  where a.balance <> $1 - coalesce((select sum(l.amount) from ${s}.ledger l where l.account_id = a.id), 0)) as mismatches,
                (select count(*) from realtime.messages m where m.topic = $2) as broadcasts`,
        [fx.topUpTo, broadcastTopic(schema)],
      );
      const ledgerRows = Number(rows[0]!.rows);
      const unbroadcast = broadcast ? Math.abs(ledgerRows - Number(rows[0]!.broadcasts)) : 0;
      return { ledger_rows_added: ledgerRows, balance_mismatches: Number(rows[0]!.mismatches) + unbroadcast };
    },
    drop,
  };
  live.add(bare);
  return bare;
}
