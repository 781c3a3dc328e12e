import { decodeJwt, SignJWT, UnsecuredJWT, type JWTPayload } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { anonClient, closeDb, createShopWithStaff, db, stackEnv, type ShopWithStaff } from '../support/index.ts';

afterAll(closeDb);

const now = () => Math.floor(Date.now() / 1000);

function sign(claims: JWTPayload, secret = stackEnv().JWT_SECRET) {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

/** The forgeries every verifier must refuse, each made from a real member's claims. */
async function forgedTokens(shopA: ShopWithStaff, shopB: ShopWithStaff): Promise<Record<string, string>> {
  const genuine = shopA.staff.accessToken;
  const claims = decodeJwt(genuine);
  const [header, , signature] = genuine.split('.');
  const otherSub = Buffer.from(JSON.stringify({ ...claims, sub: shopB.owner.id })).toString('base64url');
  return {
    'tampered payload (another sub, same signature)': `${header}.${otherSub}.${signature}`,
    expired: await sign({ ...claims, iat: now() - 7200, exp: now() - 3600 }),
    'signed with another secret': await sign(claims, 'another-secret-that-is-at-least-32-characters'),
    'alg none': new UnsecuredJWT(claims).encode(),
  };
}

async function restAs(token: string) {
  const { API_URL, ANON_KEY } = stackEnv();
  const response = await fetch(`${API_URL}/rest/v1/shops?select=id`, {
    headers: { apikey: ANON_KEY, authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: (await response.json()) as unknown };
}

async function healthAs(token: string) {
  const { API_URL, ANON_KEY } = stackEnv();
  const response = await fetch(`${API_URL}/functions/v1/health`, {
    headers: { apikey: ANON_KEY, authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: (await response.json()) as unknown };
}

describe('JWTs across PostgREST, SQL and the functions', () => {
  it("a member's select through PostgREST returns their own shop only", async () => {
    // A second shop exists for RLS to hide.
    const [shopA] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    const { data, error } = await shopA.staff.client.from('shops').select('id, name');
    expect(error).toBeNull();
    expect(data).toEqual([{ id: shopA.shop.id, name: shopA.shop.name }]);
  });

  it('auth.uid() inside SQL equals the JWT sub', async () => {
    const shop = await createShopWithStaff();
    const claims = decodeJwt(shop.owner.accessToken);
    const client = await db().connect();
    try {
      await client.query('begin');
      // What PostgREST does for each request: switch to the JWT's role and publish its claims.
      await client.query('set local role authenticated');
      await client.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify(claims)]);
      const { rows } = await client.query<{ uid: string; role: string; email: string }>(
        "select auth.uid() as uid, auth.role() as role, auth.jwt() ->> 'email' as email",
      );
      expect(rows).toEqual([{ uid: shop.owner.id, role: 'authenticated', email: shop.owner.email }]);
    } finally {
      await client.query('rollback');
      client.release();
    }
  });

  it("PostgREST hands the token's sub to auth.uid(): RLS shows each member exactly their shop's members", async () => {
    // A first shop's members exist for RLS to hide.
    const [, shopB] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    const { data, error } = await shopB.manager.client.from('shop_members').select('user_id, role').order('role');
    expect(error).toBeNull();
    expect(data).toEqual([
      { user_id: shopB.manager.id, role: 'manager' },
      { user_id: shopB.owner.id, role: 'owner' },
      { user_id: shopB.staff.id, role: 'staff' },
    ]);
  });

  it('PostgREST refuses every forged token with 401', async () => {
    const [shopA, shopB] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    const results: Record<string, { status: number; code: unknown }> = {};
    for (const [name, token] of Object.entries(await forgedTokens(shopA, shopB))) {
      const { status, body } = await restAs(token);
      results[name] = { status, code: (body as { code?: unknown }).code };
    }
    expect(results).toEqual({
      'tampered payload (another sub, same signature)': { status: 401, code: 'PGRST301' },
      expired: { status: 401, code: 'PGRST301' },
      'signed with another secret': { status: 401, code: 'PGRST301' },
      'alg none': { status: 401, code: 'PGRST301' },
    });
  });

  it('the functions host refuses every forged token with 401 before a verify_jwt function runs', async () => {
    const [shopA, shopB] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    const results: Record<string, unknown> = {};
    for (const [name, token] of Object.entries(await forgedTokens(shopA, shopB))) results[name] = await healthAs(token);
    const refused = { status: 401, body: { msg: 'Invalid JWT' } };
    expect(results).toEqual({
      'tampered payload (another sub, same signature)': refused,
      expired: refused,
      'signed with another secret': refused,
      'alg none': refused,
    });
    expect(await healthAs(shopA.staff.accessToken)).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('a verify_jwt = false function (kiosk) gets the request whatever the token, and judges it itself', async () => {
    const { API_URL, ANON_KEY } = stackEnv();
    const response = await fetch(`${API_URL}/functions/v1/kiosk/balance`, {
      method: 'POST',
      headers: { apikey: ANON_KEY, authorization: 'Bearer not-a-jwt', 'content-type': 'application/json' },
      body: JSON.stringify({ phone: '010-0000-0000', pin: '0000' }),
    });
    expect(response.status).toBe(401);
    // The kiosk function's own refusal (no device key), not the host's `{"msg":"Invalid JWT"}`.
    expect(await response.json()).toMatchObject({ error: { code: 'invalid_kiosk_key' } });
  });
});

describe('functions through supabase-js', () => {
  it('health answers ok with the database reachable through PostgREST', async () => {
    const { data, error } = await anonClient().functions.invoke('health', { method: 'GET' });
    expect(error).toBeNull();
    expect(data).toMatchObject({ status: 'ok', database: 'ok', rest_status: 200 });
  });
});
