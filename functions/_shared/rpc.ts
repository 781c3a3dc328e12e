import { isPinRefusal, mapRpcFailure, pinRefusalError, type RpcFailure } from './errors.ts';
import type { Reply } from './router.ts';

// What every supabase-js rpc call resolves to, whatever the function's return type.
export interface RpcResponse<T> extends RpcFailure {
  data: T | null;
}

// Carries the raw failure to the router's log; the caller only ever sees internal_error.
export class UnexpectedRpcFailure extends Error {
  constructor(failure: unknown) {
    super(`unexpected rpc failure: ${JSON.stringify(failure)}`);
    this.name = 'UnexpectedRpcFailure';
  }
}

export function rpcData<T>(response: RpcResponse<T>): T {
  if (response.error) {
    const mapped = mapRpcFailure(response);
    if (mapped.kind === 'refusal') throw mapped.error;
    throw new UnexpectedRpcFailure(mapped.cause);
  }
  if (response.data === null) throw new UnexpectedRpcFailure({ status: response.status, data: null });
  return response.data;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Money result of docs/contract.md (typed in money.ts; everything but `replayed`: the paid and bonus parts, a charge's
// bonus, a refund's payout), or for kiosk_pay a PIN refusal. A replay answers the very same body as
// the first call; only the header tells the client it was a replay.
export function moneyReply(data: unknown): Reply {
  if (isPinRefusal(data)) throw pinRefusalError(data);
  if (!isObject(data) || !isObject(data.transaction) || typeof data.balance !== 'number') {
    throw new UnexpectedRpcFailure({ unexpected_money_result: data });
  }
  const { replayed: _replayed, ...body } = data;
  return {
    body,
    headers: data.replayed === true ? { 'Idempotent-Replayed': 'true' } : {},
  };
}

// Any other result object. verify_pin_atomic and kiosk_balance return a PIN refusal instead of
// raising, so that the failure counter's increment commits; the refusal still reaches the caller as
// an error.
export function resultReply(data: unknown, status = 200): Reply {
  if (isPinRefusal(data)) throw pinRefusalError(data);
  if (!isObject(data)) throw new UnexpectedRpcFailure({ unexpected_result: data });
  return { status, body: data };
}
