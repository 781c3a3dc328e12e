import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import type { Database } from '../../functions/_shared/database.types.ts';
import pg from 'pg';
import WebSocket from 'ws';
import { stackEnv } from './env.ts';

/**
 * Options for every supabase-js client made in Node: sessions stay in memory (tests never share one),
 * and Node 20 has no global WebSocket, which supabase-js's realtime client insists on having.
 */
export const clientOptions = {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  realtime: { transport: WebSocket as unknown as typeof globalThis.WebSocket },
} as const;

export function anonClient(): SupabaseClient<Database> {
  const { API_URL, ANON_KEY } = stackEnv();
  return createClient<Database>(API_URL, ANON_KEY, clientOptions);
}

/** The service role bypasses RLS: for arranging data, never for the behaviour under test. */
export function serviceClient(): SupabaseClient<Database> {
  const { API_URL, SERVICE_ROLE_KEY } = stackEnv();
  return createClient<Database>(API_URL, SERVICE_ROLE_KEY, clientOptions);
}

/**
 * The same client without the schema's types: for tests that call a name chosen at run time or one the
 * API must not have (a private table, a function anon may not run), where the types would refuse to compile.
 */
export function untyped(client: SupabaseClient<Database>): SupabaseClient {
  return client as unknown as SupabaseClient;
}

let pool: pg.Pool | undefined;

/** One pool per test worker on DB_URL (the `postgres` superuser), closed with `closeDb()`. */
export function db(): pg.Pool {
  if (!pool) {
    pool = new pg.Pool({
      connectionString: stackEnv().DB_URL,
      max: 10,
      idleTimeoutMillis: 5_000,
      allowExitOnIdle: true,
    });
    // An idle client dropped by the server (e.g. a restart in a chaos test) must not crash the worker.
    pool.on('error', () => undefined);
  }
  return pool;
}

export async function closeDb(): Promise<void> {
  const current = pool;
  pool = undefined;
  await current?.end();
}
