import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  findSpellingProblem,
  MAX_BODY_BYTES,
  readJsonBody,
  readQuery,
  requireIdempotencyKey,
} from '../../functions/_shared/request.ts';
import { moneyBody, phone, shopQuery } from '../../functions/_shared/schemas.ts';

const CUSTOMER_ID = '1b4e28ba-2fa1-41d2-883f-0016d3cca427';

const post = (body: BodyInit | null, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  new Request('http://functions.test/transactions/charge', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);

async function refusal(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    const { code, status, details } = error as { code: string; status: number; details: unknown };
    return { code, status, details };
  }
  throw new Error('expected a refusal');
}

describe('reading a JSON body', () => {
  it('parses a valid body with its charset parameter', async () => {
    const body = await readJsonBody(
      post(JSON.stringify({ customer_id: CUSTOMER_ID, amount: 1000 }), { 'content-type': 'application/json; charset=utf-8' }),
      moneyBody,
    );
    expect(body).toEqual({ customer_id: CUSTOMER_ID, amount: 1000 });
  });

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['form data', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['no content type', {}],
  ])('refuses %s with 415 unsupported_media_type', async (_label, headers) => {
    const result = await refusal(readJsonBody(post('{}', headers as Record<string, string>), moneyBody));
    expect([result.status, result.code]).toEqual([415, 'unsupported_media_type']);
  });

  it.each(['{"amount":', 'not json', '', "{'a':1}"])('refuses %j with 400 invalid_json', async (text) => {
    const result = await refusal(readJsonBody(post(text), moneyBody));
    expect([result.status, result.code]).toEqual([400, 'invalid_json']);
  });

  it('refuses invalid UTF-8 with 400 invalid_json', async () => {
    const result = await refusal(readJsonBody(post(new Uint8Array([0x7b, 0xff, 0x7d])), moneyBody));
    expect([result.status, result.code]).toEqual([400, 'invalid_json']);
  });

  it('refuses a body one byte over 16 KiB with 413 while accepting exactly 16 KiB', async () => {
    const exact = JSON.stringify({ customer_id: CUSTOMER_ID, amount: 1, memo: '' }).length;
    const fits = JSON.stringify({ customer_id: CUSTOMER_ID, amount: 1, memo: '' }).replace('}', `${' '.repeat(MAX_BODY_BYTES - exact)}}`);
    expect(new TextEncoder().encode(fits).byteLength).toBe(16_384);
    await expect(readJsonBody(post(fits), moneyBody)).resolves.toEqual({ customer_id: CUSTOMER_ID, amount: 1, memo: '' });

    const over = `${fits} `;
    const result = await refusal(readJsonBody(post(over), moneyBody));
    expect([result.status, result.code]).toEqual([413, 'payload_too_large']);
  });

  it('stops reading a streamed body without Content-Length once it passes the limit', async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(4096).fill(0x20));
      },
    });
    const result = await refusal(readJsonBody(post(endless), moneyBody));
    expect([result.status, result.code]).toEqual([413, 'payload_too_large']);
    expect(pulled).toBeLessThanOrEqual(6);
  });

  it('refuses a body longer than the Content-Length it declares within the limit', async () => {
    const request = post(' '.repeat(MAX_BODY_BYTES + 1), { 'content-type': 'application/json', 'content-length': '2' });
    const result = await refusal(readJsonBody(request, moneyBody));
    expect([result.status, result.code]).toEqual([413, 'payload_too_large']);
  });

  it('reads a body with its Content-Length as one without', async () => {
    const text = JSON.stringify({ customer_id: CUSTOMER_ID, amount: 1000 });
    const headers = { 'content-type': 'application/json', 'content-length': String(text.length) };
    expect(await readJsonBody(post(text, headers), moneyBody)).toEqual({ customer_id: CUSTOMER_ID, amount: 1000 });
    const result = await refusal(readJsonBody(post('{"amount":1e3}', { ...headers, 'content-length': '14' }), moneyBody));
    expect([result.status, result.code]).toEqual([400, 'validation_failed']);
  });

  it('refuses a declared Content-Length over the limit before reading', async () => {
    const request = post('{}', { 'content-type': 'application/json', 'content-length': '1000000' });
    const result = await refusal(readJsonBody(request, moneyBody));
    expect([result.status, result.code]).toEqual([413, 'payload_too_large']);
  });

  it.each(['1e3', '1E3', '1000.0', '1.5e3', '10e-1'])(
    'refuses the amount spelled %s, which JSON.parse would read as a number',
    async (spelling) => {
      const result = await refusal(readJsonBody(post(`{"customer_id":"${CUSTOMER_ID}","amount":${spelling}}`), moneyBody));
      expect([result.status, result.code]).toEqual([400, 'validation_failed']);
      expect(result.details).toEqual([expect.objectContaining({ message: expect.stringContaining(spelling) })]);
    },
  );

  it('reports zod issues as details for a body of the wrong shape', async () => {
    const result = await refusal(readJsonBody(post(JSON.stringify({ customer_id: CUSTOMER_ID, amount: 0 })), moneyBody));
    expect([result.status, result.code]).toEqual([400, 'validation_failed']);
    expect(result.details).toEqual([expect.objectContaining({ path: ['amount'], code: 'too_small' })]);
  });
});

describe('finding non-integer number spellings', () => {
  it('ignores exponents and dots inside strings, true, false and null', () => {
    expect(findSpellingProblem('{"memo":"1e3 and 2.5","a":true,"b":false,"c":null,"d":[-12,0]}')).toBeNull();
  });

  it('ignores escaped quotes inside strings', () => {
    expect(findSpellingProblem('{"memo":"say \\"1.5\\"","amount":15}')).toBeNull();
    expect(findSpellingProblem('{"memo":"\\\\","amount":1.5}')).toEqual({ nonIntegerNumber: '1.5' });
  });

  it('finds a negative exponent spelling in a nested array', () => {
    expect(findSpellingProblem('{"a":[1,[-2E+2]]}')).toEqual({ nonIntegerNumber: '-2E+2' });
  });
});

describe('finding a key named twice in one object', () => {
  it('finds the duplicate, also when one spelling is escaped, and at any depth', () => {
    expect(findSpellingProblem('{"amount":1,"amount":30000}')).toEqual({ duplicateKey: 'amount' });
    expect(findSpellingProblem('{"amount":1,"\\u0061mount":2}')).toEqual({ duplicateKey: 'amount' });
    expect(findSpellingProblem('{"a":[{"x":1},{"y":2,"y":3}]}')).toEqual({ duplicateKey: 'y' });
  });

  it('allows the same key in different objects, and keys that look alike inside strings', () => {
    expect(findSpellingProblem('{"a":{"id":1},"b":{"id":2},"c":[{"id":3}],"id":4}')).toBeNull();
    expect(findSpellingProblem('{"memo":"\\"memo\\":1","amount":5}')).toBeNull();
    expect(findSpellingProblem('[1,"a","a",{"k":"k"}]')).toBeNull();
  });

  it('wins over a number spelling found before it, as either alone refuses the body', () => {
    expect(findSpellingProblem('{"amount":1.5,"memo":"a","memo":"b"}')).toEqual({ duplicateKey: 'memo' });
    expect(findSpellingProblem('{"a":1e3,"b":[2.0]}')).toEqual({ nonIntegerNumber: '1e3' });
  });

  it('makes readJsonBody refuse the body as invalid_json', async () => {
    const request = new Request('http://x/', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"customer_id":"${CUSTOMER_ID}","amount":1,"amount":30000}`,
    });
    await expect(readJsonBody(request, moneyBody)).rejects.toMatchObject({ code: 'invalid_json', status: 400, details: { key: 'amount' } });
  });
});

describe('reading a query string', () => {
  const SHOP_ID = '2c5ea4c0-4067-41a1-9e1b-6b8f0d3c2f11';
  const get = (query: string) => new Request(`http://functions.test/shops/settings?${query}`);
  const syncRefusal = (read: () => unknown) => refusal(Promise.resolve().then(read));

  it('parses valid parameters', () => {
    expect(readQuery(get(`shop_id=${SHOP_ID}`), shopQuery)).toEqual({ shop_id: SHOP_ID });
  });

  it('refuses a parameter given twice with 400 validation_failed naming it, as a body refuses a key named twice', async () => {
    const result = await syncRefusal(() => readQuery(get(`shop_id=${SHOP_ID}&shop_id=${CUSTOMER_ID}`), shopQuery));
    expect([result.status, result.code]).toEqual([400, 'validation_failed']);
    expect(result.details).toEqual([{ code: 'custom', path: ['shop_id'], message: 'must be given once' }]);
  });

  it('refuses a parameter given twice even with the same value', async () => {
    const result = await syncRefusal(() => readQuery(get(`shop_id=${SHOP_ID}&shop_id=${SHOP_ID}`), shopQuery));
    expect(result.code).toBe('validation_failed');
  });

  it('answers a bad phone with invalid_phone, as a body does', async () => {
    const query = z.strictObject({ phone });
    const fromQuery = await syncRefusal(() => readQuery(get('phone=12345'), query));
    const fromBody = await refusal(readJsonBody(post(JSON.stringify({ phone: '12345' })), query));
    expect([fromQuery.status, fromQuery.code]).toEqual([400, 'invalid_phone']);
    expect(fromQuery).toEqual(fromBody);
  });

  it('refuses any other problem with 400 validation_failed and the zod issues', async () => {
    const result = await syncRefusal(() => readQuery(get('shop_id=nope'), shopQuery));
    expect([result.status, result.code]).toEqual([400, 'validation_failed']);
    expect(result.details).toEqual([expect.objectContaining({ path: ['shop_id'] })]);
  });
});

describe('the Idempotency-Key header', () => {
  it('is returned as sent', () => {
    expect(requireIdempotencyKey(post('{}', { 'idempotency-key': 'kiosk-7-pay-000123' }))).toBe('kiosk-7-pay-000123');
  });

  it.each([
    ['missing', {}],
    ['empty', { 'idempotency-key': '' }],
    ['too long', { 'idempotency-key': 'k'.repeat(201) }],
  ])('refuses a key that is %s with 400 idempotency_key_required', (_label, headers) => {
    expect(() => requireIdempotencyKey(post('{}', headers as Record<string, string>))).toThrow(
      expect.objectContaining({ code: 'idempotency_key_required', status: 400 }),
    );
  });
});
