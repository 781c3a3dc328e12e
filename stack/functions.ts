// Starts the Deno process that serves functions/ (stack/functions-host.ts) and waits until it answers.
import path from 'node:path';
import { spawnSupervised, waitUntil, type SupervisedChild } from './child.ts';
import { PROJECT_ROOT } from './database.ts';
import type { StackKeys } from './keys.ts';

export interface FunctionsHostOptions {
  port: number;
  /** The gateway's URL: SUPABASE_URL inside the functions. */
  apiUrl: string;
  /** PostgREST's own URL: where the host sends the functions' service-role calls to `/rest/v1` (functions-host.ts). */
  restUrl: string;
  /** SUPABASE_DB_URL inside the functions. */
  dbUrl: string;
  keys: StackKeys;
  /** How long a function waits for PostgREST before answering 504 (COMINGS_UPSTREAM_TIMEOUT_MS). */
  upstreamTimeoutMs?: number;
  logFile: string;
  timeoutMs?: number;
}

const deno = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'deno');

export async function spawnFunctionsHost(options: FunctionsHostOptions): Promise<SupervisedChild> {
  const child = spawnSupervised(
    'functions',
    deno,
    [
      'run',
      // The functions reach the stack over the network and read their code and node_modules; they
      // write no files, start no processes and load no native code.
      '--allow-net',
      '--allow-env',
      '--allow-read',
      '--allow-sys',
      // The functions' imports resolve through functions/deno.json, the import map that `supabase functions
      // deploy` bundles with; its pinned `npm:` packages are taken from the node_modules that `npm ci`
      // made (the same versions), so nothing is fetched and the stack starts offline.
      '--config',
      'functions/deno.json',
      '--node-modules-dir=manual',
      '--no-lock',
      '--cached-only',
      'stack/functions-host.ts',
    ],
    {
      cwd: PROJECT_ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...(process.env.DENO_DIR ? { DENO_DIR: process.env.DENO_DIR } : {}),
        NO_COLOR: '1',
        // What Supabase puts in every function's environment.
        SUPABASE_URL: options.apiUrl,
        SUPABASE_ANON_KEY: options.keys.anonKey,
        SUPABASE_SERVICE_ROLE_KEY: options.keys.serviceRoleKey,
        SUPABASE_DB_URL: options.dbUrl,
        JWT_SECRET: options.keys.jwtSecret,
        ...(options.upstreamTimeoutMs ? { COMINGS_UPSTREAM_TIMEOUT_MS: String(options.upstreamTimeoutMs) } : {}),
        SUPABASE_INTERNAL_HOST_PORT: String(options.port),
        SUPABASE_INTERNAL_REST_URL: options.restUrl,
      },
      logFile: options.logFile,
    },
  );
  try {
    await waitUntil(
      'functions host',
      async () => (await fetch(`http://127.0.0.1:${options.port}/_internal/health`, { signal: AbortSignal.timeout(1_000) })).ok,
      { timeoutMs: options.timeoutMs ?? 20_000, child },
    );
  } catch (error) {
    await child.stop();
    throw error;
  }
  return child;
}
