// Staff sign in the way supabase-js does (GoTrue's password grant). setup() signs everyone in once
// and hands the tokens to the VUs; a VU signs in again only when a token nears expiry, as on a long
// soak. Refresh tokens are deliberately not shared: GoTrue rotates them, so many VUs refreshing
// one token would revoke each other's sessions.

import http from 'k6/http';
import { config, type StaffLogin } from './config.ts';
import { jsonBody } from './http.ts';

export interface StaffSession extends StaffLogin {
  accessToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

const RENEW_BEFORE_MS = 60_000;

export function signIn(login: StaffLogin): StaffSession {
  const res = http.post(
    `${config.apiUrl}/auth/v1/token?grant_type=password`,
    JSON.stringify({ email: login.email, password: login.password }),
    { headers: { apikey: config.anonKey, 'Content-Type': 'application/json' }, tags: { name: 'auth_sign_in' } },
  );
  const body = jsonBody(res) as { access_token?: unknown; expires_in?: unknown } | null;
  if (res.status !== 200 || typeof body?.access_token !== 'string') {
    throw new Error(`staff ${login.email} could not sign in: ${res.status} ${String(res.body).slice(0, 200)}`);
  }
  const lifetimeSeconds = typeof body.expires_in === 'number' ? body.expires_in : 3600;
  return { ...login, accessToken: body.access_token, expiresAt: Date.now() + lifetimeSeconds * 1000 };
}

const renewed = new Map<string, StaffSession>();

/** A valid access token for this staff member, signing in again in this VU when it runs out. */
export function accessToken(session: StaffSession): string {
  const current = renewed.get(session.email) ?? session;
  if (current.expiresAt - Date.now() > RENEW_BEFORE_MS) return current.accessToken;
  const fresh = signIn(session);
  renewed.set(session.email, fresh);
  return fresh.accessToken;
}
