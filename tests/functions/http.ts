// How the suites in tests/functions reach the edge functions: plain fetch as a kiosk or a script
// would, and supabase-js `functions.invoke` as the shops' web frontend does, both typed with the
// generated Database types.
import { randomUUID } from 'node:crypto';
import { createClient, FunctionsHttpError, type SupabaseClient } from '@supabase/supabase-js';
import { SignJWT } from 'jose';
import type { Database } from '../../functions/_shared/database.types.ts';
import type { MoneyAnswer } from '../../functions/_shared/money.ts';
import { expect } from 'vitest';
import { balanceOf, clientOptions, createShopWithStaff, ledgerCount, readAnswer, stackEnv, uniquePhone, type CustomerRecord, type ShopWithStaff, type TestUser } from '../support/index.ts';

export interface Caller {
  // The Bearer token: a staff member's access token, or the anon key for a kiosk.
  token: string;
  kioskKey?: string;
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  // Sent verbatim instead of JSON.stringify(body): malformed JSON, exponent spellings, huge bodies.
  rawBody?: string;
  idempotencyKey?: string;
  headers?: Record<string, string>;
}

export interface FunctionAnswer<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export function anonKey(): string {
  return stackEnv().ANON_KEY;
}

export const asStaff = (user: TestUser): Caller => ({ token: user.accessToken });
export const asKiosk = (deviceKey: string): Caller => ({ token: anonKey(), kioskKey: deviceKey });
export const newIdempotencyKey = () => `test-${randomUUID()}`;

export async function callFunction<T = any>(route: string, caller: Caller | null, options: CallOptions = {}): Promise<FunctionAnswer<T>> {
  const { API_URL } = stackEnv();
  const headers: Record<string, string> = { apikey: anonKey(), ...(caller ? { authorization: `Bearer ${caller.token}` } : {}) };
  if (caller?.kioskKey !== undefined) headers['x-kiosk-key'] = caller.kioskKey;
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  const hasBody = options.rawBody !== undefined || options.body !== undefined;
  if (hasBody) headers['content-type'] = 'application/json';
  const response = await fetch(`${API_URL}/functions/v1/${route}`, {
    method: options.method ?? 'POST',
    headers: { ...headers, ...options.headers },
    body: options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  return readAnswer<T>(response);
}

// A supabase-js client as the frontend holds one, signed in with the staff member's session.
export function staffClient(user: TestUser): SupabaseClient<Database> {
  return createClient<Database>(stackEnv().API_URL, anonKey(), {
    ...clientOptions,
    global: { headers: { Authorization: `Bearer ${user.accessToken}` } },
  });
}

// A kiosk that uses supabase-js: signed in as nobody, its device key as a header.
export function kioskClient(deviceKey: string): SupabaseClient<Database> {
  return createClient<Database>(stackEnv().API_URL, anonKey(), {
    ...clientOptions,
    global: { headers: { 'X-Kiosk-Key': deviceKey } },
  });
}

// functions.invoke answers a non-2xx with a FunctionsHttpError around the Response; this unwraps both
// outcomes into status and body so that tests assert the same things as over plain fetch.
export async function invoke<T = any>(
  client: SupabaseClient<Database>,
  route: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T; replayed: string | null }> {
  const { data, error, response } = await client.functions.invoke(route, { body, headers, method: 'POST' });
  if (error instanceof FunctionsHttpError) {
    const context = error.context as Response;
    return { status: context.status, body: await context.json(), replayed: context.headers.get('idempotent-replayed') };
  }
  if (error) throw error;
  return { status: response!.status, body: data as T, replayed: response!.headers.get('idempotent-replayed') };
}

export function signToken(claims: Record<string, unknown>, secret = stackEnv().JWT_SECRET): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const iss = `${stackEnv().API_URL}/auth/v1`;
  return new SignJWT({ iss, aud: 'authenticated', role: 'authenticated', iat: now, exp: now + 3600, ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret));
}

export type { CustomerRecord };

export async function createCustomer(
  owner: TestUser,
  shopId: string,
  fields: { name?: string; phone?: string; pin?: string } = {},
): Promise<CustomerRecord> {
  const answer = await callFunction<{ customer: CustomerRecord }>('customers', asStaff(owner), {
    body: { shop_id: shopId, name: fields.name ?? '김하늘', phone: fields.phone ?? uniquePhone(), ...(fields.pin ? { pin: fields.pin } : {}) },
  });
  if (answer.status !== 201) throw new Error(`create customer answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body.customer;
}

export async function charge(user: TestUser, customerId: string, amount: number) {
  const answer = await callFunction('transactions/charge', asStaff(user), {
    body: { customer_id: customerId, amount },
    idempotencyKey: newIdempotencyKey(),
  });
  if (answer.status !== 200) throw new Error(`charge answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body as MoneyAnswer;
}

export async function registerKiosk(owner: TestUser, shopId: string, name = '입구 키오스크') {
  const answer = await callFunction<{ kiosk: { id: string; active: boolean }; device_key: string }>('shop-kiosks', asStaff(owner), {
    body: { shop_id: shopId, name },
  });
  if (answer.status !== 201) throw new Error(`register kiosk answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

export type RegisteredKiosk = Awaited<ReturnType<typeof registerKiosk>>;

export interface ShopWithCustomer extends ShopWithStaff {
  customer: CustomerRecord;
  /** The shop's active kiosks, `키오스크 1`, `키오스크 2`, ... (none unless asked for). */
  kiosks: RegisteredKiosk[];
}

/** A new shop with its team, one customer (with a PIN and a balance charged by the owner, when given) and `kiosks` kiosks. */
export async function shopWithCustomer(options: { balance?: number; pin?: string; kiosks?: number } = {}): Promise<ShopWithCustomer> {
  const shopWithStaff = await createShopWithStaff();
  const { owner, shop } = shopWithStaff;
  const customer = await createCustomer(owner, shop.id, { pin: options.pin });
  if (options.balance) await charge(owner, customer.id, options.balance);
  const kiosks = await Promise.all(Array.from({ length: options.kiosks ?? 0 }, (_, n) => registerKiosk(owner, shop.id, `키오스크 ${n + 1}`)));
  return { ...shopWithStaff, customer, kiosks };
}

/** A shop with one customer (PIN 2580 unless given) and one kiosk, with that kiosk's device key at hand. */
export async function kioskShop(options: { balance?: number; pin?: string } = {}) {
  const setup = await shopWithCustomer({ balance: options.balance, pin: options.pin ?? '2580', kiosks: 1 });
  const { kiosk, device_key } = setup.kiosks[0]!;
  return { ...setup, kiosk, deviceKey: device_key };
}

// The error contract: the status, the code, a request id that the response header repeats, and the
// CORS header that lets the frontend read all this.
export function expectError(answer: FunctionAnswer, status: number, code: string): any {
  expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status, code });
  expect(Object.keys(answer.body).sort()).toEqual(['error']);
  expect(answer.body.error.request_id).toBe(answer.headers.get('x-request-id'));
  expect(answer.headers.get('access-control-allow-origin')).toBe('*');
  return answer.body.error;
}

export { balanceOf, ledgerCount, uniquePhone };
