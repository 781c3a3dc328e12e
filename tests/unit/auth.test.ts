import { SignJWT, UnsecuredJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createStaffVerifier, requireKioskKey, VerifiedTokens } from '../../functions/_shared/auth.ts';

const SECRET = 'unit-test-secret-with-at-least-32-characters!!';
const USER_ID = '3f6f0d2c-8b47-4a7e-9f55-1c2d3e4f5a6b';
const ISSUER = 'http://127.0.0.1:1/auth/v1';
const verify = createStaffVerifier({ jwtSecret: SECRET, supabaseUrl: 'http://127.0.0.1:1', issuer: ISSUER });

async function token(claims: Record<string, unknown>, options: { secret?: string; expiresIn?: string | number } = {}) {
  return new SignJWT({ iss: ISSUER, role: 'authenticated', aud: 'authenticated', sub: USER_ID, ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setExpirationTime(options.expiresIn ?? '1h')
    .sign(new TextEncoder().encode(options.secret ?? SECRET));
}

const withBearer = (value: string | null) =>
  new Request('http://functions.test/transactions/charge', {
    method: 'POST',
    headers: value === null ? {} : { authorization: value },
  });

async function refusedCode(request: Request) {
  try {
    await verify(request);
  } catch (error) {
    return [(error as { status: number }).status, (error as { code: string }).code];
  }
  throw new Error('expected a refusal');
}

describe('staff JWT verification', () => {
  it('returns the user id and the session id of a valid access token', async () => {
    const sessionId = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
    expect(await verify(withBearer(`Bearer ${await token({ session_id: sessionId })}`))).toEqual({
      p_actor_user_id: USER_ID,
      p_actor_session_id: sessionId,
    });
  });

  it('returns no session for a token without the claim (SQL then judges the user alone)', async () => {
    expect(await verify(withBearer(`Bearer ${await token({})}`))).toEqual({ p_actor_user_id: USER_ID });
  });

  it.each([['not-a-uuid'], [42], [null]])('refuses a session_id claim of %j', async (sessionId) => {
    expect(await refusedCode(withBearer(`Bearer ${await token({ session_id: sessionId })}`))).toEqual([401, 'not_authenticated']);
  });

  it('refuses a missing Authorization header', async () => {
    expect(await refusedCode(withBearer(null))).toEqual([401, 'not_authenticated']);
  });

  it('refuses an expired token', async () => {
    const expired = await token({}, { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    expect(await refusedCode(withBearer(`Bearer ${expired}`))).toEqual([401, 'not_authenticated']);
  });

  it('refuses a token signed with another secret', async () => {
    const forged = await token({}, { secret: 'another-secret-that-is-also-32-characters-long' });
    expect(await refusedCode(withBearer(`Bearer ${forged}`))).toEqual([401, 'not_authenticated']);
  });

  it('refuses an unsigned alg none token', async () => {
    const unsigned = new UnsecuredJWT({ role: 'authenticated', sub: USER_ID }).setExpirationTime('1h').encode();
    expect(await refusedCode(withBearer(`Bearer ${unsigned}`))).toEqual([401, 'not_authenticated']);
  });

  it('refuses a token without an expiry', async () => {
    const eternal = await new SignJWT({ role: 'authenticated', sub: USER_ID })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET));
    expect(await refusedCode(withBearer(`Bearer ${eternal}`))).toEqual([401, 'not_authenticated']);
  });

  it('refuses a project key (role anon or service_role, no user)', async () => {
    const anonKey = await new SignJWT({ role: 'anon', iss: 'supabase-demo' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
    expect(await refusedCode(withBearer(`Bearer ${anonKey}`))).toEqual([401, 'not_authenticated']);
    const serviceWithSub = await token({ role: 'service_role' });
    expect(await refusedCode(withBearer(`Bearer ${serviceWithSub}`))).toEqual([401, 'not_authenticated']);
  });

  it.each([
    ['another issuer', { iss: 'https://another-project.supabase.co/auth/v1' }],
    ['no issuer', { iss: undefined }],
    ['another audience', { aud: 'service' }],
    ['no audience', { aud: undefined }],
  ])('refuses a token with %s', async (_, claims) => {
    expect(await refusedCode(withBearer(`Bearer ${await token(claims)}`))).toEqual([401, 'not_authenticated']);
  });

  it('accepts an audience list that names authenticated', async () => {
    expect(await verify(withBearer(`Bearer ${await token({ aud: ['authenticated', 'other'] })}`))).toEqual({ p_actor_user_id: USER_ID });
  });

  it('refuses a subject that is not a user id', async () => {
    expect(await refusedCode(withBearer(`Bearer ${await token({ sub: 'admin' })}`))).toEqual([401, 'not_authenticated']);
  });

  it.each(['Basic dXNlcjpwdw==', 'Bearer', 'Bearer not.a.jwt', 'bearer a b'])('refuses the header %j', async (header) => {
    expect(await refusedCode(withBearer(header))).toEqual([401, 'not_authenticated']);
  });
});

describe('a token verified before', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is refused once it expires, as a token seen for the first time would be', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const started = Date.now();
    const header = `Bearer ${await token({}, { expiresIn: Math.floor(started / 1000) + 60 })}`;
    expect(await verify(withBearer(header))).toEqual({ p_actor_user_id: USER_ID });
    vi.setSystemTime(started + 30_000);
    expect(await verify(withBearer(header))).toEqual({ p_actor_user_id: USER_ID });
    vi.setSystemTime(Math.ceil(started / 1000) * 1000 + 60_000);
    expect(await refusedCode(withBearer(header))).toEqual([401, 'not_authenticated']);
  });

  it('vouches for no other token: the same claims with a changed signature are refused', async () => {
    const valid = await token({});
    expect(await verify(withBearer(`Bearer ${valid}`))).toEqual({ p_actor_user_id: USER_ID });
    // A character inside the signature, not its last one (whose low bits are padding).
    const at = valid.length - 10;
    const tampered = `${valid.slice(0, at)}${valid[at] === 'A' ? 'B' : 'A'}${valid.slice(at + 1)}`;
    expect(await refusedCode(withBearer(`Bearer ${tampered}`))).toEqual([401, 'not_authenticated']);
  });
});

describe('the verified-token cache', () => {
  const actor = Object.freeze({ p_actor_user_id: USER_ID });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps a verified token for at most five minutes, even when the token lives longer', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_800_000_000_000);
    const cache = new VerifiedTokens();
    cache.add('token', actor, 1_800_000_000 + 3_600);
    vi.setSystemTime(1_800_000_000_000 + 5 * 60_000 - 1);
    expect(cache.get('token')).toBe(actor);
    vi.setSystemTime(1_800_000_000_000 + 5 * 60_000);
    expect(cache.get('token')).toBeUndefined();
  });

  it('keeps at most 10,000 tokens, making room by dropping the oldest', () => {
    const cache = new VerifiedTokens();
    const exp = Math.floor(Date.now() / 1000) + 3_600;
    for (let n = 0; n < 10_000; n++) cache.add(`token-${n}`, actor, exp);
    cache.add('token-10000', actor, exp);
    expect(cache.get('token-0')).toBeUndefined();
    expect(cache.get('token-1')).toBe(actor);
    expect(cache.get('token-10000')).toBe(actor);
  });
});

describe('kiosk key', () => {
  const withKey = (key: string | null) =>
    new Request('http://functions.test/kiosk/pay', { method: 'POST', headers: key === null ? {} : { 'x-kiosk-key': key } });

  it('passes the device key through unchanged for SQL to check', () => {
    expect(requireKioskKey(withKey('ck_live_6b1f0e'))).toBe('ck_live_6b1f0e');
  });

  it.each([
    ['missing', null],
    ['empty', ''],
    ['too long', 'k'.repeat(201)],
  ])('refuses a key that is %s with 401 invalid_kiosk_key', (_label, key) => {
    expect(() => requireKioskKey(withKey(key))).toThrow(expect.objectContaining({ code: 'invalid_kiosk_key', status: 401 }));
  });
});
