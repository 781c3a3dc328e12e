// The auth subset at its edges, as GoTrue behaves there: bad input is a 400 in GoTrue's shape, guessing
// is rate limited (429), an unknown email costs what a wrong password costs, and two tabs refreshing one
// token at once both stay signed in (the reuse interval).
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthHandler } from '../../stack/auth.ts';
import { createUser, db, stackEnv } from '../support/index.ts';
import { authFetch } from './support.ts';

const post = (base: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  authFetch(path, { base, body, headers });

const gateway = () => `${stackEnv().API_URL}/auth/v1`;
const signIn = (email: string, password: string, base = gateway()) =>
  post(base, '/token?grant_type=password', { email, password });
const refresh = (refreshToken: string, base = gateway()) =>
  post(base, '/token?grant_type=refresh_token', { refresh_token: refreshToken });
const RATE_LIMITED = { code: 429, error_code: 'over_request_rate_limit', msg: 'Request rate limit reached' };

describe('bad input answers 400 in GoTrue\'s shape, never 500', () => {
  it('a NUL in the email, the password or the refresh token', async () => {
    const user = await createUser();
    for (const [path, body, field] of [
      ['/token?grant_type=password', { email: `${user.email}\u0000`, password: user.password }, 'email'],
      ['/token?grant_type=password', { email: user.email, password: `${user.password}\u0000` }, 'password'],
      ['/token?grant_type=refresh_token', { refresh_token: `${user.refreshToken}\u0000` }, 'refresh_token'],
    ] as const) {
      expect(await post(gateway(), path, body)).toEqual({
        status: 400,
        body: { code: 400, error_code: 'validation_failed', msg: `The field "${field}" contains a NUL character` },
      });
    }
  });

  it('a 300-character email to the admin endpoint, and an overlong password or refresh token', async () => {
    const { SERVICE_ROLE_KEY } = stackEnv();
    const admin = { apikey: SERVICE_ROLE_KEY, authorization: `Bearer ${SERVICE_ROLE_KEY}` };
    const longEmail = `${'a'.repeat(300)}@test.comings.kr`;
    expect(await post(gateway(), '/admin/users', { email: longEmail, password: 'long-enough' }, admin)).toEqual({
      status: 400,
      body: { code: 400, error_code: 'validation_failed', msg: 'An email address is too long' },
    });
    expect((await signIn(longEmail, 'whatever')).body).toMatchObject({ error_code: 'validation_failed' });
    expect((await signIn(`x-${randomUUID()}@test.comings.kr`, 'p'.repeat(73))).body).toMatchObject({
      error_code: 'validation_failed',
      msg: 'Password cannot be longer than 72 characters',
    });
    expect((await refresh('r'.repeat(300))).status).toBe(400);
  });
});

describe('password guessing is rate limited', () => {
  it('after 10 wrong passwords for one email, even the right one answers 429, while other accounts still sign in', async () => {
    const user = await createUser();
    const answers: number[] = [];
    for (let i = 0; i < 12; i++) answers.push((await signIn(user.email, `wrong-${i}`)).status);
    expect(answers).toEqual([...Array(10).fill(400), 429, 429]);
    expect(await signIn(user.email, user.password)).toEqual({ status: 429, body: RATE_LIMITED });
    // Other accounts are not locked by it.
    const other = await createUser();
    expect((await signIn(other.email, other.password)).status).toBe(200);
  });

  describe('per client address, on an auth handler of its own (so the shared stack\'s limits stay untouched)', () => {
    let server: http.Server;
    let pool: pg.Pool;
    let base: string;
    beforeAll(async () => {
      pool = new pg.Pool({ connectionString: stackEnv().DB_URL, max: 2 });
      const handler = createAuthHandler({
        pool,
        jwtSecret: stackEnv().JWT_SECRET,
        issuer: 'http://auth.test/auth/v1',
        rateLimits: { signInFailuresPerIp: 3, refreshesPerIp: 4 },
      });
      server = http.createServer((req, res) => handler(req, res, req.url ?? '/'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
      await pool.end();
    });

    it('wrong passwords spread over many emails: the address is refused after its limit', async () => {
      const user = await createUser();
      const answers: number[] = [];
      for (let i = 0; i < 4; i++) answers.push((await signIn(`nobody-${i}-${randomUUID()}@test.comings.kr`, 'guess', base)).status);
      expect(answers).toEqual([400, 400, 400, 429]);
      expect(await signIn(user.email, user.password, base)).toEqual({ status: 429, body: RATE_LIMITED });
    });

    it('refreshes from one address: the fifth in the window answers 429', async () => {
      const user = await createUser();
      let token = user.refreshToken;
      const answers: number[] = [];
      for (let i = 0; i < 5; i++) {
        const answer = await refresh(token, base);
        answers.push(answer.status);
        if (answer.status === 200) token = answer.body!.refresh_token as string;
      }
      expect(answers).toEqual([200, 200, 200, 200, 429]);
    });
  });
});

describe('timing does not tell which emails exist', () => {
  it('an unknown email costs as much as a wrong password for a real one (one bcrypt of cost 10 each)', async () => {
    const user = await createUser();
    const timed = async (email: string) => {
      const started = performance.now();
      const answer = await signIn(email, 'not-the-password');
      expect(answer.body).toEqual({ code: 400, error_code: 'invalid_credentials', msg: 'Invalid login credentials' });
      return performance.now() - started;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    // Interleaved, so that load on the machine falls on both alike; 4 wrong passwords stay under the limit.
    for (let i = 0; i < 4; i++) {
      known.push(await timed(user.email));
      unknown.push(await timed(`nobody-${randomUUID()}@test.comings.kr`));
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    console.log(`sign-in refused: real email median ${median(known).toFixed(1)} ms, unknown email ${median(unknown).toFixed(1)} ms`);
    // Before: 54 ms against 2 ms. A bcrypt of cost 10 is tens of milliseconds; an index probe is not.
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.5);
  });
});

describe('refresh token reuse interval (GoTrue: 10 s)', () => {
  it('two tabs refreshing the same token at once both get the same new session, which keeps working', async () => {
    const user = await createUser();
    const [first, second] = await Promise.all([refresh(user.refreshToken), refresh(user.refreshToken)]);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.body!.refresh_token).toBe(first.body!.refresh_token);
    // Nothing was revoked: the new token refreshes again.
    const next = await refresh(first.body!.refresh_token as string);
    expect(next.status).toBe(200);
    const { rows } = await db().query<{ live: string }>(
      `select count(*) filter (where not revoked) as live from auth.refresh_tokens where user_id = $1`,
      [user.id],
    );
    expect(rows[0].live).toBe('1');
  });

  it('the same token presented again after the interval revokes the family, as before', async () => {
    const user = await createUser();
    const rotated = await refresh(user.refreshToken);
    await db().query(`update auth.refresh_tokens set updated_at = now() - interval '11 seconds' where token = $1`, [user.refreshToken]);
    expect((await refresh(user.refreshToken)).body).toMatchObject({ error_code: 'refresh_token_already_used' });
    expect((await refresh(rotated.body!.refresh_token as string)).body).toMatchObject({ error_code: 'refresh_token_already_used' });
  });

  it('a banned user gets no session back through the reuse interval', async () => {
    const user = await createUser();
    await refresh(user.refreshToken);
    await db().query(`update auth.users set banned_until = now() + interval '1 day' where id = $1`, [user.id]);
    expect((await refresh(user.refreshToken)).status).toBe(400);
  });
});
