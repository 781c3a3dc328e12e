// The shops' web frontend calls the functions from its own origin with supabase-js, which sends
// `authorization`, `apikey`, `x-client-info` and `content-type`; our own headers are added to those.
// A browser only lets the page read a response header that is exposed, hence the expose list.
export function corsHeaders(allowedMethods: readonly string[]): Record<string, string> {
  return {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Methods': [...allowedMethods, 'OPTIONS'].join(', '),
    'Access-Control-Allow-Headers':
      'authorization, x-client-info, apikey, content-type, idempotency-key, x-kiosk-key',
    'Access-Control-Expose-Headers': 'x-request-id, idempotent-replayed, allow, retry-after',
    'Access-Control-Max-Age': '86400',
  };
}
