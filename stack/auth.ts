// The local stand-in for Supabase Auth (GoTrue), which has no binary outside Docker. It keeps only the
// endpoints supabase-js calls for password sign-in, refresh, getUser, signOut, admin.createUser, sign-up,
// admin.inviteUserByEmail with the invitation link, verifyOtp and updateUser({ password }), and
// answers them as GoTrue does (same tables, bcrypt hashes, token claims, error bodies), so the same
// client code runs unchanged against `supabase start` or a real project.
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type pg from 'pg';
import { importJwtSecret } from './keys.ts';

export interface AuthOptions {
  /** A pool connected as a role that owns auth's tables (the stack uses `postgres`). */
  pool: pg.Pool;
  jwtSecret: string;
  jwtExpirySeconds?: number;
  /** GoTrue's `iss`: `<API_URL>/auth/v1`. */
  issuer: string;
  rateLimits?: Partial<AuthRateLimits>;
  /** Where a followed link lands without `redirect_to`: config.toml's `[auth] site_url`. */
  siteUrl?: string;
  /** The mail GoTrue would send (`supabase start` catches it in its mail viewer); the stack logs it. */
  sendMail?: (mail: { to: string; subject: string; link: string }) => void;
}

/** Fixed windows per client address and per account, as GoTrue's `[auth.rate_limit]`. */
export interface AuthRateLimits {
  windowMs: number;
  /** Wrong passwords for one email (or phone) before every sign-in to it is refused for the window. */
  signInFailuresPerAccount: number;
  /** Wrong passwords from one address, whatever the account (credential stuffing). */
  signInFailuresPerIp: number;
  /** Refreshes from one address (GoTrue's `token_refresh`: 150 per 5 minutes). */
  refreshesPerIp: number;
  /** Refreshes of one user's sessions; a client refreshes about once an hour. */
  refreshesPerUser: number;
}

export const DEFAULT_AUTH_RATE_LIMITS: AuthRateLimits = {
  windowMs: 5 * 60_000,
  signInFailuresPerAccount: 10,
  signInFailuresPerIp: 100,
  refreshesPerIp: 150,
  refreshesPerUser: 30,
};

export type AuthHandler = (req: IncomingMessage, res: ServerResponse, path: string) => void;

/** GoTrue's own error: a status, a stable code and a human message. */
class AuthError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly weakPasswordReasons?: string[],
  ) {
    super(message);
  }
}

const API_VERSION_HEADER = 'x-supabase-api-version';
// The only dated API version GoTrue knows; clients that send it get the newer error body.
const API_VERSION_2024 = '2024-01-01';
const MAX_BODY_BYTES = 64 * 1024;
const MIN_PASSWORD_LENGTH = 6; // GoTrue's default `password_min_length`
const ADMIN_ROLES = new Set(['service_role', 'supabase_admin']);
const LOGOUT_SCOPES = new Set(['global', 'local', 'others']);
// GoTrue's bcrypt cost; hashes look like `$2a$10$...` so a real GoTrue can take the table over.
const BCRYPT_COST = 10;
// The same loose check GoTrue makes before it tries to send mail.
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// GoTrue's bounds: an email of at most 255 characters; bcrypt reads at most 72 bytes of a password;
// refresh tokens are varchar(255).
const MAX_EMAIL_LENGTH = 255;
const MAX_PASSWORD_BYTES = 72;
const MAX_TOKEN_LENGTH = 255;
// auth.users.phone is text, so nothing in the table bounds it: GoTrue refuses any phone that is not
// E.164 (at most 15 digits); this subset keeps phones as given but still refuses an absurd length
// before it reaches the unique index.
const MAX_PHONE_LENGTH = 255;
// GoTrue's `security_refresh_token_reuse_interval`: a revoked token presented again this soon (two tabs
// refreshing at once, a lost answer) gets the session's current token instead of ending the session.
const REFRESH_TOKEN_REUSE_INTERVAL_MS = 10_000;
// A cost-10 bcrypt hash of nothing anyone knows: an unknown email is checked against it, so that it
// costs what a wrong password costs and timing does not tell which emails exist.
const DUMMY_PASSWORD_HASH = '$2a$10$8Kv7lPwTb7AlbJobkaXmr.VRJB2IS7c/HOfqvwnBzcHw7HzM3JKGW';
// config.toml: `site_url`, and `otp_expiry` (an invitation link lives as long as an email OTP).
const DEFAULT_SITE_URL = 'http://127.0.0.1:3000';
const OTP_EXPIRY_SECONDS = 3600;

const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'access-control-allow-headers': 'authorization, x-client-info, apikey, content-type, x-supabase-api-version',
  'access-control-max-age': '3600',
};

interface UserRow {
  id: string;
  aud: string | null;
  role: string | null;
  email: string | null;
  phone: string | null;
  email_confirmed_at: Date | null;
  phone_confirmed_at: Date | null;
  last_sign_in_at: Date | null;
  raw_app_meta_data: Record<string, unknown> | null;
  raw_user_meta_data: Record<string, unknown> | null;
  created_at: Date;
  updated_at: Date;
  is_anonymous: boolean;
  banned_until: Date | null;
}

interface NewUser {
  email?: string;
  phone?: string;
  /** None: the user signs in only after setting one (an invitation). */
  password?: string;
  emailConfirmed?: boolean;
  phoneConfirmed?: boolean;
  /** An invitation's token hash, kept in confirmation_token. */
  invitationToken?: string;
  appMetadata: Record<string, unknown>;
  userMetadata: Record<string, unknown>;
}

const EMAIL_PROVIDER = { provider: 'email', providers: ['email'] };

const USER_COLUMNS = `u.id, u.aud, u.role, u.email, u.phone, u.email_confirmed_at, u.phone_confirmed_at,
  u.last_sign_in_at, u.raw_app_meta_data, u.raw_user_meta_data, u.created_at, u.updated_at, u.is_anonymous,
  u.banned_until`;

/** The user object as GoTrue serialises it. */
function userJson(user: UserRow) {
  return {
    id: user.id,
    aud: user.aud ?? 'authenticated',
    role: user.role ?? 'authenticated',
    email: user.email ?? '',
    email_confirmed_at: user.email_confirmed_at ?? undefined,
    phone: user.phone ?? '',
    phone_confirmed_at: user.phone_confirmed_at ?? undefined,
    confirmed_at: user.email_confirmed_at ?? user.phone_confirmed_at ?? undefined,
    last_sign_in_at: user.last_sign_in_at ?? undefined,
    app_metadata: user.raw_app_meta_data ?? {},
    user_metadata: user.raw_user_meta_data ?? {},
    identities: [],
    created_at: user.created_at,
    updated_at: user.updated_at,
    is_anonymous: user.is_anonymous,
  };
}

function isBanned(user: UserRow): boolean {
  return user.banned_until !== null && user.banned_until.getTime() > Date.now();
}

function send(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  // The gateway answered already (its bound on a slow answer ran out).
  if (res.headersSent) return;
  const headers: Record<string, string> = { ...CORS_HEADERS };
  if (req.headers[API_VERSION_HEADER] === API_VERSION_2024) headers[API_VERSION_HEADER] = API_VERSION_2024;
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const json = JSON.stringify(body);
  headers['content-type'] = 'application/json';
  headers['content-length'] = String(Buffer.byteLength(json));
  res.writeHead(status, headers).end(json);
}

/** GoTrue picks the error body by the API version the client announces (auth-js sends 2024-01-01). */
function sendError(req: IncomingMessage, res: ServerResponse, error: AuthError): void {
  const dated = req.headers[API_VERSION_HEADER] === API_VERSION_2024;
  const body: Record<string, unknown> = dated
    ? { code: error.code, message: error.message }
    : { code: error.status, error_code: error.code, msg: error.message };
  if (error.weakPasswordReasons) body.weak_password = { reasons: error.weakPasswordReasons };
  send(req, res, error.status, body);
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const collect = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      // Past the limit the rest is read and dropped: the client gets the 413, not a reset connection.
      req.off('data', collect);
      req.off('end', parse);
      req.resume();
      reject(new AuthError(413, 'request_too_large', 'Request body too large'));
    };
    const parse = () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve({});
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          throw new Error('the body must be a JSON object');
        }
        resolve(parsed as Record<string, unknown>);
      } catch (cause) {
        reject(new AuthError(400, 'bad_json', `Could not parse request body as JSON: ${(cause as Error).message}`));
      }
    };
    req.on('data', collect);
    req.on('error', reject);
    req.on('end', parse);
  });
}

function stringField(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AuthError(400, 'bad_json', `Could not read field "${name}": expected a string`);
  // PostgreSQL text cannot hold NUL: refused here as bad input instead of failing in the query.
  if (value.includes('\u0000')) throw new AuthError(400, 'validation_failed', `The field "${name}" contains a NUL character`);
  return value;
}

/** GoTrue's length checks, before anything reaches the database. */
function checkCredentialLengths(fields: { email?: string; phone?: string; password?: string; refreshToken?: string }): void {
  if (fields.email !== undefined && fields.email.length > MAX_EMAIL_LENGTH) {
    throw new AuthError(400, 'validation_failed', 'An email address is too long');
  }
  if (fields.phone !== undefined && fields.phone.length > MAX_PHONE_LENGTH) {
    throw new AuthError(400, 'validation_failed', 'Invalid phone number format (E.164 required)');
  }
  if (fields.password !== undefined && Buffer.byteLength(fields.password) > MAX_PASSWORD_BYTES) {
    throw new AuthError(400, 'validation_failed', `Password cannot be longer than ${MAX_PASSWORD_BYTES} characters`);
  }
  if (fields.refreshToken !== undefined && fields.refreshToken.length > MAX_TOKEN_LENGTH) {
    throw new AuthError(400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
  }
}

/** Counts per key in fixed windows; a key over its limit is refused until its window ends. */
class WindowCounter {
  private readonly counts = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  isOver(key: string): boolean {
    const entry = this.counts.get(key);
    return entry !== undefined && entry.resetAt > Date.now() && entry.count >= this.limit;
  }

  /** Counts one more event for the key; true when that takes it over the limit. */
  add(key: string): boolean {
    const now = Date.now();
    let entry = this.counts.get(key);
    if (!entry || entry.resetAt <= now) {
      if (this.counts.size > 10_000) this.forgetExpired(now);
      entry = { count: 0, resetAt: now + this.windowMs };
      this.counts.set(key, entry);
    }
    entry.count++;
    return entry.count > this.limit;
  }

  private forgetExpired(now: number): void {
    for (const [key, entry] of this.counts) if (entry.resetAt <= now) this.counts.delete(key);
  }
}

const rateLimited = () => new AuthError(429, 'over_request_rate_limit', 'Request rate limit reached');

function clientAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

function objectField(body: Record<string, unknown>, name: string): Record<string, unknown> | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new AuthError(400, 'bad_json', `Could not read field "${name}": expected an object`);
  }
  return value as Record<string, unknown>;
}

function checkEmail(email: string): void {
  checkCredentialLengths({ email });
  if (!EMAIL_PATTERN.test(email)) throw new AuthError(400, 'validation_failed', 'Unable to validate email address: invalid format');
}

function checkPassword(password: string): void {
  checkCredentialLengths({ password });
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new AuthError(422, 'weak_password', `Password should be at least ${MIN_PASSWORD_LENGTH} characters.`, ['length']);
  }
}

/** GoTrue answers a followed link with a redirect whose fragment carries the session or the error. */
function redirect(res: ServerResponse, location: string): void {
  // As send(): the gateway may have answered already.
  if (res.headersSent) return;
  res.writeHead(303, { ...CORS_HEADERS, location }).end();
}

function bearerToken(req: IncomingMessage): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!match) throw new AuthError(401, 'no_authorization', 'This endpoint requires a valid Bearer token');
  return match[1];
}

export function createAuthHandler(options: AuthOptions): AuthHandler {
  const { pool, issuer } = options;
  const siteUrl = options.siteUrl ?? DEFAULT_SITE_URL;
  const secret = importJwtSecret(options.jwtSecret, ['sign', 'verify']);
  const expiry = options.jwtExpirySeconds ?? 3600;
  const limits = { ...DEFAULT_AUTH_RATE_LIMITS, ...options.rateLimits };
  const signInFailures = {
    perAccount: new WindowCounter(limits.signInFailuresPerAccount, limits.windowMs),
    perIp: new WindowCounter(limits.signInFailuresPerIp, limits.windowMs),
  };
  const refreshes = {
    perIp: new WindowCounter(limits.refreshesPerIp, limits.windowMs),
    perUser: new WindowCounter(limits.refreshesPerUser, limits.windowMs),
  };

  async function claimsOf(req: IncomingMessage): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(bearerToken(req), await secret, { algorithms: ['HS256'] });
      return payload;
    } catch (error) {
      if (error instanceof AuthError) throw error;
      throw new AuthError(403, 'bad_jwt', `invalid JWT: unable to parse or verify signature, ${(error as Error).message}`);
    }
  }

  /** The signed-in user and session behind the bearer token, as GoTrue's requireAuthentication. */
  async function authenticated(req: IncomingMessage): Promise<{ user: UserRow; sessionId: string }> {
    const claims = await claimsOf(req);
    if (typeof claims.sub !== 'string' || claims.sub === '') {
      throw new AuthError(403, 'bad_jwt', 'invalid claim: missing sub claim');
    }
    const sessionId = claims.session_id;
    if (typeof sessionId !== 'string') throw new AuthError(403, 'bad_jwt', 'invalid claim: missing session_id claim');
    const { rows } = await pool.query<UserRow & { session_exists: boolean }>(
      `select ${USER_COLUMNS}, exists (select 1 from auth.sessions s where s.id = $2::uuid and s.user_id = u.id) as session_exists
         from auth.users u where u.id = $1::uuid`,
      [claims.sub, sessionId],
    );
    const user = rows[0];
    if (!user) throw new AuthError(403, 'user_not_found', 'User from sub claim in JWT does not exist');
    if (!user.session_exists) {
      throw new AuthError(403, 'session_not_found', 'Session from session_id claim in JWT does not exist');
    }
    return { user, sessionId };
  }

  async function sessionResponse(user: UserRow, sessionId: string, refreshToken: string, method: string) {
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await new SignJWT({
      email: user.email ?? '',
      phone: user.phone ?? '',
      app_metadata: user.raw_app_meta_data ?? {},
      user_metadata: user.raw_user_meta_data ?? {},
      role: user.role ?? 'authenticated',
      aal: 'aal1',
      amr: [{ method, timestamp: now }],
      session_id: sessionId,
      is_anonymous: user.is_anonymous,
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(issuer)
      .setSubject(user.id)
      .setAudience(user.aud ?? 'authenticated')
      .setIssuedAt(now)
      .setExpirationTime(now + expiry)
      .sign(await secret);
    return {
      access_token: accessToken,
      token_type: 'bearer',
      expires_in: expiry,
      expires_at: now + expiry,
      refresh_token: refreshToken,
      user: userJson(user),
    };
  }

  async function passwordGrant(req: IncomingMessage, body: Record<string, unknown>) {
    const email = stringField(body, 'email');
    const phone = stringField(body, 'phone');
    const password = stringField(body, 'password') ?? '';
    if ((email && phone) || (!email && !phone)) {
      throw new AuthError(400, 'validation_failed', 'Only an email address or phone number should be provided on login.');
    }
    checkCredentialLengths({ email, phone, password });
    const account = email ? `email:${email.toLowerCase()}` : `phone:${phone}`;
    const ip = clientAddress(req);
    // Once over the limit even the right password is refused, so guessing gains nothing.
    if (signInFailures.perAccount.isOver(account) || signInFailures.perIp.isOver(ip)) throw rateLimited();
    // A wrong password and an unknown user get the same answer at the same cost (one bcrypt of cost 10
    // either way, against a dummy hash when no user matched), so the endpoint does not reveal who exists.
    const { rows } = await pool.query<UserRow & { password_ok: boolean }>(
      `select ${USER_COLUMNS},
              -- Never short-circuited: the hash is computed whether or not a user matched (null is false).
              extensions.crypt($2, coalesce(nullif(u.encrypted_password, ''), $4)) = u.encrypted_password as password_ok
         from (values (1)) as always_one_row
         left join auth.users u
           on ($1::text is not null and lower(u.email) = lower($1)) or ($3::text is not null and u.phone = $3)`,
      [email ?? null, password, phone ?? null, DUMMY_PASSWORD_HASH],
    );
    const user = rows[0];
    if (!user?.id || !user.password_ok || password === '') {
      signInFailures.perAccount.add(account);
      signInFailures.perIp.add(ip);
      throw new AuthError(400, 'invalid_credentials', 'Invalid login credentials');
    }
    if (email && !user.email_confirmed_at) throw new AuthError(400, 'email_not_confirmed', 'Email not confirmed');
    if (phone && !user.phone_confirmed_at) throw new AuthError(400, 'phone_not_confirmed', 'Phone not confirmed');
    if (isBanned(user)) throw new AuthError(400, 'user_banned', 'User is banned');

    return openSession(user.id, 'password');
  }

  /** A new session with its first refresh token, as every sign-in (password, sign-up, a followed link) makes. */
  async function openSession(userId: string, method: string) {
    const refreshToken = randomBytes(16).toString('base64url');
    const created = await pool.query<UserRow & { session_id: string }>(
      `with session as (
         insert into auth.sessions (user_id) values ($1::uuid) returning id
       ), token as (
         insert into auth.refresh_tokens (token, user_id, session_id)
         select $2, $1::text, session.id from session
       ), u as (
         update auth.users set last_sign_in_at = now(), updated_at = now() where id = $1::uuid returning *
       )
       select ${USER_COLUMNS}, (select id from session) as session_id from u`,
      [userId, refreshToken],
    );
    const signedIn = created.rows[0];
    return sessionResponse(signedIn, signedIn.session_id, refreshToken, method);
  }

  /**
   * Rotation: the presented token is revoked and a child issued. A revoked token presented again within
   * the reuse interval gets the session's current token; later, it ends the session (the family is revoked).
   */
  async function refreshGrant(req: IncomingMessage, body: Record<string, unknown>) {
    const presented = stringField(body, 'refresh_token');
    if (!presented) throw new AuthError(400, 'validation_failed', 'refresh_token required');
    checkCredentialLengths({ refreshToken: presented });
    if (refreshes.perIp.add(clientAddress(req))) throw rateLimited();
    const client = await pool.connect();
    try {
      await client.query('begin');
      // The row lock makes two refreshes of one token queue: the second sees it revoked a moment ago and
      // is answered with the first one's child (the reuse interval), so two tabs stay signed in.
      const found = await client.query<{ revoked: boolean; session_id: string; user_id: string; within_reuse_interval: boolean }>(
        `select revoked, session_id, user_id, updated_at >= now() - make_interval(secs => $2) as within_reuse_interval
           from auth.refresh_tokens where token = $1 for update`,
        [presented, REFRESH_TOKEN_REUSE_INTERVAL_MS / 1000],
      );
      const token = found.rows[0];
      if (!token) throw new AuthError(400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
      if (refreshes.perUser.add(token.user_id)) throw rateLimited();
      if (token.revoked) {
        const reused = await currentTokenWithinReuseInterval(client, token);
        if (reused) {
          await client.query('commit');
          return reused;
        }
        // A revoked token coming back late means it leaked or was replayed: GoTrue revokes the whole family.
        await client.query(`update auth.refresh_tokens set revoked = true, updated_at = now() where session_id = $1`, [
          token.session_id,
        ]);
        await client.query('commit');
        throw new AuthError(400, 'refresh_token_already_used', 'Invalid Refresh Token: Already Used');
      }
      const next = randomBytes(16).toString('base64url');
      const rotated = await client.query<UserRow>(
        `with revoke as (
           update auth.refresh_tokens set revoked = true, updated_at = now() where token = $1
         ), child as (
           insert into auth.refresh_tokens (token, user_id, session_id, parent) values ($2, $3, $4::uuid, $1)
         ), touch as (
           update auth.sessions set updated_at = now() where id = $4::uuid
         )
         select ${USER_COLUMNS} from auth.users u where u.id = $3::uuid`,
        [presented, next, token.user_id, token.session_id],
      );
      const user = rotated.rows[0];
      if (!user || isBanned(user)) {
        throw new AuthError(400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
      }
      await client.query('commit');
      return sessionResponse(user, token.session_id, next, 'token_refresh');
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** The answer for a token revoked moments ago: the session's current token, a fresh access token. */
  async function currentTokenWithinReuseInterval(
    client: pg.PoolClient,
    token: { session_id: string; user_id: string; within_reuse_interval: boolean },
  ) {
    if (!token.within_reuse_interval) return null;
    const { rows } = await client.query<UserRow & { current_token: string }>(
      `select ${USER_COLUMNS}, t.token as current_token
         from auth.refresh_tokens t join auth.users u on u.id = $2::uuid
        where t.session_id = $1::uuid and not t.revoked
        order by t.id desc limit 1`,
      [token.session_id, token.user_id],
    );
    const current = rows[0];
    if (!current || isBanned(current)) return null;
    return sessionResponse(current, token.session_id, current.current_token, 'token_refresh');
  }

  async function logout(req: IncomingMessage, url: URL): Promise<void> {
    const scope = url.searchParams.get('scope') ?? 'global';
    if (!LOGOUT_SCOPES.has(scope)) throw new AuthError(400, 'validation_failed', `Unsupported logout scope "${scope}"`);
    const { user, sessionId } = await authenticated(req);
    // Deleting a session cascades to its refresh tokens, as GoTrue's logout does.
    if (scope === 'local') await pool.query(`delete from auth.sessions where id = $1::uuid`, [sessionId]);
    else if (scope === 'others') {
      await pool.query(`delete from auth.sessions where user_id = $1::uuid and id <> $2::uuid`, [user.id, sessionId]);
    } else await pool.query(`delete from auth.sessions where user_id = $1::uuid`, [user.id]);
  }

  async function requireAdmin(req: IncomingMessage): Promise<void> {
    const claims = await claimsOf(req);
    if (typeof claims.role !== 'string' || !ADMIN_ROLES.has(claims.role)) {
      throw new AuthError(403, 'not_admin', 'User not allowed');
    }
  }

  /**
   * Inserts a user as GoTrue does (no password: an empty hash; an invitation: its token and times).
   * `onConflict` decides what a taken email does; undefined when it leaves no row.
   */
  async function insertUser(user: NewUser, onConflict = '') {
    const { rows } = await pool.query<UserRow & { invited_at: Date | null; confirmation_sent_at: Date | null }>(
      `insert into auth.users as u (instance_id, aud, role, email, phone, encrypted_password, email_confirmed_at,
                                    phone_confirmed_at, confirmation_token, invited_at, confirmation_sent_at,
                                    raw_app_meta_data, raw_user_meta_data)
       values ('00000000-0000-0000-0000-000000000000', 'authenticated', 'authenticated', $1::text, $2::text,
               case when $3::text is null then '' else extensions.crypt($3, extensions.gen_salt('bf', ${BCRYPT_COST})) end,
               case when $4 then now() end, case when $5 then now() end,
               $6::text, case when $6::text is not null then now() end, case when $6::text is not null then now() end,
               $7::jsonb, $8::jsonb)
       ${onConflict}
       returning ${USER_COLUMNS}, u.invited_at, u.confirmation_sent_at`,
      [
        user.email ?? null,
        user.phone ?? null,
        user.password ?? null,
        user.emailConfirmed ?? false,
        user.phoneConfirmed ?? false,
        user.invitationToken ?? null,
        JSON.stringify(user.appMetadata),
        JSON.stringify(user.userMetadata),
      ],
    );
    return rows[0];
  }

  async function adminCreateUser(req: IncomingMessage, body: Record<string, unknown>) {
    await requireAdmin(req);
    const email = stringField(body, 'email')?.trim().toLowerCase();
    const phone = stringField(body, 'phone');
    const password = stringField(body, 'password');
    checkCredentialLengths({ phone });
    const userMetadata = objectField(body, 'user_metadata') ?? {};
    const appMetadata = objectField(body, 'app_metadata') ?? {};
    if (!email && !phone) throw new AuthError(400, 'validation_failed', 'Cannot create a user without either an email or phone');
    if (email) checkEmail(email);
    if (password !== undefined) checkPassword(password);
    const provider = email ? 'email' : 'phone';
    try {
      const user = await insertUser({
        email,
        phone,
        password,
        emailConfirmed: body.email_confirm === true && email !== undefined,
        phoneConfirmed: body.phone_confirm === true && phone !== undefined,
        appMetadata: { ...appMetadata, provider, providers: [provider] },
        userMetadata,
      });
      return userJson(user);
    } catch (error) {
      if ((error as { code?: string }).code === '23505') {
        throw email && (error as { constraint?: string }).constraint?.includes('email')
          ? new AuthError(422, 'email_exists', 'A user with this email address has already been registered')
          : new AuthError(422, 'phone_exists', 'A user with this phone number has already been registered');
      }
      throw error;
    }
  }

  /** POST /signup: confirmations are off (config.toml), so the new user is confirmed and signed in at once. */
  async function signUp(body: Record<string, unknown>) {
    if (stringField(body, 'phone') !== undefined) throw new AuthError(422, 'phone_provider_disabled', 'Phone signups are disabled');
    const email = stringField(body, 'email')?.trim().toLowerCase();
    const password = stringField(body, 'password') ?? '';
    if (!email) throw new AuthError(400, 'validation_failed', 'To signup, please provide your email');
    checkEmail(email);
    checkPassword(password);
    const user = await insertUser(
      { email, password, emailConfirmed: true, appMetadata: EMAIL_PROVIDER, userMetadata: objectField(body, 'data') ?? {} },
      'on conflict (email) do nothing',
    );
    if (!user) throw new AuthError(422, 'user_already_exists', 'User already registered');
    return openSession(user.id, 'password');
  }

  /**
   * POST /invite (service role): the user is made without a password, or a pending invitation is
   * renewed, and the mail with the link to /verify is "sent". The link carries the token hash GoTrue
   * keeps in confirmation_token; a confirmed user cannot be invited again.
   */
  async function invite(req: IncomingMessage, body: Record<string, unknown>, url: URL) {
    await requireAdmin(req);
    const email = stringField(body, 'email')?.trim().toLowerCase() ?? '';
    checkEmail(email);
    const tokenHash = createHash('sha224').update(email + randomBytes(16).toString('hex')).digest('hex');
    const user = await insertUser(
      { email, invitationToken: tokenHash, appMetadata: EMAIL_PROVIDER, userMetadata: objectField(body, 'data') ?? {} },
      `on conflict (email) do update
         set confirmation_token = excluded.confirmation_token, invited_at = now(), confirmation_sent_at = now(),
             raw_user_meta_data = u.raw_user_meta_data || excluded.raw_user_meta_data, updated_at = now()
         where u.email_confirmed_at is null`,
    );
    if (!user) throw new AuthError(422, 'email_exists', 'A user with this email address has already been registered');
    const redirectTo = url.searchParams.get('redirect_to') || siteUrl;
    const link = `${issuer}/verify?${new URLSearchParams({ token: tokenHash, type: 'invite', redirect_to: redirectTo })}`;
    options.sendMail?.({ to: email, subject: 'You have been invited', link });
    return { ...userJson(user), invited_at: user.invited_at, confirmation_sent_at: user.confirmation_sent_at };
  }

  /** Spends an invitation's token (once, within the OTP expiry): the email is confirmed and a session opened. */
  async function acceptInvite(type: string | undefined | null, tokenHash: string | undefined | null) {
    if (type !== 'invite') throw new AuthError(400, 'validation_failed', 'Only invitation links are verified by the local auth subset');
    if (!tokenHash) throw new AuthError(400, 'validation_failed', 'Verify requires a token or a token hash');
    const { rows } = await pool.query<{ id: string }>(
      `update auth.users
          set email_confirmed_at = coalesce(email_confirmed_at, now()), confirmation_token = '', updated_at = now()
        where confirmation_token = $1 and confirmation_sent_at > now() - make_interval(secs => $2)
        returning id`,
      [tokenHash, OTP_EXPIRY_SECONDS],
    );
    if (!rows[0]) throw new AuthError(403, 'otp_expired', 'Email link is invalid or has expired');
    return openSession(rows[0].id, 'otp');
  }

  /** GET /verify: the link in the mail. The session (or the error) goes to redirect_to in the fragment. */
  async function followLink(res: ServerResponse, url: URL): Promise<void> {
    const redirectTo = url.searchParams.get('redirect_to') || siteUrl;
    try {
      const session = await acceptInvite(url.searchParams.get('type'), url.searchParams.get('token'));
      const fragment = new URLSearchParams({
        access_token: session.access_token,
        expires_at: String(session.expires_at),
        expires_in: String(session.expires_in),
        refresh_token: session.refresh_token,
        token_type: 'bearer',
        type: 'invite',
      });
      redirect(res, `${redirectTo}#${fragment}`);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      const fragment = new URLSearchParams({ error: 'access_denied', error_code: error.code, error_description: error.message });
      redirect(res, `${redirectTo}#${fragment}`);
    }
  }

  /** PUT /user: the signed-in user sets a password (an invited user's first) or their metadata. */
  async function updateUser(req: IncomingMessage, body: Record<string, unknown>) {
    const { user } = await authenticated(req);
    if (stringField(body, 'email') !== undefined || stringField(body, 'phone') !== undefined) {
      throw new AuthError(422, 'validation_failed', 'Changing the email or phone is not supported by the local auth subset');
    }
    const password = stringField(body, 'password');
    if (password !== undefined) checkPassword(password);
    const data = objectField(body, 'data');
    const { rows } = await pool.query<UserRow>(
      `update auth.users u
          set encrypted_password = case when $2::text is null then u.encrypted_password
                                        else extensions.crypt($2, extensions.gen_salt('bf', ${BCRYPT_COST})) end,
              raw_user_meta_data = case when $3::jsonb is null then u.raw_user_meta_data
                                        else coalesce(u.raw_user_meta_data, '{}') || $3::jsonb end,
              updated_at = now()
        where u.id = $1::uuid
        returning ${USER_COLUMNS}`,
      [user.id, password ?? null, data === undefined ? null : JSON.stringify(data)],
    );
    return userJson(rows[0]);
  }

  async function route(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const url = new URL(path, 'http://auth.local');
    const endpoint = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
    switch (endpoint) {
      case 'POST /token': {
        const body = await readJson(req);
        const grant = url.searchParams.get('grant_type');
        if (grant === 'password') return send(req, res, 200, await passwordGrant(req, body));
        if (grant === 'refresh_token') return send(req, res, 200, await refreshGrant(req, body));
        throw new AuthError(400, 'validation_failed', 'unsupported_grant_type');
      }
      case 'GET /user':
        return send(req, res, 200, userJson((await authenticated(req)).user));
      case 'POST /logout':
        await logout(req, url);
        return send(req, res, 204, undefined);
      case 'POST /admin/users':
        return send(req, res, 200, await adminCreateUser(req, await readJson(req)));
      case 'POST /signup':
        return send(req, res, 200, await signUp(await readJson(req)));
      case 'POST /invite':
        return send(req, res, 200, await invite(req, await readJson(req), url));
      case 'GET /verify':
        return followLink(res, url);
      case 'POST /verify': {
        const body = await readJson(req);
        return send(req, res, 200, await acceptInvite(stringField(body, 'type'), stringField(body, 'token_hash')));
      }
      case 'PUT /user':
        return send(req, res, 200, await updateUser(req, await readJson(req)));
      case 'GET /health':
        return send(req, res, 200, { version: 'local-subset', name: 'GoTrue', description: 'Comings local GoTrue subset' });
      default:
        throw new AuthError(404, 'not_found', 'Not Found');
    }
  }

  return (req, res, path) => {
    if (req.method === 'OPTIONS') {
      const headers: Record<string, string> = { ...CORS_HEADERS };
      const asked = req.headers['access-control-request-headers'];
      if (asked) headers['access-control-allow-headers'] = asked;
      res.writeHead(204, headers).end();
      return;
    }
    route(req, res, path).catch((error: unknown) => {
      // Headers sent: the gateway already answered (its bound ran out), or an answer broke off midway.
      if (res.headersSent) return void (res.writableEnded || res.destroy());
      if (error instanceof AuthError) return sendError(req, res, error);
      console.error('auth: unexpected failure', error);
      sendError(req, res, new AuthError(500, 'unexpected_failure', 'Unexpected failure, please check server logs for more information'));
    });
  };
}
