import { createClient } from '@supabase/supabase-js';
import { createStaffVerifier } from './auth.ts';
import type { Database } from './database.types.ts';

function requiredEnv(name: string): string {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set; the functions host must provide it`);
  return value;
}

const supabaseUrl = requiredEnv('SUPABASE_URL');

// Every write goes through the service role: the SQL functions are executable by service_role only
// and receive the acting staff user or kiosk key as arguments, which they check themselves.
export const supabase = createClient<Database>(supabaseUrl, requiredEnv('SUPABASE_SERVICE_ROLE_KEY'), {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
});

export const staffUserId = createStaffVerifier({
  jwtSecret: Deno.env.get('JWT_SECRET') || undefined,
  supabaseUrl,
  // Supabase's template reads SB_JWT_ISSUER first: under `supabase functions serve` the functions see
  // SUPABASE_URL as the Docker-internal http://kong:8000, while tokens name the public API URL.
  issuer: Deno.env.get('SB_JWT_ISSUER') || `${supabaseUrl}/auth/v1`,
});
