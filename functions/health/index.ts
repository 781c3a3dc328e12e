// Health of the path every money call takes: this function runs, and the database answers through
// PostgREST. k6's setup() and the tests call it before they start.
const restRoot = `${Deno.env.get('SUPABASE_URL')}/rest/v1/`;
const serviceRoleKey = Deno.env.get('SUPABASE_SERVICE_ROLE_KEY') ?? '';
const DATABASE_TIMEOUT_MS = 3_000;

const corsHeaders = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Headers': 'authorization, x-client-info, apikey, content-type',
  'Access-Control-Allow-Methods': 'GET, OPTIONS',
};

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...corsHeaders, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
  });
}

/** PostgREST's root lists what the role may reach, which it reads from the database on every call. */
async function databaseStatus(): Promise<number | 'unreachable'> {
  try {
    const response = await fetch(restRoot, {
      headers: { apikey: serviceRoleKey, Authorization: `Bearer ${serviceRoleKey}` },
      signal: AbortSignal.timeout(DATABASE_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return response.status;
  } catch {
    return 'unreachable';
  }
}

Deno.serve(async (req) => {
  if (req.method === 'OPTIONS') return new Response(null, { status: 204, headers: corsHeaders });
  if (req.method !== 'GET') {
    return json(405, { error: { code: 'method_not_allowed', message: `${req.method} is not allowed here; use GET`, details: null } });
  }
  const started = performance.now();
  const rest = await databaseStatus();
  const latencyMs = Math.round(performance.now() - started);
  const healthy = rest === 200;
  return json(healthy ? 200 : 503, {
    status: healthy ? 'ok' : 'unavailable',
    database: healthy ? 'ok' : 'unreachable',
    rest_status: rest,
    latency_ms: latencyMs,
  });
});
