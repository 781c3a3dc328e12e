import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../functions/_shared/errors.ts';
import { createRouter } from '../../functions/_shared/router.ts';
import { UnexpectedRpcFailure } from '../../functions/_shared/rpc.ts';

const router = createRouter('transactions', {
  charge: { POST: async () => ({ body: { balance: 1000 } }) },
  cancel: {
    POST: async () => {
      throw new ApiError('already_cancelled', 'Already cancelled.', { transaction_id: 'abc' });
    },
  },
  broken: {
    POST: async () => {
      throw new UnexpectedRpcFailure({ message: 'relation "public.customerz" does not exist', code: '42P01' });
    },
  },
});

const call = (method: string, path: string) => router(new Request(`http://functions.test${path}`, { method }));

afterEach(() => vi.restoreAllMocks());

describe('routing', () => {
  it.each(['/functions/v1/transactions/charge', '/transactions/charge', '/transactions/charge/'])(
    'routes %s, as both the local host and a hosted project present it',
    async (path) => {
      const response = await call('POST', path);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ balance: 1000 });
    },
  );

  it('answers an unknown sub-path with 404 route_not_found', async () => {
    const response = await call('POST', '/functions/v1/transactions/refund');
    expect(response.status).toBe(404);
    expect((await response.json()).error.code).toBe('route_not_found');
  });

  it('does not treat Object.prototype names as routes or methods', async () => {
    expect((await call('POST', '/transactions/constructor')).status).toBe(404);
    expect((await call('TOSTRING', '/transactions/charge')).status).toBe(405);
  });

  it('answers a wrong method with 405 and an Allow header', async () => {
    const response = await call('GET', '/functions/v1/transactions/charge');
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect((await response.json()).error).toMatchObject({ code: 'method_not_allowed', details: { allow: ['POST'] } });
  });

  it('answers a preflight with 204 and the CORS headers the frontend needs', async () => {
    const response = await call('OPTIONS', '/functions/v1/transactions/charge');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS');
    expect(response.headers.get('access-control-allow-headers')).toContain('idempotency-key');
    expect(response.headers.get('access-control-allow-headers')).toContain('x-kiosk-key');
  });
});

describe('errors', () => {
  it('answers a refusal in the error shape, with CORS and the request id in header and body', async () => {
    const response = await call('POST', '/transactions/cancel');
    const body = await response.json();
    expect(response.status).toBe(409);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-expose-headers')).toContain('x-request-id');
    expect(body).toEqual({
      error: {
        code: 'already_cancelled',
        message: 'Already cancelled.',
        details: { transaction_id: 'abc' },
        request_id: response.headers.get('x-request-id'),
      },
    });
  });

  it('answers an unexpected failure with 500 internal_error, leaking nothing, and logs it with the request id', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const response = await call('POST', '/transactions/broken');
    const text = await response.text();
    const requestId = response.headers.get('x-request-id');

    expect(response.status).toBe(500);
    expect(JSON.parse(text).error).toMatchObject({ code: 'internal_error', details: null, request_id: requestId });
    expect(text).not.toContain('customerz');
    expect(text).not.toContain('42P01');
    expect(text).not.toContain('at ');

    expect(log).toHaveBeenCalledTimes(1);
    const logged = JSON.parse(log.mock.calls[0][0] as string);
    expect(logged).toMatchObject({ level: 'error', request_id: requestId, function: 'transactions', method: 'POST' });
    expect(logged.cause.message).toContain('public.customerz');
  });

  it('gives every request its own id', async () => {
    const [first, second] = await Promise.all([call('POST', '/transactions/charge'), call('POST', '/transactions/charge')]);
    expect(first.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.headers.get('x-request-id')).not.toBe(second.headers.get('x-request-id'));
  });
});
