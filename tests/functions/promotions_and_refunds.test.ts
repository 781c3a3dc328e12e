import { describe, expect, it } from 'vitest';
import { db } from '../support/index.ts';
import { asStaff, balanceOf, callFunction, charge, expectError, invoke, ledgerCount, newIdempotencyKey, shopWithCustomer, staffClient } from './http.ts';

// The routes of issue 12 over HTTP: promotions, partial cancels, refund quote and refund, as each caller.

describe('POST /functions/v1/promotions and /promotions/end', () => {
  it('an owner creates a 10 % promotion (201); a charge over it answers bonus and promotion_id; after its end, none', async () => {
    const { owner, staff, shop, customer } = await shopWithCustomer();
    const created = await callFunction('promotions', asStaff(owner), { body: { shop_id: shop.id, min_charge: 100_000, bonus_percent: 10 } });
    expect(created.status).toBe(201);
    expect(created.body.promotion).toMatchObject({ shop_id: shop.id, min_charge: 100_000, bonus_percent: 10, bonus_amount: null, ends_at: null });

    const charged = await callFunction('transactions/charge', asStaff(staff), { body: { customer_id: customer.id, amount: 100_000 }, idempotencyKey: newIdempotencyKey() });
    expect(charged.status).toBe(200);
    expect(charged.body).toMatchObject({ bonus: 10_000, promotion_id: created.body.promotion.id, balance: 110_000, paid_balance: 100_000, bonus_balance: 10_000 });

    const ended = await invoke(staffClient(owner), 'promotions/end', { promotion_id: created.body.promotion.id });
    expect(ended.status).toBe(200);
    expect(ended.body.promotion.ends_at).not.toBeNull();
    const after = await charge(staff, customer.id, 100_000);
    expect(after).toMatchObject({ bonus: 0, promotion_id: null, balance: 210_000 });
  });

  it('refuses a manager (403 insufficient_role), both bonus kinds or neither (400 validation_failed), an unknown promotion (404)', async () => {
    const { owner, manager, shop } = await shopWithCustomer();
    expectError(await callFunction('promotions', asStaff(manager), { body: { shop_id: shop.id, min_charge: 10_000, bonus_amount: 1_000 } }), 403, 'insufficient_role');
    expectError(await callFunction('promotions', asStaff(owner), { body: { shop_id: shop.id, min_charge: 10_000, bonus_amount: 1_000, bonus_percent: 5 } }), 400, 'validation_failed');
    expectError(await callFunction('promotions', asStaff(owner), { body: { shop_id: shop.id, min_charge: 10_000 } }), 400, 'validation_failed');
    expectError(await callFunction('promotions', asStaff(owner), { body: { shop_id: shop.id, min_charge: 10_000, bonus_percent: 101 } }), 400, 'validation_failed');
    expectError(await callFunction('promotions', asStaff(owner), { body: { shop_id: shop.id, min_charge: 10_000, bonus_amount: 1_000, ends_at: 'tomorrow' } }), 400, 'validation_failed');
    expectError(await callFunction('promotions/end', asStaff(owner), { body: { promotion_id: crypto.randomUUID() } }), 404, 'promotion_not_found');
    expectError(await callFunction('promotions', null, { body: { shop_id: shop.id, min_charge: 10_000, bonus_amount: 1_000 } }), 401, 'not_authenticated');
  });
});

describe('POST /functions/v1/transactions/cancel with an amount', () => {
  it('cancels a deduct in two parts and refuses more than remains with 409 cancel_exceeds_remaining', async () => {
    const { owner, staff, customer } = await shopWithCustomer({ balance: 20_000 });
    const deducted = await callFunction('transactions/deduct', asStaff(staff), { body: { customer_id: customer.id, amount: 9_000 }, idempotencyKey: newIdempotencyKey() });
    const cancel = (amount?: number) =>
      callFunction('transactions/cancel', asStaff(owner), {
        body: { transaction_id: deducted.body.transaction.id, ...(amount === undefined ? {} : { amount }) },
        idempotencyKey: newIdempotencyKey(),
      });
    const first = await cancel(4_000);
    expect(first.body).toMatchObject({ transaction: { type: 'deduct_cancel', amount: 4_000, paid_amount: 4_000, bonus_amount: 0 }, balance: 15_000 });
    const error = expectError(await cancel(5_001), 409, 'cancel_exceeds_remaining');
    expect(error.details).toMatchObject({ cancelled: 4_000, remaining: 5_000 });
    expect((await cancel()).body).toMatchObject({ transaction: { amount: 5_000 }, balance: 20_000 });
    expectError(await cancel(), 409, 'already_cancelled');
    expectError(await cancel(0), 400, 'validation_failed');
    expect(await ledgerCount(customer.id)).toBe(4);
  });

  it('refuses a partial cancel of a charge with 409 partial_cancel_not_allowed', async () => {
    const { owner, customer } = await shopWithCustomer({ balance: 8_000 });
    const { rows } = await db().query<{ id: string }>(`select id from public.transactions where customer_id = $1 and type = 'charge'`, [customer.id]);
    const answer = await callFunction('transactions/cancel', asStaff(owner), { body: { transaction_id: rows[0]!.id, amount: 1_000 }, idempotencyKey: newIdempotencyKey() });
    expectError(answer, 409, 'partial_cancel_not_allowed');
    expect(await balanceOf(customer.id)).toBe(8_000);
  });
});

describe('POST /functions/v1/refunds/quote and /refunds', () => {
  it('quotes, then refunds with an Idempotency-Key; a retry replays with Idempotent-Replayed: true', async () => {
    const { manager, staff, customer } = await shopWithCustomer({ balance: 30_000 });
    await callFunction('transactions/deduct', asStaff(staff), { body: { customer_id: customer.id, amount: 21_000 }, idempotencyKey: newIdempotencyKey() });
    const quote = await callFunction('refunds/quote', asStaff(manager), { body: { customer_id: customer.id } });
    expect([quote.status, quote.body]).toEqual([200, {
      customer_id: customer.id, balance: 9_000, paid_balance: 9_000, bonus_balance: 0, charged_since_last_refund: 30_000,
      used_since_last_refund: 21_000, statutory_right: true, rule: '60_percent_used', fee_percent: 0, fee: 0,
      refundable: 9_000, bonus_forfeited: 0, allowed: true,
    }]);

    const key = newIdempotencyKey();
    const refund = await callFunction('refunds', asStaff(manager), { body: { customer_id: customer.id, method: 'cash', memo: '이사' }, idempotencyKey: key });
    expect(refund.status).toBe(200);
    expect(refund.headers.get('idempotent-replayed')).toBeNull();
    expect(refund.body).toMatchObject({
      transaction: { type: 'refund', amount: 9_000, paid_amount: 9_000, bonus_amount: 0 }, balance: 0, paid_balance: 0, bonus_balance: 0,
      refund: { method: 'cash', paid_amount: 9_000, bonus_forfeited: 0, fee: 0, payout: 9_000, rule: '60_percent_used' },
    });
    const again = await callFunction('refunds', asStaff(manager), { body: { customer_id: customer.id, method: 'cash', memo: '이사' }, idempotencyKey: key });
    expect([again.status, again.headers.get('idempotent-replayed'), again.body]).toEqual([200, 'true', refund.body]);
    expectError(await callFunction('refunds', asStaff(manager), { body: { customer_id: customer.id, method: 'cash' }, idempotencyKey: newIdempotencyKey() }), 409, 'nothing_to_refund');
    expect(await balanceOf(customer.id)).toBe(0);
  });

  it('refuses staff (403), a missing Idempotency-Key (400), an unknown method (400) and another shop (404, as an unknown customer)', async () => {
    const { owner, staff, customer } = await shopWithCustomer({ balance: 5_000 });
    const other = await shopWithCustomer();
    expectError(await callFunction('refunds/quote', asStaff(staff), { body: { customer_id: customer.id } }), 403, 'insufficient_role');
    expectError(await callFunction('refunds', asStaff(staff), { body: { customer_id: customer.id, method: 'cash' }, idempotencyKey: newIdempotencyKey() }), 403, 'insufficient_role');
    expectError(await callFunction('refunds', asStaff(owner), { body: { customer_id: customer.id, method: 'cash' } }), 400, 'idempotency_key_required');
    expectError(await callFunction('refunds', asStaff(owner), { body: { customer_id: customer.id, method: 'gift_card' }, idempotencyKey: newIdempotencyKey() }), 400, 'validation_failed');
    expectError(await callFunction('refunds/quote', asStaff(other.owner), { body: { customer_id: customer.id } }), 404, 'customer_not_found');
    expectError(await callFunction('refunds', asStaff(other.owner), { body: { customer_id: customer.id, method: 'cash' }, idempotencyKey: newIdempotencyKey() }), 404, 'customer_not_found');
    expect(await balanceOf(customer.id)).toBe(5_000);
  });
});
