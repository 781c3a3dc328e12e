// What a hostile or broken client gets at the edges of the gateway, the auth subset and the functions
// host: always the error JSON with its status, never a reset connection, a bare Node answer or a 500.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { asStaff, callFunction, expectError, ledgerCount, newIdempotencyKey, shopWithCustomer } from '../functions/http.ts';
import { gatewayHeaders, send, stackEnv } from '../support/index.ts';

/** Sends bytes as they are and reads the whole answer until the server closes the connection. */
function rawRequest(request: string): Promise<{ status: number; headers: string; body: string }> {
  const { API_URL } = stackEnv();
  const { hostname, port } = new URL(API_URL);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head, body = ''] = text.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body });
    });
  });
}

/** A POST of `bytes` streamed in chunks without a Content-Length, so that only reading it shows its size. */
const postStream = (path: string, headers: Record<string, string>, bytes: number) =>
  send({ method: 'POST', path, headers: { 'content-type': 'application/json', ...headers }, body: 'x'.repeat(bytes), chunked: true });

/** A shop whose customer holds 50,000원 from one charge: one ledger row, and no refused request may add another. */
const shopWithOneCharge = () => shopWithCustomer({ balance: 50_000 });

describe('bodies over the limit are read, discarded and answered 413, never reset', () => {
  it('a 1 MiB streamed body to a function answers payload_too_large in the error contract', async () => {
    const shop = await shopWithOneCharge();
    const answer = await postStream(
      'functions/v1/transactions/charge',
      gatewayHeaders(shop.owner.accessToken, { 'idempotency-key': newIdempotencyKey() }),
      1024 * 1024,
    );
    expect([answer.status, answer.body.error.code, answer.body.error.details]).toEqual([413, 'payload_too_large', { limit_bytes: 16384 }]);
    expect(await ledgerCount(shop.customer.id)).toBe(1);
  });

  it('a 1 MiB streamed body to /auth/v1/token answers GoTrue\'s 413', async () => {
    const answer = await postStream('auth/v1/token?grant_type=password', gatewayHeaders(null), 1024 * 1024);
    expect([answer.status, answer.body]).toEqual([413, { code: 413, error_code: 'request_too_large', msg: 'Request body too large' }]);
  });
});

describe('requests Node refuses before any handler still get the gateway\'s JSON', () => {
  it('a 40 KB header answers 431 with a JSON message', async () => {
    const answer = await rawRequest(`GET /rest/v1/customers HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(40_000)}\r\n\r\n`);
    expect(answer.status).toBe(431);
    expect(answer.headers).toContain('content-type: application/json');
    expect(JSON.parse(answer.body)).toEqual({ message: 'Request header or URL too large' });
  });

  it('a 40 KB URL answers 431 with a JSON message', async () => {
    const answer = await rawRequest(`GET /rest/v1/customers?name=eq.${'a'.repeat(40_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect([answer.status, JSON.parse(answer.body)]).toEqual([431, { message: 'Request header or URL too large' }]);
  });

  it('a malformed header line answers 400 with a JSON message', async () => {
    const answer = await rawRequest('GET /rest/v1/customers HTTP/1.1\r\nHost: x\r\nNot a header\r\n\r\n');
    expect([answer.status, JSON.parse(answer.body)]).toEqual([400, { message: 'Bad request' }]);
    expect(answer.headers).toContain('content-type: application/json');
  });
});

describe('JSON and filters that mean two things, or nothing', () => {
  it('a body naming a key twice is refused as invalid_json and moves no money', async () => {
    const shop = await shopWithOneCharge();
    const answer = await callFunction('transactions/charge', asStaff(shop.owner), {
      rawBody: `{"customer_id":"${shop.customer.id}","amount":1,"amount":30000}`,
      idempotencyKey: newIdempotencyKey(),
    });
    const error = expectError(answer, 400, 'invalid_json');
    expect(error.details).toEqual({ key: 'amount' });
    // The same key spelled with an escape is the same key.
    const escaped = await callFunction('transactions/charge', asStaff(shop.owner), {
      rawBody: `{"customer_id":"${shop.customer.id}","amount":1,"\\u0061mount":30000}`,
      idempotencyKey: newIdempotencyKey(),
    });
    expectError(escaped, 400, 'invalid_json');
    expect(await ledgerCount(shop.customer.id)).toBe(1);
  });

  it('a REST filter that is not UTF-8 answers 400, not 500', async () => {
    // The owner reads one customer, 김하늘, so the empty answers below show each filter was applied.
    const shop = await shopWithCustomer();
    const { API_URL, ANON_KEY } = stackEnv();
    const response = await fetch(`${API_URL}/rest/v1/customers?name=eq.%ff%fe`, {
      headers: { apikey: ANON_KEY, authorization: `Bearer ${shop.owner.accessToken}` },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'PGRST100' });
    // A `%` that starts no escape is a literal, as PostgREST reads it, and valid escapes pass.
    for (const query of ['name=like.50%', 'name=eq.%EA%B9%80']) {
      const passed = await fetch(`${API_URL}/rest/v1/customers?${query}`, {
        headers: { apikey: ANON_KEY, authorization: `Bearer ${shop.owner.accessToken}` },
      });
      expect([query, passed.status, await passed.json()]).toEqual([query, 200, []]);
    }
  });
});

describe('small leaks', () => {
  it('/functions/v1/_internal is not served through the gateway, with either key', async () => {
    const { API_URL, ANON_KEY, SERVICE_ROLE_KEY } = stackEnv();
    for (const key of [ANON_KEY, SERVICE_ROLE_KEY]) {
      for (const path of ['/functions/v1/_internal', '/functions/v1/_internal/health', '/functions/v1/_shared/errors.ts']) {
        const response = await fetch(`${API_URL}${path}`, { headers: { apikey: key } });
        expect([path, response.status, await response.json()]).toEqual([path, 404, { message: 'no Route matched with those values' }]);
      }
    }
  });

  it('planned and estimated counts are not given to a signed-in user; exact counts stay scoped by RLS', async () => {
    // The other shop's charge is a row the exact count must leave out.
    const [shop] = await Promise.all([shopWithOneCharge(), shopWithOneCharge()]);
    const { API_URL, ANON_KEY, SERVICE_ROLE_KEY } = stackEnv();
    const ledger = (token: string, prefer: string) =>
      fetch(`${API_URL}/rest/v1/transactions?select=id&limit=1`, {
        headers: { apikey: ANON_KEY, authorization: `Bearer ${token}`, prefer },
      });
    for (const prefer of ['count=planned', 'count=estimated', 'return=representation, count=planned']) {
      const response = await ledger(shop.staff.accessToken, prefer);
      expect([prefer, response.status, response.headers.get('content-range')]).toEqual([prefer, 200, '0-0/*']);
    }
    const exact = await ledger(shop.staff.accessToken, 'count=exact');
    expect(exact.headers.get('content-range')).toBe('0-0/1');
    // The service role still may ask the planner.
    const service = await fetch(`${API_URL}/rest/v1/transactions?select=id&limit=1`, {
      headers: { apikey: SERVICE_ROLE_KEY, prefer: 'count=planned' },
    });
    expect(service.headers.get('content-range')).toMatch(/^0-0\/\d+$/);
  });
});
