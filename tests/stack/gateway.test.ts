import { describe, expect, it } from 'vitest';
import { stackEnv } from '../support/index.ts';

const NO_API_KEY = { message: 'No API key found in request', hint: 'No `apikey` request header or url param was found.' };
const INVALID_API_KEY = { message: 'Invalid API key', hint: 'Double check your Supabase `anon` or `service_role` API key.' };

// One representative request per service behind the gateway.
const ROUTES = [
  { service: 'rest', method: 'GET', path: '/rest/v1/shops?select=id' },
  { service: 'auth', method: 'POST', path: '/auth/v1/token?grant_type=password' },
  { service: 'functions', method: 'GET', path: '/functions/v1/health' },
] as const;

async function call(method: string, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${stackEnv().API_URL}${path}`, { method, headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

describe('gateway (the local Kong): apikey check and routing', () => {
  it.each(ROUTES)('a $service request without an apikey gets 401 No API key found', async ({ method, path }) => {
    const { status, body, headers } = await call(method, path, { authorization: `Bearer ${stackEnv().ANON_KEY}` });
    expect(status).toBe(401);
    expect(body).toEqual(NO_API_KEY);
    expect(headers.get('access-control-allow-origin')).toBe('*');
  });

  it.each(ROUTES)('a $service request with an unknown apikey gets 401 Invalid API key', async ({ method, path }) => {
    // A well-formed JWT signed with the right secret is still not one of the project's keys.
    const { ANON_KEY } = stackEnv();
    for (const apikey of ['wrong', `${ANON_KEY}x`]) {
      const { status, body } = await call(method, path, { apikey });
      expect(status).toBe(401);
      expect(body).toEqual(INVALID_API_KEY);
    }
  });

  it('accepts the apikey as a query parameter and does not pass it on to PostgREST as a filter', async () => {
    const { SERVICE_ROLE_KEY } = stackEnv();
    const { status, body } = await call('GET', `/rest/v1/shops?select=id&limit=1&apikey=${SERVICE_ROLE_KEY}`);
    expect(status).toBe(200);
    expect(Array.isArray(body)).toBe(true);
  });

  it('a request with only the apikey acts with that key role (Authorization defaults to it)', async () => {
    const { ANON_KEY, SERVICE_ROLE_KEY } = stackEnv();
    // anon has no grant on shops; service_role has every grant: the two keys reach PostgREST as two roles.
    const asAnon = await call('GET', '/rest/v1/shops?select=id&limit=1', { apikey: ANON_KEY });
    expect(asAnon.status).toBe(401);
    expect(asAnon.body).toMatchObject({ code: '42501', message: 'permission denied for table shops' });
    const asService = await call('GET', '/rest/v1/shops?select=id&limit=1', { apikey: SERVICE_ROLE_KEY });
    expect(asService.status).toBe(200);
  });

  it.each(ROUTES)('a $service CORS preflight passes without an apikey', async ({ path }) => {
    const { status, headers } = await call('OPTIONS', path, {
      origin: 'http://shop.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, apikey, content-type',
    });
    expect([200, 204]).toContain(status);
    expect(headers.get('access-control-allow-origin')).toBe('*');
  });

  it('paths outside the three services, and look-alike prefixes, are 404', async () => {
    const { ANON_KEY } = stackEnv();
    for (const path of ['/', '/storage/v1/object', '/rest/v1shops']) {
      const { status, body } = await call('GET', path, { apikey: ANON_KEY });
      expect(status).toBe(404);
      expect(body).toEqual({ message: 'no Route matched with those values' });
    }
  });

  it('streams request bodies to PostgREST and its status and headers back', async () => {
    const { SERVICE_ROLE_KEY } = stackEnv();
    const response = await fetch(`${stackEnv().API_URL}/rest/v1/shops`, {
      method: 'POST',
      headers: {
        apikey: SERVICE_ROLE_KEY,
        'content-type': 'application/json',
        prefer: 'return=representation',
      },
      body: JSON.stringify([{ name: '게이트웨이 가게 1' }, { name: '게이트웨이 가게 2' }]),
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('content-range')).toBe('*/*');
    const rows = (await response.json()) as { name: string }[];
    expect(rows.map((row) => row.name)).toEqual(['게이트웨이 가게 1', '게이트웨이 가게 2']);
  });
});
