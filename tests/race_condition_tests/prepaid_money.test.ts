// The races of prepaid money with two parts (issue 12): partial cancels of one deduct arriving
// together, a refund racing kiosk payments, and charges racing the end of their promotion. Each must
// leave books that add up, in both parts, with no gap in the customer's sequence.
import { describe, expect, it } from 'vitest';
import { asKiosk, asStaff, callFunction, charge, newIdempotencyKey, shopWithCustomer } from '../functions/http.ts';
import { balanceParts, db } from '../support/index.ts';
import { IN_FLIGHT, atOnce, expectBooksBalance } from './at-once.ts';

describe('concurrent prepaid money', () => {
  it('50 concurrent partial cancels of 1,000 on a deduct of 40,000: exactly 40 apply, each part back where it came from', async () => {
    const { owner, manager, staff, shop, customer } = await shopWithCustomer();
    await callFunction('promotions', asStaff(owner), { body: { shop_id: shop.id, min_charge: 30_000, bonus_amount: 10_000 } });
    await charge(staff, customer.id, 30_000);
    const deduct = await callFunction('transactions/deduct', asStaff(staff), {
      body: { customer_id: customer.id, amount: 40_000 },
      idempotencyKey: newIdempotencyKey(),
    });
    expect(deduct.body.transaction).toMatchObject({ paid_amount: 30_000, bonus_amount: 10_000 });

    const { answers, outcomes } = await atOnce('50 partial cancels of one deduct', IN_FLIGHT, (index) =>
      callFunction('transactions/cancel', asStaff(index % 2 === 0 ? owner : manager), {
        body: { transaction_id: deduct.body.transaction.id, amount: 1_000 },
        idempotencyKey: newIdempotencyKey(),
      }),
    );

    expect(outcomes).toEqual({ '200': 40, '409 already_cancelled': 10 });
    const applied = answers.filter((a) => a.status === 200).map((a) => a.body.transaction);
    expect(applied.reduce((sum, t) => sum + t.paid_amount, 0)).toBe(30_000);
    expect(applied.reduce((sum, t) => sum + t.bonus_amount, 0)).toBe(10_000);
    expect(await balanceParts(customer.id)).toMatchObject({ balance: 40_000, paid: 30_000, bonus: 10_000 });
    const ledger = await expectBooksBalance(customer.id, 40_000);
    expect(ledger).toHaveLength(3 + 40);
  });

  it('a refund racing 49 kiosk payments: the refund takes exactly what the payments before it left, and none is paid after', async () => {
    const { owner, customer, kiosks } = await shopWithCustomer({ balance: 100_000, pin: '4821', kiosks: 5 });

    const { answers, outcomes } = await atOnce('a refund and 49 kiosk payments', IN_FLIGHT, (index) =>
      index === 25
        ? callFunction('refunds', asStaff(owner), { body: { customer_id: customer.id, method: 'cash' }, idempotencyKey: newIdempotencyKey() })
        : callFunction('kiosk/pay', asKiosk(kiosks[index % 5]!.device_key), {
            body: { phone: customer.phone, pin: '4821', amount: 1_000 },
            idempotencyKey: newIdempotencyKey(),
          }),
    );

    const refund = answers[25]!;
    expect(refund.status).toBe(200);
    const paid = answers.filter((a, index) => index !== 25 && a.status === 200);
    const refused = answers.filter((a, index) => index !== 25 && a.status !== 200);
    expect(paid.length + refused.length).toBe(49);
    for (const answer of refused) expect([answer.status, answer.body.error.code]).toEqual([409, 'insufficient_balance']);
    expect(outcomes['200']).toBe(1 + paid.length);
    // Every payment before the refund (by sequence) succeeded; every one after it was refused.
    expect(refund.body.refund.payout).toBe(100_000 - 1_000 * paid.length);
    for (const answer of paid) expect(answer.body.transaction.sequence).toBeLessThan(refund.body.transaction.sequence);
    expect(refund.body.transaction.sequence).toBe(paid.length + 2);
    expect(await balanceParts(customer.id)).toMatchObject({ balance: 0, paid: 0, bonus: 0 });
    await expectBooksBalance(customer.id, 0);
  });

  it('49 charges racing the end of their promotion: bonuses only before the end, exactly once each, and none after', async () => {
    const { owner, staff, shop, customer } = await shopWithCustomer();
    await db().query('update public.shops set max_balance = 100000000 where id = $1', [shop.id]);
    const created = await callFunction('promotions', asStaff(owner), { body: { shop_id: shop.id, min_charge: 100_000, bonus_percent: 10 } });
    const promotionId: string = created.body.promotion.id;

    const { answers, outcomes } = await atOnce('49 charges and the end of their promotion', IN_FLIGHT, (index) =>
      index === 10
        ? callFunction('promotions/end', asStaff(owner), { body: { promotion_id: promotionId } })
        : callFunction('transactions/charge', asStaff(staff), { body: { customer_id: customer.id, amount: 100_000 }, idempotencyKey: newIdempotencyKey() }),
    );

    expect(outcomes).toEqual({ '200': 50 });
    const charges = answers.filter((_, index) => index !== 10).map((a) => a.body);
    const withBonus = charges.filter((c) => c.bonus === 10_000);
    for (const c of charges) {
      expect([c.bonus, c.promotion_id]).toEqual(c.bonus === 0 ? [0, null] : [10_000, promotionId]);
    }
    // The end is after every bonus it let through.
    const { rows } = await db().query(
      `select count(*)::int as bonuses, count(*) filter (where t.created_at < p.ends_at)::int as before_end
         from public.transactions t join public.promotions p on p.id = t.promotion_id
        where t.customer_id = $1`,
      [customer.id],
    );
    expect(rows[0]).toEqual({ bonuses: withBonus.length, before_end: withBonus.length });
    const after = await charge(staff, customer.id, 100_000);
    expect(after).toMatchObject({ bonus: 0, promotion_id: null });
    expect(await balanceParts(customer.id)).toMatchObject({
      balance: 50 * 100_000 + withBonus.length * 10_000, paid: 50 * 100_000, bonus: withBonus.length * 10_000,
    });
    await expectBooksBalance(customer.id, 50 * 100_000 + withBonus.length * 10_000);
  });
});
