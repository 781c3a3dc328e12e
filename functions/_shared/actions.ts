import type { z } from 'zod';
import { requireKioskKey, type StaffActor } from './auth.ts';
import { readJsonBody, readQuery, requireIdempotencyKey } from './request.ts';
import type { Handler } from './router.ts';
import { moneyReply, resultReply, rpcData, type RpcResponse } from './rpc.ts';
import { staffActor } from './supabase.ts';

// The steps every route takes, in the same order: who is calling (401 before anything is read), the
// Idempotency-Key of a money call, the validated body, then the one supabase.rpc call that `call`
// makes, and its result or refusal in the contract's shape. Staff and kiosk routes differ only in
// how the caller is identified; a route that takes either builds its own with `actionsFor`.

type RpcCall = PromiseLike<RpcResponse<unknown>>;

export function actionsFor<Caller>(identify: (request: Request) => Caller | Promise<Caller>) {
  return {
    action:
      <Schema extends z.ZodType>(schema: Schema, call: (caller: Caller, body: z.output<Schema>) => RpcCall, status = 200): Handler =>
      async (request) => {
        const caller = await identify(request);
        const body = await readJsonBody(request, schema);
        return resultReply(rpcData(await call(caller, body)), status);
      },
    // A read whose parameters come in the query string (GET has no body).
    queryAction:
      <Schema extends z.ZodType>(schema: Schema, call: (caller: Caller, query: z.output<Schema>) => RpcCall): Handler =>
      async (request) => {
        const caller = await identify(request);
        return resultReply(rpcData(await call(caller, readQuery(request, schema))));
      },
    moneyAction:
      <Schema extends z.ZodType>(schema: Schema, call: (caller: Caller, body: z.output<Schema>, idempotencyKey: string) => RpcCall): Handler =>
      async (request) => {
        const caller = await identify(request);
        const idempotencyKey = requireIdempotencyKey(request);
        const body = await readJsonBody(request, schema);
        return moneyReply(rpcData(await call(caller, body, idempotencyKey)));
      },
  };
}

export const { action: staffAction, moneyAction: staffMoneyAction, queryAction: staffQueryAction } = actionsFor<StaffActor>(staffActor);
export const { action: kioskAction, moneyAction: kioskMoneyAction } = actionsFor<string>(requireKioskKey);
