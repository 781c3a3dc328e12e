/**
 * What the hostile-input suites share (the raw request with its deadline is tests/support's): the
 * judgement of a refusal (the error contract, or the platform's own 401 in front of the code), forged
 * tokens, and a fingerprint of everything a request could change in a set of shops.
 */
import { SignJWT } from 'jose';
import { expect } from 'vitest';
import { db, stackEnv } from '../support/index.ts';
import { expectError, signToken, type FunctionAnswer } from '../functions/http.ts';
import { ERROR_STATUS } from '../../functions/_shared/errors.ts';

/** Every code of docs/contract.md's error table with its status, as the functions' one mapping holds it. */
export const CONTRACT_STATUS: Record<string, number> = ERROR_STATUS;

export const BAD_REQUEST_CODES = Object.keys(CONTRACT_STATUS).filter((code) => CONTRACT_STATUS[code] === 400);

/**
 * What a refusal must be:
 * - `contract`: answered by our function, in the error contract, with one of these codes;
 * - `platform`: answered before our code runs, by the gateway's apikey check or the edge runtime's
 *   verify_jwt, as Supabase's own Kong and edge runtime answer (401 with their `message`/`msg` body).
 */
export type Expected = { layer: 'contract'; codes: readonly string[] } | { layer: 'platform' };

export function expectRefusal(answer: FunctionAnswer, expected: Expected, context: string): void {
  const shown = `${context}\n→ ${answer.status} ${JSON.stringify(answer.body)?.slice(0, 400)}`;
  expect(answer.status, shown).toBeGreaterThanOrEqual(400);
  expect(answer.status, shown).toBeLessThan(500);
  if (expected.layer === 'platform') {
    expect(answer.status, shown).toBe(401);
    const body = answer.body as Record<string, unknown> | null;
    expect(typeof body?.message === 'string' || typeof body?.msg === 'string', shown).toBe(true);
    return;
  }
  const code = (answer.body as { error?: { code?: unknown } } | null)?.error?.code;
  expect(expected.codes, shown).toContain(code);
  expect(Object.keys((answer.body as { error: object }).error).sort(), shown).toEqual(['code', 'details', 'message', 'request_id']);
  expectError(answer, CONTRACT_STATUS[code as string], code as string);
}

const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Tokens that must never pass for a shop member, each for the user `sub`. */
export async function forgedTokens(sub: string) {
  const now = Math.floor(Date.now() / 1000);
  return {
    expired: await signToken({ sub, iat: now - 7200, exp: now - 60 }),
    otherSecret: await signToken({ sub }, 'not-the-project-secret-but-at-least-32-characters'),
    algNone: `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub, role: 'authenticated', aud: 'authenticated', exp: now + 600 })}.`,
    // Signed with the project's secret, so only the functions' own checks stand in the way.
    withoutExpiry: await new SignJWT({ sub, role: 'authenticated', aud: 'authenticated' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode(stackEnv().JWT_SECRET)),
    serviceRoleClaim: await signToken({ sub, role: 'service_role' }),
    subjectNotUuid: await signToken({ sub: `${sub}' or '1'='1` }),
    unknownUser: await signToken({ sub: '00000000-0000-4000-8000-0000000000ff' }),
  };
}

export interface ShopsFingerprint {
  shops: string;
  members: string;
  customers: number;
  balances: number;
  customerRows: string;
  transactions: number;
  ledgerSum: number;
  ledgerRows: string;
  pinFailures: number;
  pinRows: string;
  kiosks: number;
  kioskRows: string;
  promotionRows: string;
}

/**
 * Everything a request could change in these shops, read past RLS: counts and sums to show in a
 * diff, and an md5 over the rows so that a changed name, phone, PIN hash, lock or kiosk flag shows
 * too. Scoped to the shops a suite made, because other suites move money in their own shops at the
 * same time.
 */
export async function fingerprint(shopIds: string[], options: { kioskLastSeen?: boolean } = {}): Promise<ShopsFingerprint> {
  // A kiosk's own valid request records when it was seen; that is not a change a refusal could make.
  const lastSeen = options.kioskLastSeen === false ? 'null' : 'k.last_seen_at';
  const { rows } = await db().query(
    `select
       (select md5(coalesce(string_agg(row(s.*)::text, '|' order by s.id), '')) from public.shops s where s.id = any($1)) as shops,
       (select md5(coalesce(string_agg(row(m.*)::text, '|' order by m.shop_id, m.user_id), '')) from public.shop_members m where m.shop_id = any($1)) as members,
       (select count(*) from public.customers c where c.shop_id = any($1))::int as customers,
       (select coalesce(sum(c.current_balance), 0) from public.customers c where c.shop_id = any($1))::bigint as balances,
       (select md5(coalesce(string_agg(row(c.*)::text, '|' order by c.id), '')) from public.customers c where c.shop_id = any($1)) as customer_rows,
       (select count(*) from public.transactions t where t.shop_id = any($1))::int as transactions,
       (select coalesce(sum(t.amount), 0) from public.transactions t where t.shop_id = any($1))::bigint as ledger_sum,
       (select md5(coalesce(string_agg(row(t.*)::text, '|' order by t.id), '')) from public.transactions t where t.shop_id = any($1)) as ledger_rows,
       (select coalesce(sum(p.failed_attempts), 0) from private.customer_pins p join public.customers c on c.id = p.customer_id where c.shop_id = any($1))::int as pin_failures,
       (select md5(coalesce(string_agg(row(p.*)::text, '|' order by p.customer_id), '')) from private.customer_pins p join public.customers c on c.id = p.customer_id where c.shop_id = any($1)) as pin_rows,
       (select count(*) from public.kiosks k where k.shop_id = any($1))::int as kiosks,
       (select md5(coalesce(string_agg(concat_ws(',', k.id, k.name, k.active, ${lastSeen}, kc.key_hash), '|' order by k.id), ''))
          from public.kiosks k left join private.kiosk_credentials kc on kc.kiosk_id = k.id where k.shop_id = any($1)) as kiosk_rows,
       (select md5(coalesce(string_agg(row(p.*)::text, '|' order by p.id), '')) from public.promotions p where p.shop_id = any($1)) as promotion_rows`,
    [shopIds],
  );
  const row = rows[0];
  return {
    shops: row.shops,
    members: row.members,
    customers: row.customers,
    balances: Number(row.balances),
    customerRows: row.customer_rows,
    transactions: row.transactions,
    ledgerSum: Number(row.ledger_sum),
    ledgerRows: row.ledger_rows,
    pinFailures: row.pin_failures,
    pinRows: row.pin_rows,
    kiosks: row.kiosks,
    kioskRows: row.kiosk_rows,
    promotionRows: row.promotion_rows,
  };
}
