/**
 * What the database suites share: calling the RPC functions the way the edge functions do (the
 * service role through supabase-js), reading their refusals, and making a customer with a balance.
 */
import { randomUUID } from 'node:crypto';
import type { PostgrestError } from '@supabase/supabase-js';
import { expect } from 'vitest';
import { balanceOf, serviceClient, uniquePhone as phone, untyped, type CustomerRecord } from '../support/index.ts';

export interface RpcAnswer<T = unknown> {
  data: T | null;
  error: PostgrestError | null;
  status: number;
}

export async function rpc<T = unknown>(fn: string, args: Record<string, unknown>): Promise<RpcAnswer<T>> {
  const { data, error, status } = await untyped(serviceClient()).rpc(fn, args);
  return { data: data as T | null, error, status };
}

/** The call must succeed; its data is returned. */
export async function rpcOk<T = Record<string, unknown>>(fn: string, args: Record<string, unknown>): Promise<T> {
  const answer = await rpc<T>(fn, args);
  expect(answer.error, `${fn} failed: ${JSON.stringify(answer.error)}`).toBeNull();
  expect(answer.status).toBe(200);
  return answer.data as T;
}

/** The call must be refused with this contract code and HTTP status; the error's details are returned. */
export async function rpcRefused(
  fn: string,
  args: Record<string, unknown>,
  code: string,
  status: number,
): Promise<PostgrestError> {
  const answer = await rpc(fn, args);
  expect(answer.data).toBeNull();
  expect({ code: answer.error?.code, status: answer.status }).toEqual({ code, status });
  return answer.error!;
}

export function idempotencyKey(label = 'k'): string {
  return `${label}-${randomUUID()}`;
}

export type { MoneyResult } from '../../functions/_shared/money.ts';

export interface PinResult {
  ok: boolean;
  code: 'pin_invalid' | 'pin_locked' | 'pin_not_set' | null;
  remaining_attempts: number;
  locked_until: string | null;
}

export type { CustomerRecord as Customer } from '../support/index.ts';

/** A customer made through create_customer and, when asked, charged once through charge_balance. */
export async function createCustomer(
  actorUserId: string,
  shopId: string,
  options: { balance?: number; pin?: string; name?: string; phone?: string } = {},
): Promise<CustomerRecord> {
  const { customer } = await rpcOk<{ customer: CustomerRecord }>('create_customer', {
    p_actor_user_id: actorUserId,
    p_shop_id: shopId,
    p_name: options.name ?? '김민준',
    p_phone: options.phone ?? phone(),
    p_pin: options.pin ?? null,
  });
  if (options.balance) {
    await rpcOk('charge_balance', {
      p_actor_user_id: actorUserId,
      p_customer_id: customer.id,
      p_amount: options.balance,
      p_idempotency_key: idempotencyKey('opening'),
    });
  }
  return { ...customer, current_balance: options.balance ?? 0 };
}

/** Every customer whose balance differs from their ledger, as reconcile_balances reports them. */
export async function mismatches(): Promise<unknown[]> {
  return (await rpcOk<unknown[]>('reconcile_balances', {})) ?? [];
}

export { balanceOf, phone };
