import { randomBytes, randomUUID } from 'node:crypto';
import type { SupabaseClient } from '@supabase/supabase-js';
import type { Database } from '../../functions/_shared/database.types.ts';
import { anonClient, db, serviceClient } from './clients.ts';

export type ShopRole = 'owner' | 'manager' | 'staff';

export interface TestUser {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  /** A supabase-js client signed in as this user, as the shops' web frontend holds one. */
  client: SupabaseClient<Database>;
}

export interface TestShop {
  id: string;
  name: string;
  max_balance: number;
  pin_max_attempts: number;
  pin_lock_minutes: number;
  created_at: string;
}

function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** An address no other test uses, on the test domain. */
export function uniqueEmail(prefix: string): string {
  return `${unique(prefix)}@test.comings.kr`;
}

function fail(what: string, error: { message: string } | null): never {
  throw new Error(`${what}: ${error?.message ?? 'no data returned'}`);
}

/** A confirmed user made through GoTrue's admin API, then signed in with the password. */
export async function createUser(options: { email?: string; password?: string } = {}): Promise<TestUser> {
  const email = options.email ?? uniqueEmail('user');
  const password = options.password ?? `pw-${randomBytes(9).toString('base64url')}`;
  const created = await serviceClient().auth.admin.createUser({ email, password, email_confirm: true });
  if (created.error || !created.data.user) fail(`createUser ${email}`, created.error);

  const client = anonClient();
  const signedIn = await client.auth.signInWithPassword({ email, password });
  if (signedIn.error || !signedIn.data.session) fail(`signInWithPassword ${email}`, signedIn.error);

  return {
    id: created.data.user.id,
    email,
    password,
    accessToken: signedIn.data.session.access_token,
    refreshToken: signedIn.data.session.refresh_token,
    client,
  };
}

/** The same user signed in again on a client of its own, as another device holds a second session. */
export async function signInAgain(user: TestUser): Promise<TestUser> {
  const client = anonClient();
  const { data, error } = await client.auth.signInWithPassword({ email: user.email, password: user.password });
  if (error || !data.session) fail(`signInAgain ${user.email}`, error);
  return { ...user, client, accessToken: data.session.access_token, refreshToken: data.session.refresh_token };
}

export async function createShop(
  options: { name?: string; maxBalance?: number; pinMaxAttempts?: number; pinLockMinutes?: number } = {},
): Promise<TestShop> {
  const row: Database['public']['Tables']['shops']['Insert'] = { name: options.name ?? unique('테스트 가게') };
  if (options.maxBalance !== undefined) row.max_balance = options.maxBalance;
  if (options.pinMaxAttempts !== undefined) row.pin_max_attempts = options.pinMaxAttempts;
  if (options.pinLockMinutes !== undefined) row.pin_lock_minutes = options.pinLockMinutes;
  const { data, error } = await serviceClient().from('shops').insert(row).select().single();
  if (error || !data) fail('createShop', error);
  return data as TestShop;
}

export async function addMember(shopId: string, userId: string, role: ShopRole): Promise<void> {
  const { error } = await serviceClient().from('shop_members').insert({ shop_id: shopId, user_id: userId, role });
  if (error) fail(`addMember ${role}`, error);
}

export interface ShopWithStaff {
  shop: TestShop;
  owner: TestUser;
  manager: TestUser;
  staff: TestUser;
}

/** A fresh shop with one member of each role, so every test owns its data. */
export async function createShopWithStaff(options: Parameters<typeof createShop>[0] = {}): Promise<ShopWithStaff> {
  const [shop, owner, manager, staff] = await Promise.all([
    createShop(options),
    createUser(),
    createUser(),
    createUser(),
  ]);
  await Promise.all([
    addMember(shop.id, owner.id, 'owner'),
    addMember(shop.id, manager.id, 'manager'),
    addMember(shop.id, staff.id, 'staff'),
  ]);
  return { shop, owner, manager, staff };
}

/**
 * The token of the invitation mail last sent to this address, as the link in it carries it
 * (`/auth/v1/verify?token=...&type=invite`): GoTrue keeps that token hash in confirmation_token. A test
 * reads it where any stack has it, instead of from the local stack's mail log.
 */
export async function invitationToken(email: string): Promise<string> {
  const { rows } = await db().query<{ confirmation_token: string }>(
    `select confirmation_token from auth.users where email = lower($1) and invited_at is not null`,
    [email],
  );
  if (!rows[0]?.confirmation_token) throw new Error(`no pending invitation for ${email}`);
  return rows[0].confirmation_token;
}
