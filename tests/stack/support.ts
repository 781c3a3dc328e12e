/** What the auth suites share: the auth endpoint answered directly, to see GoTrue's exact status and body. */
import { stackEnv } from '../support/index.ts';

export interface AuthRequest {
  method?: string;
  token?: string;
  // Sent as JSON; a string is sent as it is.
  body?: unknown;
  apiVersion?: boolean;
  headers?: Record<string, string>;
  // Where the auth API answers: the gateway's /auth/v1 unless given (a handler started by the suite).
  base?: string;
}

export async function authFetch(path: string, init: AuthRequest = {}) {
  const { API_URL, ANON_KEY } = stackEnv();
  const headers: Record<string, string> = { apikey: ANON_KEY, 'content-type': 'application/json' };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.apiVersion) headers['x-supabase-api-version'] = '2024-01-01';
  const response = await fetch(`${init.base ?? `${API_URL}/auth/v1`}${path}`, {
    method: init.method ?? 'POST',
    headers: { ...headers, ...init.headers },
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) };
}
