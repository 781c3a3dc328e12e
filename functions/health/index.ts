// Health of the path every money call takes: this function runs, and the database answers through
// PostgREST. k6's setup() and the tests call it before they start.
import { createRouter } from '../_shared/router.ts';

const restRoot = `${Deno.env.get('SUPABASE_URL')}/rest/v1/`;
const serviceRoleKey = Deno.env.get('SUPABASE_SERVICE_ROLE_KEY') ?? '';
const DATABASE_TIMEOUT_MS = 3_000;

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

Deno.serve(
  createRouter('health', {
    '': {
      GET: async () => {
        const started = performance.now();
        const rest = await databaseStatus();
        const healthy = rest === 200;
        return {
          status: healthy ? 200 : 503,
          headers: { 'Cache-Control': 'no-store' },
          body: {
            status: healthy ? 'ok' : 'unavailable',
            database: healthy ? 'ok' : 'unreachable',
            rest_status: rest,
            latency_ms: Math.round(performance.now() - started),
          },
        };
      },
    },
  }),
);
