import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { run } from './child.ts';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');
const SUPABASE_CLI = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'supabase');

async function withClient<T>(dbUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Gives a bare PostgreSQL what every Supabase database has before its first migration.
 * One simple-protocol query runs as one transaction, so a failed bootstrap leaves nothing half-made.
 */
export async function bootstrap(dbUrl: string): Promise<void> {
  const sql = await readFile(path.join(import.meta.dirname, 'bootstrap.sql'), 'utf8');
  await withClient(dbUrl, (client) => client.query(sql));
}

/** The part of bootstrap.sql between `-- <name>` and `-- </name>`. */
function bootstrapSection(sql: string, name: string): string {
  const section = new RegExp(`-- <${name}>\n([\\s\\S]*?)-- </${name}>`).exec(sql);
  if (!section) throw new Error(`bootstrap.sql lost its <${name}> markers`);
  return section[1];
}

/**
 * How the local Realtime got its messages before it read the inserts of realtime.messages from their
 * publication: a trigger that sent each as a NOTIFY (until issue 13), then one that wrote each as a
 * logical message for an empty publication. A publication of Realtime's name without the table is
 * made anew rather than trusted.
 */
const RETIRED_DELIVERY = `drop trigger if exists messages_notify_local_server on realtime.messages;
drop function if exists realtime.notify_local_server();
drop publication if exists realtime_local_messages;
drop publication if exists supabase_realtime_messages_publication;
`;

/**
 * What bootstrap.sql gained after a data folder may have been bootstrapped, for a folder kept from an
 * earlier version (a real project has it all already): GoTrue's invitation columns; the realtime schema,
 * whole, for a folder made before it; the local delivery, for a folder whose realtime.messages is not
 * in the publication Realtime reads (made when a trigger delivered the messages): the trigger, its
 * function and the old publication go. A current folder is left as it is. All of it runs as one
 * transaction.
 */
export async function catchUpBootstrap(dbUrl: string): Promise<void> {
  const sql = await readFile(path.join(import.meta.dirname, 'bootstrap.sql'), 'utf8');
  await withClient(dbUrl, async (client) => {
    const { rows } = await client.query<{ has_realtime: boolean; has_delivery: boolean }>(
      `select to_regclass('realtime.messages') is not null as has_realtime,
              exists (select 1 from pg_catalog.pg_publication_tables
                       where pubname = 'supabase_realtime_messages_publication'
                         and schemaname = 'realtime' and tablename = 'messages') as has_delivery`,
    );
    const { has_realtime: hasRealtime, has_delivery: hasDelivery } = rows[0];
    const realtime = !hasRealtime ? bootstrapSection(sql, 'realtime')
      : !hasDelivery ? RETIRED_DELIVERY + bootstrapSection(sql, 'realtime-local-delivery')
      : '';
    await client.query(`alter table auth.users
  add column if not exists invited_at timestamptz,
  add column if not exists confirmation_sent_at timestamptz;
${realtime}`);
  });
}

/** Runs the project's Supabase CLI offline: no prompt to wait for, no telemetry to send. */
export function supabaseCli(args: string[]): Promise<string> {
  return run(SUPABASE_CLI, [...args, '--workdir', PROJECT_ROOT], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
  });
}

/** The real Supabase CLI applies supabase/migrations and keeps its own history table. */
export async function applyMigrations(dbUrl: string): Promise<string> {
  // --yes: without a terminal (CI, test runners, agents) the CLI otherwise refuses to apply anything.
  return supabaseCli(['migration', 'up', `--remote=${dbUrl}`, '--yes']);
}

export type SeedOutcome = 'seeded' | 'schema-missing';

/**
 * Loads supabase/seed.sql, as `supabase db reset` would, in one transaction. Until the schema's
 * migrations exist there is nothing to seed, and the caller tries again on a later start.
 */
export async function seed(dbUrl: string): Promise<SeedOutcome> {
  const sql = await readFile(path.join(PROJECT_ROOT, 'supabase', 'seed.sql'), 'utf8');
  return withClient(dbUrl, async (client) => {
    // The seed makes its balances with the money functions (as they are since they took the shop that
    // routes them, after the actor's session), and files the kiosk key under its shop, so it needs the
    // whole schema.
    const { rows } = await client.query<{ ready: boolean }>(
      `select to_regclass('public.shops') is not null
          and to_regclass('private.kiosk_credentials') is not null
          and to_regprocedure('public.create_customer(uuid, uuid, text, text, text, uuid)') is not null
          and to_regprocedure('public.charge_balance(uuid, uuid, bigint, text, text, uuid, uuid)') is not null
          and to_regprocedure('public.deduct_balance(uuid, uuid, bigint, text, text, uuid, uuid)') is not null
          and to_regprocedure('public.cancel_transaction(uuid, uuid, text, text, bigint, uuid, uuid)') is not null as ready`,
    );
    if (!rows[0].ready) return 'schema-missing';
    await client.query(sql);
    return 'seeded';
  });
}
