// How every request reaches the stack: the gateway's apikey, who is calling (a staff JWT, a kiosk's
// device key, or the service role for setup and teardown), and a fresh Idempotency-Key for each
// money request, as a kiosk or the shops' frontend sends them (docs/contract.md).

import http from 'k6/http';
import type { RefinedResponse } from 'k6/http';
import { randomBytes } from 'k6/crypto';
import { config } from './config.ts';

export type Headers = Record<string, string>;
export type Response = RefinedResponse<'text'>;

/** Staff call as themselves: the anon key opens the gateway, their JWT says who they are. */
export function staffHeaders(accessToken: string): Headers {
  return { apikey: config.anonKey, Authorization: `Bearer ${accessToken}` };
}

/** A kiosk sends what a plain client sends plus its device key, which SQL checks. */
export function kioskHeaders(kioskKey: string): Headers {
  return { apikey: config.anonKey, Authorization: `Bearer ${config.anonKey}`, 'X-Kiosk-Key': kioskKey };
}

export function anonHeaders(): Headers {
  return { apikey: config.anonKey, Authorization: `Bearer ${config.anonKey}` };
}

export function serviceHeaders(): Headers {
  return { apikey: config.serviceRoleKey, Authorization: `Bearer ${config.serviceRoleKey}` };
}

/** A random (version 4) UUID: one per payment, so a retried request could never pay twice. */
export function idempotencyKey(): string {
  const bytes = new Uint8Array(randomBytes(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function withIdempotencyKey(headers: Headers): Headers {
  return { ...headers, 'Idempotency-Key': idempotencyKey() };
}

export interface RequestOptions {
  /** Names the request in every metric; URLs with ids or search terms would each become a series. */
  name: string;
  /** Refusal statuses that are a correct answer here, so http_req_failed agrees with `errors`. */
  refusalStatuses?: readonly number[];
}

const SUCCESS = { min: 200, max: 299 };

function params(headers: Headers, options: RequestOptions) {
  return {
    headers: { ...headers, 'Content-Type': 'application/json' },
    tags: { name: options.name },
    responseCallback: http.expectedStatuses(SUCCESS, ...(options.refusalStatuses ?? [])),
  };
}

export function postJson(path: string, body: unknown, headers: Headers, options: RequestOptions): Response {
  return http.post(`${config.apiUrl}${path}`, JSON.stringify(body), params(headers, options));
}

export function getJson(path: string, headers: Headers, options: RequestOptions): Response {
  return http.get(`${config.apiUrl}${path}`, params(headers, options));
}

/** The parsed body, or null when the answer is not JSON (a proxy's error page, a timeout). */
export function jsonBody(res: Response): unknown {
  try {
    return JSON.parse(res.body ?? '');
  } catch {
    return null;
  }
}

