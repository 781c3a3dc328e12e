/**
 * A raw request through the gateway with a deadline (any hang is a failure), and the headers a caller
 * sends there: for the suites that must see exactly what the gateway answers, below supabase-js.
 */
import type { FunctionAnswer } from '../functions/http.ts';
import { stackEnv } from './env.ts';

// Far above any honest answer here (tens of milliseconds); reaching it means the route hung.
export const REQUEST_TIMEOUT_MS = 10_000;

export interface RawRequest {
  method: string;
  // Below the gateway: `functions/v1/kiosk/pay`, `rest/v1/customers?select=*`.
  path: string;
  headers: Record<string, string>;
  body?: string;
  // Streamed in chunks without Content-Length, so the server cannot trust a declared size.
  chunked?: boolean;
}

/** Sends exactly these headers (no apikey unless given) and reads the whole answer before the deadline. */
export async function send(request: RawRequest): Promise<FunctionAnswer> {
  const { API_URL } = stackEnv();
  let body: BodyInit | undefined = request.body;
  if (request.chunked && request.body !== undefined) {
    const bytes = new TextEncoder().encode(request.body);
    body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.length; at += 4096) controller.enqueue(bytes.slice(at, at + 4096));
        controller.close();
      },
    });
  }
  const response = await fetch(`${API_URL}/${request.path}`, {
    method: request.method,
    headers: request.headers,
    body,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    ...(request.chunked ? { duplex: 'half' } : {}),
  } as RequestInit);
  return readAnswer(response);
}

/** An answer's status, headers and body: JSON when it parses, else the text, so a contract check fails on the shape and shows it. */
export async function readAnswer<T = any>(response: Response): Promise<FunctionAnswer<T>> {
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // Kept as text.
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

/** Gateway headers for a caller: the anon key as apikey and the given bearer (the anon key for kiosks). */
export function gatewayHeaders(bearer: string | null, extra: Record<string, string> = {}): Record<string, string> {
  return { apikey: stackEnv().ANON_KEY, ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }), ...extra };
}
