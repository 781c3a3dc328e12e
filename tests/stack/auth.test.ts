import { createClient } from '@supabase/supabase-js';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { anonClient, clientOptions, closeDb, createUser, db, invitationToken, serviceClient, stackEnv, uniqueEmail } from '../support/index.ts';
import { authFetch } from './support.ts';

afterAll(closeDb);

const email = () => uniqueEmail('auth');

describe('auth (GoTrue subset) through supabase-js', () => {
  it('admin.createUser stores a confirmed user with a GoTrue bcrypt hash and the given metadata', async () => {
    const address = email();
    const { data, error } = await serviceClient().auth.admin.createUser({
      email: address.toUpperCase(),
      password: 'correct horse',
      email_confirm: true,
      user_metadata: { display_name: '김사장' },
      app_metadata: { shop_hint: 'demo' },
    });
    expect(error).toBeNull();
    expect(data.user).toMatchObject({
      email: address,
      aud: 'authenticated',
      role: 'authenticated',
      user_metadata: { display_name: '김사장' },
      app_metadata: { provider: 'email', providers: ['email'], shop_hint: 'demo' },
      is_anonymous: false,
    });
    expect(data.user!.email_confirmed_at).toEqual(expect.any(String));

    const { rows } = await db().query<{ encrypted_password: string }>(
      'select encrypted_password from auth.users where id = $1',
      [data.user!.id],
    );
    expect(rows[0].encrypted_password).toMatch(/^\$2a\$10\$[./A-Za-z0-9]{53}$/);
  });

  it('admin.createUser is refused to the anon key, for a duplicate email and for a short password', async () => {
    const address = email();
    const asAnon = await anonClient().auth.admin.createUser({ email: address, password: 'long enough' });
    expect(asAnon.error).toMatchObject({ status: 403, code: 'not_admin', message: 'User not allowed' });

    const admin = serviceClient().auth.admin;
    expect((await admin.createUser({ email: address, password: 'long enough', email_confirm: true })).error).toBeNull();
    const duplicate = await admin.createUser({ email: address, password: 'long enough' });
    expect(duplicate.error).toMatchObject({
      status: 422,
      code: 'email_exists',
      message: 'A user with this email address has already been registered',
    });

    const weak = await admin.createUser({ email: email(), password: '12345' });
    expect(weak.error).toMatchObject({ status: 422, code: 'weak_password', message: 'Password should be at least 6 characters.' });
    expect((weak.error as { reasons?: string[] }).reasons).toEqual(['length']);
  });

  it('signInWithPassword returns a session whose access token carries GoTrue claims', async () => {
    const user = await createUser();
    const client = anonClient();
    const { data, error } = await client.auth.signInWithPassword({ email: user.email, password: user.password });
    expect(error).toBeNull();
    const session = data.session!;
    expect(session.token_type).toBe('bearer');
    expect(session.expires_in).toBe(3600);
    expect(decodeProtectedHeader(session.access_token)).toEqual({ alg: 'HS256', typ: 'JWT' });

    const claims = decodeJwt(session.access_token);
    expect(claims).toMatchObject({
      sub: user.id,
      role: 'authenticated',
      aud: 'authenticated',
      email: user.email,
      phone: '',
      aal: 'aal1',
      is_anonymous: false,
      iss: `${stackEnv().API_URL}/auth/v1`,
      app_metadata: { provider: 'email', providers: ['email'] },
      user_metadata: {},
    });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(session.expires_at).toBe(claims.exp);
    expect(claims.amr).toEqual([{ method: 'password', timestamp: claims.iat }]);

    const { rows } = await db().query<{ user_id: string }>('select user_id from auth.sessions where id = $1', [claims.session_id]);
    expect(rows).toEqual([{ user_id: user.id }]);
  });

  it('a wrong password and an unknown email get the same 400 invalid_credentials', async () => {
    const user = await createUser();
    const wrong = await anonClient().auth.signInWithPassword({ email: user.email, password: 'not-the-password' });
    const unknown = await anonClient().auth.signInWithPassword({ email: email(), password: 'whatever1' });
    for (const { error, data } of [wrong, unknown]) {
      expect(data.session).toBeNull();
      expect(error).toMatchObject({ status: 400, code: 'invalid_credentials', message: 'Invalid login credentials' });
    }
  });

  it('answers errors in the body GoTrue picks for the client API version', async () => {
    const credentials = { email: email(), password: 'whatever1' };
    expect(await authFetch('/token?grant_type=password', { body: credentials })).toEqual({
      status: 400,
      body: { code: 400, error_code: 'invalid_credentials', msg: 'Invalid login credentials' },
    });
    expect(await authFetch('/token?grant_type=password', { body: credentials, apiVersion: true })).toEqual({
      status: 400,
      body: { code: 'invalid_credentials', message: 'Invalid login credentials' },
    });
  });

  it('an unconfirmed email cannot sign in', async () => {
    const address = email();
    await serviceClient().auth.admin.createUser({ email: address, password: 'long enough' });
    const { error } = await anonClient().auth.signInWithPassword({ email: address, password: 'long enough' });
    expect(error).toMatchObject({ status: 400, code: 'email_not_confirmed', message: 'Email not confirmed' });
  });

  it('getUser returns the signed-in user from the server', async () => {
    const user = await createUser();
    const { data, error } = await user.client.auth.getUser();
    expect(error).toBeNull();
    expect(data.user).toMatchObject({ id: user.id, email: user.email, role: 'authenticated', aud: 'authenticated' });
    expect(data.user!.last_sign_in_at).toEqual(expect.any(String));
  });

  it('refreshSession rotates the refresh token; replaying the old one after the reuse interval is refused and ends the session', async () => {
    const user = await createUser();
    const { data, error } = await user.client.auth.refreshSession();
    expect(error).toBeNull();
    const rotated = data.session!;
    expect(rotated.refresh_token).not.toBe(user.refreshToken);
    expect(rotated.access_token).not.toBe(user.accessToken);
    expect(decodeJwt(rotated.access_token)).toMatchObject({ sub: user.id, session_id: decodeJwt(user.accessToken).session_id });
    expect(decodeJwt(rotated.access_token).amr).toEqual([{ method: 'token_refresh', timestamp: expect.any(Number) }]);

    // Within 10 s the old token would get the current one back (GoTrue's reuse interval): move its
    // revocation back in time instead of waiting.
    await db().query(`update auth.refresh_tokens set updated_at = now() - interval '11 seconds' where token = $1`, [user.refreshToken]);
    const replay = await authFetch('/token?grant_type=refresh_token', { body: { refresh_token: user.refreshToken } });
    expect(replay).toEqual({
      status: 400,
      body: { code: 400, error_code: 'refresh_token_already_used', msg: 'Invalid Refresh Token: Already Used' },
    });
    // The replay revoked the whole family: the rotated token, issued to the rightful holder, is dead too.
    const after = await authFetch('/token?grant_type=refresh_token', { body: { refresh_token: rotated.refresh_token } });
    expect(after.status).toBe(400);
    expect(after.body).toMatchObject({ error_code: 'refresh_token_already_used' });
  });

  it('signOut ends every session of the user: refresh and getUser are refused afterwards', async () => {
    const user = await createUser();
    const other = anonClient();
    const second = await other.auth.signInWithPassword({ email: user.email, password: user.password });
    expect(second.error).toBeNull();

    expect((await user.client.auth.signOut()).error).toBeNull();

    for (const refreshToken of [user.refreshToken, second.data.session!.refresh_token]) {
      expect(await authFetch('/token?grant_type=refresh_token', { body: { refresh_token: refreshToken } })).toEqual({
        status: 400,
        body: { code: 400, error_code: 'refresh_token_not_found', msg: 'Invalid Refresh Token: Refresh Token Not Found' },
      });
    }
    expect(await authFetch('/user', { method: 'GET', token: user.accessToken })).toEqual({
      status: 403,
      body: { code: 403, error_code: 'session_not_found', msg: 'Session from session_id claim in JWT does not exist' },
    });
    const { rowCount } = await db().query('select 1 from auth.sessions where user_id = $1', [user.id]);
    expect(rowCount).toBe(0);
  });

  it("signOut with scope 'local' ends only this session", async () => {
    const user = await createUser();
    const other = createClient(stackEnv().API_URL, stackEnv().ANON_KEY, clientOptions);
    const second = await other.auth.signInWithPassword({ email: user.email, password: user.password });

    expect((await user.client.auth.signOut({ scope: 'local' })).error).toBeNull();

    const ended = await authFetch('/token?grant_type=refresh_token', { body: { refresh_token: user.refreshToken } });
    expect(ended.status).toBe(400);
    const kept = await other.auth.refreshSession();
    expect(kept.error).toBeNull();
    expect(decodeJwt(kept.data.session!.access_token).session_id).toBe(decodeJwt(second.data.session!.access_token).session_id);
  });

  it('GET /user without a token or with the anon key is refused as GoTrue refuses it', async () => {
    expect(await authFetch('/user', { method: 'GET' })).toEqual({
      status: 403,
      body: { code: 403, error_code: 'bad_jwt', msg: 'invalid claim: missing sub claim' },
    });
    expect(await authFetch('/user', { method: 'GET', token: 'not-a-jwt' })).toMatchObject({
      status: 403,
      body: { code: 403, error_code: 'bad_jwt' },
    });
  });
});

describe('sign-up and invitations (GoTrue subset) through supabase-js', () => {
  it('signUp confirms the user at once, as `enable_confirmations = false` does, and signs them in', async () => {
    const address = email();
    const client = anonClient();
    const { data, error } = await client.auth.signUp({
      email: address.toUpperCase(),
      password: 'cafe-owner-1',
      options: { data: { display_name: '카페 사장' } },
    });
    expect(error).toBeNull();
    expect(data.user).toMatchObject({ email: address, user_metadata: { display_name: '카페 사장' } });
    expect(data.user!.email_confirmed_at).toEqual(expect.any(String));
    expect(decodeJwt(data.session!.access_token)).toMatchObject({ sub: data.user!.id, role: 'authenticated', email: address });
    expect((await client.auth.getUser()).data.user?.id).toBe(data.user!.id);

    const again = await anonClient().auth.signInWithPassword({ email: address, password: 'cafe-owner-1' });
    expect(again.error).toBeNull();
  });

  it('signUp refuses a registered email and a short password, as GoTrue does', async () => {
    const user = await createUser();
    const taken = await anonClient().auth.signUp({ email: user.email, password: 'another one' });
    expect(taken.error).toMatchObject({ status: 422, code: 'user_already_exists', message: 'User already registered' });
    const weak = await anonClient().auth.signUp({ email: email(), password: '12345' });
    expect(weak.error).toMatchObject({ status: 422, code: 'weak_password' });
    const { rows } = await db().query('select 1 from auth.users where email = $1', [user.email]);
    expect(rows).toHaveLength(1);
  });

  it('inviteUserByEmail makes an unconfirmed user; the link signs them in once, then they set a password', async () => {
    const address = email();
    const invited = await serviceClient().auth.admin.inviteUserByEmail(address, { data: { invited_by: 'test' } });
    expect(invited.error).toBeNull();
    expect(invited.data.user).toMatchObject({ email: address, user_metadata: { invited_by: 'test' } });
    expect(invited.data.user!.invited_at).toEqual(expect.any(String));
    expect(invited.data.user!.email_confirmed_at).toBeUndefined();
    // Not confirmed and without a password: no sign-in until the link is followed.
    const early = await anonClient().auth.signInWithPassword({ email: address, password: 'anything' });
    expect(early.error).toMatchObject({ status: 400, code: 'invalid_credentials' });

    // The link as the mail carries it, opened by a browser: no apikey, a redirect to the site.
    const token = await invitationToken(address);
    const link = `${stackEnv().API_URL}/auth/v1/verify?token=${token}&type=invite&redirect_to=${encodeURIComponent('http://127.0.0.1:3000/welcome')}`;
    const followed = await fetch(link, { redirect: 'manual' });
    expect(followed.status).toBe(303);
    const location = new URL(followed.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe('http://127.0.0.1:3000/welcome');
    const fragment = new URLSearchParams(location.hash.slice(1));
    expect(fragment.get('type')).toBe('invite');
    expect(fragment.get('token_type')).toBe('bearer');

    const client = anonClient();
    const set = await client.auth.setSession({
      access_token: fragment.get('access_token')!,
      refresh_token: fragment.get('refresh_token')!,
    });
    expect(set.error).toBeNull();
    expect(set.data.user).toMatchObject({ id: invited.data.user!.id, email: address });
    expect(set.data.user!.email_confirmed_at).toEqual(expect.any(String));
    const updated = await client.auth.updateUser({ password: 'barista-pw-1' });
    expect(updated.error).toBeNull();
    expect(updated.data.user!.id).toBe(invited.data.user!.id);
    const signedIn = await anonClient().auth.signInWithPassword({ email: address, password: 'barista-pw-1' });
    expect(signedIn.error).toBeNull();

    // The link is spent, and a confirmed user cannot be invited again.
    const reused = await fetch(link, { redirect: 'manual' });
    expect(reused.status).toBe(303);
    expect(new URLSearchParams(new URL(reused.headers.get('location')!).hash.slice(1)).get('error_code')).toBe('otp_expired');
    const reinvite = await serviceClient().auth.admin.inviteUserByEmail(address);
    expect(reinvite.error).toMatchObject({ status: 422, code: 'email_exists' });
  });

  it('verifyOtp with the token hash accepts an invitation too; the anon key may not invite', async () => {
    const address = email();
    const asAnon = await anonClient().auth.admin.inviteUserByEmail(address);
    expect(asAnon.error).toMatchObject({ status: 403, code: 'not_admin' });
    expect((await serviceClient().auth.admin.inviteUserByEmail(address)).error).toBeNull();

    const client = anonClient();
    const wrong = await client.auth.verifyOtp({ token_hash: 'f'.repeat(56), type: 'invite' });
    expect(wrong.error).toMatchObject({ status: 403, code: 'otp_expired', message: 'Email link is invalid or has expired' });
    const { data, error } = await client.auth.verifyOtp({ token_hash: await invitationToken(address), type: 'invite' });
    expect(error).toBeNull();
    expect(data.session!.user.email).toBe(address);
    const short = await client.auth.updateUser({ password: '123' });
    expect(short.error).toMatchObject({ status: 422, code: 'weak_password' });
  });
});
