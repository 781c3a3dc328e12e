import { describe, expect, it } from 'vitest';
import { createShopWithStaff, stackEnv } from '../support/index.ts';
import { anonKey, asStaff, balanceOf, callFunction, expectError, ledgerCount, newIdempotencyKey, shopWithCustomer, signToken } from './http.ts';

const ROUTES = [
  ['customers', 'POST, PATCH'],
  ['transactions/charge', 'POST'],
  ['transactions/deduct', 'POST'],
  ['transactions/cancel', 'POST'],
  ['pin/set', 'POST'],
  ['pin/verify', 'POST'],
  ['pin/unlock', 'POST'],
  ['kiosk/pay', 'POST'],
  ['kiosk/balance', 'POST'],
  ['shop-kiosks', 'POST'],
  ['shop-kiosks/deactivate', 'POST'],
  ['kiosks', 'POST'],
  ['kiosks/deactivate', 'POST'],
] as const;

describe('CORS', () => {
  it.each(ROUTES)('answers a browser preflight for %s with 204 and the headers the frontend sends', async (route, methods) => {
    const response = await fetch(`${stackEnv().API_URL}/functions/v1/${route}`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.comings.kr',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, apikey, content-type, x-client-info, idempotency-key, x-kiosk-key',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-methods')).toBe(`${methods}, OPTIONS`);
    expect(response.headers.get('access-control-allow-headers')).toBe(
      'authorization, x-client-info, apikey, content-type, idempotency-key, x-kiosk-key',
    );
  });

  it('exposes the request id and the replay header to the page', async () => {
    const { staff, customer } = await shopWithCustomer();
    const answer = await callFunction('transactions/charge', asStaff(staff), {
      body: { customer_id: customer.id, amount: 1_000 },
      idempotencyKey: newIdempotencyKey(),
    });
    expect(answer.headers.get('access-control-allow-origin')).toBe('*');
    expect(answer.headers.get('access-control-expose-headers')).toBe('x-request-id, idempotent-replayed, allow, retry-after');
    expect(answer.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('routing and request framing', () => {
  it.each(ROUTES)('answers GET %s with 405 method_not_allowed and Allow: %s', async (route, methods) => {
    const { staff } = await createShopWithStaff();
    const answer = await callFunction(route, asStaff(staff), { method: 'GET' });
    expectError(answer, 405, 'method_not_allowed');
    expect(answer.headers.get('allow')).toBe(methods);
  });

  it.each(['transactions/refund', 'transactions', 'pin', 'kiosk/pay/extra', 'customers/list'])(
    'answers POST %s with 404 route_not_found',
    async (route) => {
      const { staff } = await createShopWithStaff();
      expectError(await callFunction(route, asStaff(staff), { body: {} }), 404, 'route_not_found');
    },
  );

  // Signed in or with the anon key alone, an unknown route is the router's 404, never the gateway's 401.
  it.each([['GET', 'no-such-function', 'staff'], ['GET', 'no-such-function', 'no token'], ['POST', 'refunds/new', 'staff']])(
    'answers %s on an unknown function (%s) with 404 route_not_found in the error JSON, as %s',
    async (method, route, who) => {
      const { staff } = await createShopWithStaff();
      const answer = await callFunction(route, who === 'staff' ? asStaff(staff) : null, { method, ...(method === 'POST' ? { body: {} } : {}) });
      expectError(answer, 404, 'route_not_found');
      expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
    },
  );

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])(
    'refuses a body sent as %s with 415 unsupported_media_type',
    async (contentType) => {
      const { staff, customer } = await shopWithCustomer();
      const answer = await callFunction('transactions/charge', asStaff(staff), {
        rawBody: JSON.stringify({ customer_id: customer.id, amount: 1_000 }),
        idempotencyKey: newIdempotencyKey(),
        headers: { 'content-type': contentType },
      });
      expectError(answer, 415, 'unsupported_media_type');
      expect(await balanceOf(customer.id)).toBe(0);
    },
  );

  it('refuses a body over 16 KiB with 413 payload_too_large and accepts one just under', async () => {
    const { staff, customer } = await shopWithCustomer();
    const base = JSON.stringify({ customer_id: customer.id, amount: 1_000 });
    const padded = (size: number) => base.replace('{', `{${' '.repeat(size - base.length)}`);

    const over = await callFunction('transactions/charge', asStaff(staff), { rawBody: padded(16 * 1024 + 1), idempotencyKey: newIdempotencyKey() });
    expectError(over, 413, 'payload_too_large');
    const under = await callFunction('transactions/charge', asStaff(staff), { rawBody: padded(16 * 1024), idempotencyKey: newIdempotencyKey() });
    expect([under.status, under.body.balance]).toEqual([200, 1_000]);
  });

  it('refuses a 1 MiB body with 413 without a 5xx', async () => {
    const { staff } = await createShopWithStaff();
    const answer = await callFunction('customers', asStaff(staff), { rawBody: `"${'x'.repeat(1024 * 1024)}"` });
    expectError(answer, 413, 'payload_too_large');
  });
});

describe('staff credentials', () => {
  const chargeWith = async (token: string) => {
    const { owner, customer } = await shopWithCustomer();
    const answer = await callFunction('transactions/charge', { token }, {
      body: { customer_id: customer.id, amount: 1_000 },
      idempotencyKey: newIdempotencyKey(),
    });
    expect(await ledgerCount(customer.id)).toBe(0);
    return { answer, owner, customer };
  };

  it('refuses a request without any Authorization header with 401 not_authenticated', async () => {
    const { customer } = await shopWithCustomer();
    const answer = await callFunction('transactions/charge', null, { body: { customer_id: customer.id, amount: 1_000 }, idempotencyKey: newIdempotencyKey() });
    expectError(answer, 401, 'not_authenticated');
    expect(await balanceOf(customer.id)).toBe(0);
  });

  it('refuses the anon key, which is what a signed-out frontend sends, with 401 not_authenticated', async () => {
    const { answer } = await chargeWith(anonKey());
    expectError(answer, 401, 'not_authenticated');
  });

  it('refuses the service role key in place of a user with 401 not_authenticated', async () => {
    const { answer } = await chargeWith(stackEnv().SERVICE_ROLE_KEY);
    expectError(answer, 401, 'not_authenticated');
  });

  it('refuses an expired access token with 401 not_authenticated', async () => {
    const { owner } = await createShopWithStaff();
    const expired = await signToken({ sub: owner.id, exp: Math.floor(Date.now() / 1000) - 60 });
    expectError((await chargeWith(expired)).answer, 401, 'not_authenticated');
  });

  it('refuses a token signed with another secret with 401 not_authenticated', async () => {
    const { owner } = await createShopWithStaff();
    const forged = await signToken({ sub: owner.id }, 'not-the-project-secret-but-32-characters-long');
    expectError((await chargeWith(forged)).answer, 401, 'not_authenticated');
  });

  it('refuses an unsigned alg none token with 401 not_authenticated', async () => {
    const { owner } = await createShopWithStaff();
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: owner.id, role: 'authenticated', exp: now + 600 })}.`;
    expectError((await chargeWith(unsigned)).answer, 401, 'not_authenticated');
  });

  it('refuses a validly signed token whose role is not authenticated with 401 not_authenticated', async () => {
    const { owner } = await createShopWithStaff();
    const { answer } = await chargeWith(await signToken({ sub: owner.id, role: 'anon' }));
    expectError(answer, 401, 'not_authenticated');
  });

  it.each([
    ['another issuer', { iss: 'https://another-project.supabase.co/auth/v1' }],
    ['another audience', { aud: 'service' }],
  ])('refuses a project-signed token with %s with 401 not_authenticated', async (_, claims) => {
    const { answer, owner } = await chargeWith(await signToken({ sub: '00000000-0000-4000-8000-00000000000b', ...claims }));
    expectError(answer, 401, 'not_authenticated');
    // The stack's own sign-in names the Auth URL as issuer and `authenticated` as audience, which the
    // functions accept (every staff test in this folder signs in that way).
    const [, payload] = owner.accessToken.split('.');
    const signedIn = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { iss: string; aud: string };
    expect({ iss: signedIn.iss, aud: signedIn.aud }).toEqual({ iss: `${stackEnv().API_URL}/auth/v1`, aud: 'authenticated' });
  });

  it('refuses a validly signed token of a user who does not exist with 401 not_authenticated', async () => {
    const outsider = await signToken({ sub: '00000000-0000-4000-8000-00000000000a' });
    const { answer } = await chargeWith(outsider);
    expectError(answer, 401, 'not_authenticated');
  });
});
