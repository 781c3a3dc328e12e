import { createClient } from '@supabase/supabase-js';
import { createStaffVerifier } from './auth.ts';
import type { Database } from './database.types.ts';

function requiredEnv(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set; the functions host must provide it`);
  return value;
}

const supabaseUrl = requiredEnv('SUPABASE_URL');

// How long one call waits for PostgREST: above the API roles' 8 s statement timeout, so that a slow
// statement is cut (and rolled back) by PostgreSQL first; past it the call answers 504 (errors.ts).
const DEFAULT_UPSTREAM_TIMEOUT_MS = 10_000;
const upstreamTimeoutMs = Number(Deno.env.get('COMINGS_UPSTREAM_TIMEOUT_MS')) || DEFAULT_UPSTREAM_TIMEOUT_MS;

function boundedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const bound = AbortSignal.timeout(upstreamTimeoutMs);
  return fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, bound]) : bound });
}

// Every write goes through the service role: the SQL functions are executable by service_role only
// and receive the acting staff user or kiosk key as arguments, which they check themselves.
export const supabase = createClient<Database>(supabaseUrl, requiredEnv('SUPABASE_SERVICE_ROLE_KEY'), {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  global: { fetch: boundedFetch },
});

export const staffActor = createStaffVerifier({
  jwtSecret: Deno.env.get('JWT_SECRET') || undefined,
  supabaseUrl,
  // Supabase's template reads SB_JWT_ISSUER first: under `supabase functions serve` the functions see
  // SUPABASE_URL as the Docker-internal http://kong:8000, while tokens name the public API URL.
  issuer: Deno.env.get('SB_JWT_ISSUER') || `${supabaseUrl}/auth/v1`,
});
