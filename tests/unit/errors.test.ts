import { describe, expect, it } from 'vitest';
import {
  ApiError,
  ERROR_STATUS,
  errorBody,
  mapRpcFailure,
  pinRefusalError,
} from '../../functions/_shared/errors.ts';
import { moneyReply, resultReply, rpcData, UnexpectedRpcFailure } from '../../functions/_shared/rpc.ts';

// What PostgREST answers for `raise sqlstate 'PGRST' using message = '{"code":...}'`, as supabase-js
// hands it back.
const raised = (code: string, status: number, details: unknown = null) => ({
  data: null,
  error: { code, message: `refused: ${code}`, details, hint: null },
  status,
});

describe('mapping PostgREST errors to the contract', () => {
  it.each([
    ['insufficient_balance', 409],
    ['already_cancelled', 409],
    ['idempotency_key_reused', 409],
    ['not_shop_member', 403],
    ['insufficient_role', 403],
    ['kiosk_deactivated', 403],
    ['invalid_kiosk_key', 401],
    ['customer_not_found', 404],
    ['invalid_amount', 400],
  ])('keeps the SQL code %s with status %d and its message', (code, status) => {
    const mapped = mapRpcFailure(raised(code, status));
    expect(mapped).toEqual({ kind: 'refusal', error: expect.any(ApiError) });
    const error = (mapped as { error: ApiError }).error;
    expect([error.code, error.status, error.message]).toEqual([code, status, `refused: ${code}`]);
  });

  it('parses details that SQL wrote as a JSON string', () => {
    const mapped = mapRpcFailure(raised('insufficient_balance', 409, '{"balance":500,"amount":1000}'));
    expect((mapped as { error: ApiError }).error.details).toEqual({ balance: 500, amount: 1000 });
  });

  it('keeps details that are plain text as text', () => {
    const mapped = mapRpcFailure(raised('customer_not_found', 404, 'no such customer in this shop'));
    expect((mapped as { error: ApiError }).error.details).toBe('no such customer in this shop');
  });

  it('answers the contract status when PostgREST carried another', () => {
    const mapped = mapRpcFailure(raised('phone_taken', 400));
    expect((mapped as { error: ApiError }).error.status).toBe(409);
  });

  it.each([
    ['a PostgREST code', 'PGRST202', 404],
    ['a constraint violation', '23514', 400],
    ['a permission error', '42501', 401],
    ['an internal_error raised by SQL', 'internal_error', 500],
  ])('treats %s as unexpected, never as a refusal', (_label, code, status) => {
    expect(mapRpcFailure(raised(code, status)).kind).toBe('unexpected');
  });
});

describe('outages are 503 or 504 with Retry-After, never a 500', () => {
  const failure = (code: string, status: number, message = 'failed') => ({ data: null, error: { code, message, details: null, hint: null }, status });
  it.each([
    ['no answer at all (connection refused)', failure('', 0, 'TypeError: fetch failed'), 'service_unavailable', 503, '1'],
    ['the functions\' bound ran out', failure('', 0, 'TimeoutError: Signal timed out.'), 'upstream_timeout', 504, '2'],
    ['PostgREST cannot reach PostgreSQL', failure('PGRST001', 503), 'service_unavailable', 503, '1'],
    ['PostgREST waited too long for a connection', failure('PGRST003', 504), 'upstream_timeout', 504, '2'],
    ['a statement timeout', failure('57014', 500), 'upstream_timeout', 504, '2'],
    ['a lock timeout', failure('55P03', 500), 'upstream_timeout', 504, '2'],
    ['the gateway found PostgREST down', failure('', 503), 'service_unavailable', 503, '1'],
    ['the gateway gave up on PostgREST', failure('', 504), 'upstream_timeout', 504, '2'],
    ['PostgREST lost its connection mid-call (no code, no message)', failure('', 400, ''), 'service_unavailable', 503, '1'],
    ['PostgreSQL shut down under the call', failure('57P01', 503), 'service_unavailable', 503, '1'],
    ['a connection exception', failure('08006', 500), 'service_unavailable', 503, '1'],
  ])('%s', (_label, input, code, status, retryAfter) => {
    const mapped = mapRpcFailure(input);
    expect(mapped.kind).toBe('refusal');
    const error = (mapped as { error: ApiError }).error;
    expect([error.code, error.status, error.headers]).toEqual([code, status, { 'Retry-After': retryAfter }]);
    expect(ERROR_STATUS[error.code]).toBe(status);
  });
});

describe('PIN refusals', () => {
  it('answers a wrong PIN with 401 pin_invalid and the remaining attempts', () => {
    const error = pinRefusalError({ ok: false, code: 'pin_invalid', remaining_attempts: 3, locked_until: null });
    expect([error.status, error.code, error.details]).toEqual([401, 'pin_invalid', { remaining_attempts: 3 }]);
  });

  it('answers a locked PIN with 423 pin_locked and when the lock ends', () => {
    const lockedUntil = '2026-11-24T06:15:00+00:00';
    const error = pinRefusalError({ ok: false, code: 'pin_locked', remaining_attempts: 0, locked_until: lockedUntil });
    expect([error.status, error.code, error.details]).toEqual([
      423,
      'pin_locked',
      { locked_until: lockedUntil, remaining_attempts: 0 },
    ]);
  });

  it('answers a customer without a PIN with 409 pin_not_set', () => {
    const error = pinRefusalError({ ok: false, code: 'pin_not_set', remaining_attempts: 5, locked_until: null });
    expect([error.status, error.code]).toEqual([409, 'pin_not_set']);
  });

  it('turns a kiosk payment refused for its PIN into the error, not a money body', () => {
    expect(() => moneyReply({ ok: false, code: 'pin_invalid', remaining_attempts: 4, locked_until: null })).toThrow(
      expect.objectContaining({ code: 'pin_invalid', status: 401, details: { remaining_attempts: 4 } }),
    );
    expect(() => resultReply({ ok: false, code: 'pin_locked', remaining_attempts: 0, locked_until: null })).toThrow(
      expect.objectContaining({ code: 'pin_locked', status: 423 }),
    );
  });
});

describe('rpc results', () => {
  const transaction = {
    id: '0a9c1c8e-9f0e-4d3c-8a43-3f0e6c1f2b11',
    type: 'deduct',
    amount: 3000,
    balance_after: 7000,
    created_at: '2026-11-24T06:00:00+00:00',
    customer_id: '1b4e28ba-2fa1-41d2-883f-0016d3cca427',
    original_transaction_id: null,
  };

  it('answers a first money call with the transaction and balance and no replay header', () => {
    expect(moneyReply({ transaction, balance: 7000, replayed: false })).toEqual({
      body: { transaction, balance: 7000 },
      headers: {},
    });
  });

  it('answers a replay with the same body and Idempotent-Replayed: true', () => {
    expect(moneyReply({ transaction, balance: 7000, replayed: true })).toEqual({
      body: { transaction, balance: 7000 },
      headers: { 'Idempotent-Replayed': 'true' },
    });
  });

  it('throws the mapped refusal for an rpc error and an unexpected failure for anything else', () => {
    expect(() => rpcData(raised('already_cancelled', 409))).toThrow(
      expect.objectContaining({ code: 'already_cancelled', status: 409 }),
    );
    expect(() => rpcData(raised('42883', 404))).toThrow(UnexpectedRpcFailure);
    expect(() => moneyReply({ balance: 1 })).toThrow(UnexpectedRpcFailure);
  });

  it('puts the request id into the one error shape', () => {
    const error = new ApiError('route_not_found', 'No route.');
    expect(errorBody(error, 'req-1')).toEqual({
      error: { code: 'route_not_found', message: 'No route.', details: null, request_id: 'req-1' },
    });
  });

  it('gives every contract code a 4xx status except internal_error and the two outages', () => {
    const serverSide = new Set(['internal_error', 'service_unavailable', 'upstream_timeout']);
    const statuses = Object.entries(ERROR_STATUS).filter(([code]) => !serverSide.has(code));
    expect(statuses.filter(([, status]) => status < 400 || status > 499)).toEqual([]);
    expect([ERROR_STATUS.internal_error, ERROR_STATUS.service_unavailable, ERROR_STATUS.upstream_timeout]).toEqual([500, 503, 504]);
  });
});
