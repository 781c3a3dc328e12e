import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { ApiError } from './errors.ts';
import { kioskKey } from './schemas.ts';

export interface StaffAuthConfig {
  // The project's HS256 secret (the local stack, or a project on legacy JWT secrets).
  jwtSecret?: string;
  // Used when no secret is given: the project's asymmetric signing keys from its JWKS.
  supabaseUrl: string;
  // The `iss` of the project's access tokens: its Auth URL, `<SUPABASE_URL>/auth/v1`.
  issuer: string;
}

// The audience GoTrue gives a signed-in user's access token.
const AUDIENCE = 'authenticated';

// The acting staff user, as every staff SQL function takes it: the token's `sub` (the auth.users id)
// and its `session_id`, so that SQL refuses a session signed out since the token was issued. A token
// without the claim (minted with the project's secret, never by GoTrue for a user) gives none (SQL's
// default, null), and SQL judges it by its user alone, as RLS does.
export interface StaffActor {
  p_actor_user_id: string;
  p_actor_session_id?: string;
}

export type StaffVerifier = (request: Request) => Promise<StaffActor>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// The staff functions run with verify_jwt off (supabase/config.toml), and even the runtime's check
// would pass the anon key: a staff action needs a signed-in user, so the token is verified here and its
// `sub` and `session_id` become the actor the SQL checks the session and shop membership for.
export function createStaffVerifier(config: StaffAuthConfig): StaffVerifier {
  // An explicit algorithm list is what refuses `alg: none` and a token re-signed with a public key as
  // an HMAC secret; `exp` is required so that a token without expiry is never accepted. The HMAC key
  // is imported once: handing jose the raw secret would import it again on every request.
  const secret = config.jwtSecret
    ? crypto.subtle.importKey('raw', new TextEncoder().encode(config.jwtSecret), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'verify',
    ])
    : null;
  const jwks = secret ? null : createRemoteJWKSet(new URL('/auth/v1/.well-known/jwks.json', config.supabaseUrl));
  // Issuer and audience as Supabase's JWT template checks them: a token of another project or issuer
  // that happens to share the secret, or one minted for another audience, is not a staff session.
  const claims = { issuer: config.issuer, audience: AUDIENCE, requiredClaims: ['exp'] };
  const verify = async (token: string): Promise<JWTPayload> => {
    const result = secret
      ? await jwtVerify(token, await secret, { algorithms: ['HS256'], ...claims })
      : await jwtVerify(token, jwks!, { algorithms: ['ES256', 'RS256', 'EdDSA'], ...claims });
    return result.payload;
  };

  const verified = new VerifiedTokens();

  return async (request) => {
    const token = bearerToken(request);
    if (token === null) throw notAuthenticated('Sign in and send the access token as a Bearer token.');
    const known = verified.get(token);
    if (known) return known;
    let payload: JWTPayload;
    try {
      payload = await verify(token);
    } catch (error) {
      // An unreachable JWKS is our outage, not the caller's bad token: let it become a logged 500.
      if (!(error instanceof errors.JOSEError) || error instanceof errors.JWKSTimeout) throw error;
      throw notAuthenticated('The access token is invalid or expired.');
    }
    if (payload.role !== 'authenticated' || typeof payload.sub !== 'string' || !UUID.test(payload.sub)) {
      throw notAuthenticated('This action needs a signed-in shop member, not a project key.');
    }
    const sessionId = payload.session_id;
    if (sessionId !== undefined && (typeof sessionId !== 'string' || !UUID.test(sessionId))) {
      throw notAuthenticated('The access token names no valid session.');
    }
    const actor: StaffActor = Object.freeze(
      sessionId === undefined ? { p_actor_user_id: payload.sub } : { p_actor_user_id: payload.sub, p_actor_session_id: sessionId },
    );
    verified.add(token, actor, payload.exp!);
    return actor;
  };
}

// A signed-in member's client sends the same access token with every call until it is refreshed, and
// checking its signature is most of what identifying the caller costs (WebCrypto's HMAC alone is tens of
// microseconds of CPU a call). So the actor of a token that passed every check is kept, keyed by the
// whole token (signature included: only the very same bytes hit), until the token expires, as jose
// judges `exp` (expired once `exp <= now` in whole seconds), and for at most five minutes, the time a
// signing key removed from the project's JWKS could otherwise stay trusted. Refusals are never kept,
// so unverified tokens cannot fill it; the oldest entries make room when it is full. A signed-out
// session is still refused: SQL checks the session on every call.
const VERIFIED_TOKEN_MAX_AGE_MS = 5 * 60_000;
const VERIFIED_TOKEN_LIMIT = 10_000;

export class VerifiedTokens {
  private readonly entries = new Map<string, { actor: StaffActor; until: number }>();

  get(token: string): StaffActor | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    if (Date.now() < entry.until) return entry.actor;
    this.entries.delete(token);
    return undefined;
  }

  add(token: string, actor: StaffActor, exp: number): void {
    if (this.entries.size >= VERIFIED_TOKEN_LIMIT) {
      // Insertion order: the first key is the oldest.
      this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(token, { actor, until: Math.min(exp * 1000, Date.now() + VERIFIED_TOKEN_MAX_AGE_MS) });
  }
}

function bearerToken(request: Request): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '');
  return match ? match[1] : null;
}

const notAuthenticated = (message: string) => new ApiError('not_authenticated', message);

// The device key is the kiosk's credential; SQL hashes it and checks it names an active kiosk of the
// customer's shop. Here it is only required and bounded.
export function requireKioskKey(request: Request): string {
  const parsed = kioskKey.safeParse(request.headers.get('x-kiosk-key'));
  if (!parsed.success) throw new ApiError('invalid_kiosk_key', 'Send the kiosk device key in X-Kiosk-Key.');
  return parsed.data;
}
