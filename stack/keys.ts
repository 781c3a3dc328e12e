// The Supabase CLI's well-known local secrets, so that tools and docs written for `supabase start`
// work unchanged against this stack. Never use them on a real project: each can be overridden.
const LOCAL_JWT_SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';
const LOCAL_ANON_KEY =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0';
const LOCAL_SERVICE_ROLE_KEY =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4MzgxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU';

export interface StackKeys {
  jwtSecret: string;
  anonKey: string;
  serviceRoleKey: string;
}

export function stackKeys(env: NodeJS.ProcessEnv = process.env): StackKeys {
  return {
    jwtSecret: env.JWT_SECRET ?? LOCAL_JWT_SECRET,
    anonKey: env.ANON_KEY ?? LOCAL_ANON_KEY,
    serviceRoleKey: env.SERVICE_ROLE_KEY ?? LOCAL_SERVICE_ROLE_KEY,
  };
}

/**
 * The JWT secret as an HMAC-SHA-256 key for jose, imported once: handing jose the raw secret would
 * import a fresh key on every sign and verify. A secret WebCrypto refuses fails where the key is used,
 * as the raw secret did, not here.
 */
export function importJwtSecret(jwtSecret: string, usages: KeyUsage[]): Promise<CryptoKey> {
  const key = crypto.subtle.importKey('raw', new TextEncoder().encode(jwtSecret), { name: 'HMAC', hash: 'SHA-256' }, false, usages);
  key.catch(() => {});
  return key;
}
