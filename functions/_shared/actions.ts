import type { z } from 'zod';
import { requireKioskKey } from './auth.ts';
import { readJsonBody, requireIdempotencyKey } from './request.ts';
import type { Handler } from './router.ts';
import { moneyReply, resultReply, rpcData, type RpcResponse } from './rpc.ts';
import { staffUserId } from './supabase.ts';

// The steps every route takes, in the same order: who is calling (401 before anything is read), the
// Idempotency-Key of a money call, the validated body, then the one supabase.rpc call that `call`
// makes, and its result or refusal in the contract's shape.

type RpcCall = PromiseLike<RpcResponse<unknown>>;

export const staffAction =
  <Schema extends z.ZodType>(schema: Schema, call: (actor: string, body: z.output<Schema>) => RpcCall, status = 200): Handler =>
  async (request) => {
    const actor = await staffUserId(request);
    const body = await readJsonBody(request, schema);
    return resultReply(rpcData(await call(actor, body)), status);
  };

export const staffMoneyAction =
  <Schema extends z.ZodType>(schema: Schema, call: (actor: string, body: z.output<Schema>, idempotencyKey: string) => RpcCall): Handler =>
  async (request) => {
    const actor = await staffUserId(request);
    const idempotencyKey = requireIdempotencyKey(request);
    const body = await readJsonBody(request, schema);
    return moneyReply(rpcData(await call(actor, body, idempotencyKey)));
  };

export const kioskAction =
  <Schema extends z.ZodType>(schema: Schema, call: (kioskKey: string, body: z.output<Schema>) => RpcCall): Handler =>
  async (request) => {
    const kioskKey = requireKioskKey(request);
    const body = await readJsonBody(request, schema);
    return resultReply(rpcData(await call(kioskKey, body)));
  };

export const kioskMoneyAction =
  <Schema extends z.ZodType>(schema: Schema, call: (kioskKey: string, body: z.output<Schema>, idempotencyKey: string) => RpcCall): Handler =>
  async (request) => {
    const kioskKey = requireKioskKey(request);
    const idempotencyKey = requireIdempotencyKey(request);
    const body = await readJsonBody(request, schema);
    return moneyReply(rpcData(await call(kioskKey, body, idempotencyKey)));
  };
