// The one error contract of docs/contract.md: every refusal, whether decided here (auth, zod, body
// limits, routing) or raised by the SQL functions through PostgREST, leaves as
// `{ error: { code, message, details, request_id } }` with the status fixed by the code.

import { ERROR_STATUS, RETRY_AFTER_SECONDS } from './error_status.ts';

export { ERROR_STATUS };

export type ErrorCode = keyof typeof ERROR_STATUS;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: unknown = null,
    // Response headers that belong to the refusal itself, such as `Allow` on a 405.
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_STATUS[code];
  }
}

// A refusal that the caller may see, or an unexpected failure that must be logged and hidden.
export type MappedFailure =
  | { kind: 'refusal'; error: ApiError }
  | { kind: 'unexpected'; cause: unknown };

// What supabase-js hands back next to `data` on a failed rpc: PostgREST's error body plus the status.
export interface RpcFailure {
  error: { code?: unknown; message?: unknown; details?: unknown; hint?: unknown } | null;
  status: number;
}

// The SQL functions raise `sqlstate 'PGRST'` with a JSON message whose `code` is one of ours and a
// status PostgREST sends as is. An outage (no answer, PostgREST or PostgreSQL down or too slow) is
// 503 or 504 with Retry-After (upstreamOutage). Anything else (another PostgREST PGRSTxxx code, a bare
// SQLSTATE such as a constraint violation) was not meant for the caller: it becomes a 500 and the
// original goes to the log only.
export function mapRpcFailure(failure: RpcFailure): MappedFailure {
  const outage = upstreamOutage(failure);
  if (outage) return { kind: 'refusal', error: outage };
  const code = failure.error?.code;
  if (!isErrorCode(code) || code === 'internal_error') {
    return { kind: 'unexpected', cause: failure };
  }
  // The code fixes the status (ApiError reads ERROR_STATUS); that SQL raises each code with the same
  // status is proved by tests/database/error_table.test.ts, not watched for at run time.
  const message = typeof failure.error?.message === 'string' ? failure.error.message : code;
  return { kind: 'refusal', error: new ApiError(code, message, parseDetails(failure.error?.details)) };
}

// PostgREST's answers when it cannot reach PostgreSQL (PGRST000-002), or waited too long for one of its
// connections (PGRST003); SQLSTATEs of a statement cut short by the API roles' statement or lock timeout.
// Connection exceptions (class 08) and a server shutting down or crashing under the call (57P01-57P03).
const DATABASE_UNAVAILABLE = new Set(['PGRST000', 'PGRST001', 'PGRST002']);
const DATABASE_GONE = /^(08|57P0)/;
const TOO_SLOW = new Set(['PGRST003', '57014', '55P03']);

function upstreamError(code: 'service_unavailable' | 'upstream_timeout'): ApiError {
  const message =
    code === 'service_unavailable'
      ? 'The service is briefly unavailable. Retry shortly; a money call with the same Idempotency-Key applies at most once.'
      : 'The database did not answer in time. Retry with the same Idempotency-Key: it tells whether the first call applied.';
  return new ApiError(code, message, null, { 'Retry-After': RETRY_AFTER_SECONDS[code] });
}

// An outage is not the caller's fault nor a bug: 503 when PostgREST or PostgreSQL cannot be reached
// (status 0 is no HTTP answer at all), 504 when the bounded wait ran out. SQL never raises a 502-504 of
// its own, so those statuses, with whatever body (Kong's `{message}`, PostgREST's own), are outages too.
function upstreamOutage(failure: RpcFailure): ApiError | null {
  const code = String(failure.error?.code ?? '');
  if (failure.status === 0) {
    const timedOut = String(failure.error?.message ?? '').startsWith('TimeoutError');
    return upstreamError(timedOut ? 'upstream_timeout' : 'service_unavailable');
  }
  if (TOO_SLOW.has(code) || failure.status === 504) return upstreamError('upstream_timeout');
  if (DATABASE_UNAVAILABLE.has(code) || DATABASE_GONE.test(code)) return upstreamError('service_unavailable');
  if (failure.status === 502 || failure.status === 503) return upstreamError('service_unavailable');
  // PostgREST whose connection broke mid-call (PostgreSQL killed under it) answers 400 with an error
  // that has neither code nor message (seen in the crash drill); no statement refused anything.
  if (code === '' && failure.error?.message === '') return upstreamError('service_unavailable');
  return null;
}

// PostgREST 12 carries a raised `details` only as a string (or null), so SQL writes its structured
// details as JSON text; they reach the caller as the object they were.
function parseDetails(details: unknown): unknown {
  if (typeof details !== 'string') return details ?? null;
  try {
    return JSON.parse(details);
  } catch {
    return details;
  }
}

export interface PinResult {
  ok: boolean;
  code: string | null;
  remaining_attempts: number;
  locked_until: string | null;
}

export function isPinRefusal(value: unknown): value is PinResult & { ok: false } {
  return typeof value === 'object' && value !== null && (value as { ok?: unknown }).ok === false;
}

// A refused PIN is returned by SQL, not raised, so that the failure counter's increment commits.
export function pinRefusalError(result: PinResult): ApiError {
  switch (result.code) {
    case 'pin_locked':
      return new ApiError('pin_locked', 'The PIN is locked after too many wrong attempts.', {
        locked_until: result.locked_until,
        remaining_attempts: result.remaining_attempts,
      });
    case 'pin_not_set':
      return new ApiError('pin_not_set', 'This customer has no PIN yet.', null);
    case 'pin_invalid':
      return new ApiError('pin_invalid', 'The PIN is wrong.', {
        remaining_attempts: result.remaining_attempts,
      });
    default:
      throw new Error(`unknown PIN refusal code ${String(result.code)}`);
  }
}

export function errorBody(error: ApiError, requestId: string) {
  return {
    error: { code: error.code, message: error.message, details: error.details, request_id: requestId },
  };
}

export const internalError = () =>
  new ApiError('internal_error', 'Something went wrong on our side. Quote the request id when you report it.');
