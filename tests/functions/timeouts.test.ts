// Statement and lock timeouts: nothing the API roles run waits without bound, and a money call stuck
// behind a lock answers 504 in the error contract, rolled back, so that its retry applies it once.
import { describe, expect, it } from 'vitest';
import { asStaff, callFunction, expectError, ledgerCount, newIdempotencyKey, shopWithCustomer, type FunctionAnswer } from './http.ts';
import { balanceOf, db } from '../support/index.ts';

describe('timeouts', () => {
  it('the API roles carry Supabase\'s statement timeouts, and the service role a lock timeout for money calls', async () => {
    const { rows } = await db().query<{ rolname: string; rolconfig: string[] | null }>(
      `select rolname, rolconfig from pg_roles where rolname in ('anon', 'authenticated', 'authenticator', 'service_role') order by rolname`,
    );
    expect(Object.fromEntries(rows.map((row) => [row.rolname, [...(row.rolconfig ?? [])].sort()]))).toEqual({
      anon: ['statement_timeout=3s'],
      authenticated: ['statement_timeout=8s'],
      authenticator: ['statement_timeout=8s'],
      service_role: ['lock_timeout=3s', 'statement_timeout=8s'],
    });
  });

  it('a charge queued behind a held row lock answers 504 upstream_timeout after about 3 s and changes nothing; the retry applies it once', { timeout: 30_000 }, async () => {
    const { owner, customer } = await shopWithCustomer({ balance: 10_000 });
    const key = newIdempotencyKey();
    const holder = await db().connect();
    let answer: FunctionAnswer | undefined;
    const started = Date.now();
    try {
      await holder.query('begin');
      await holder.query('select 1 from public.customers where id = $1 for update', [customer.id]);
      answer = await callFunction('transactions/charge', asStaff(owner), { body: { customer_id: customer.id, amount: 5_000 }, idempotencyKey: key });
    } finally {
      await holder.query('rollback');
      holder.release();
    }
    const elapsed = Date.now() - started;
    if (!answer) throw new Error('the charge never answered');
    expectError(answer, 504, 'upstream_timeout');
    expect(answer.headers.get('retry-after')).toBe('2');
    expect(elapsed).toBeGreaterThanOrEqual(2_900);
    expect(elapsed).toBeLessThan(8_000);
    expect([await ledgerCount(customer.id), await balanceOf(customer.id)]).toEqual([1, 10_000]);

    const retry = await callFunction('transactions/charge', asStaff(owner), { body: { customer_id: customer.id, amount: 5_000 }, idempotencyKey: key });
    expect([retry.status, retry.headers.get('idempotent-replayed'), retry.body.balance]).toEqual([200, null, 15_000]);
    expect(await ledgerCount(customer.id)).toBe(2);
  });
});
