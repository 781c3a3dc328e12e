/**
 * Korean prepaid money (issue 12) in SQL, whatever the caller: balances in paid and bonus parts,
 * promotions, the spending order, partial cancels, refunds under the statutory rules, per-customer
 * sequence numbers, statements under RLS and the shops' liability, each with exact figures.
 */
import { describe, expect, it } from 'vitest';
import { balanceParts, createShopWithStaff, db, untyped, type ShopWithStaff } from '../support/index.ts';
import { createCustomer, idempotencyKey, mismatches, rpc, rpcOk, rpcRefused, type MoneyResult } from './support.ts';

type Shop = ShopWithStaff;

async function settings(world: Shop, values: Record<string, unknown>): Promise<void> {
  const columns = Object.keys(values);
  await db().query(
    `update public.shops set ${columns.map((c, i) => `${c} = $${i + 2}`).join(', ')} where id = $1`,
    [world.shop.id, ...Object.values(values)],
  );
}

async function promotion(world: Shop, fields: { min_charge: number; bonus_amount?: number; bonus_percent?: number; starts_at?: string; ends_at?: string }) {
  const { promotion: created } = await rpcOk<{ promotion: { id: string } }>('create_promotion', {
    p_actor_user_id: world.owner.id,
    p_shop_id: world.shop.id,
    p_min_charge: fields.min_charge,
    p_bonus_amount: fields.bonus_amount ?? null,
    p_bonus_percent: fields.bonus_percent ?? null,
    p_starts_at: fields.starts_at ?? null,
    p_ends_at: fields.ends_at ?? null,
  });
  return created.id;
}

const charge = (actor: string, customerId: string, amount: number, key = idempotencyKey('charge')) =>
  rpcOk<MoneyResult>('charge_balance', { p_actor_user_id: actor, p_customer_id: customerId, p_amount: amount, p_idempotency_key: key });
const deduct = (actor: string, customerId: string, amount: number, key = idempotencyKey('deduct')) =>
  rpcOk<MoneyResult>('deduct_balance', { p_actor_user_id: actor, p_customer_id: customerId, p_amount: amount, p_idempotency_key: key });
const cancelArgs = (actor: string, transactionId: string, amount: number | null = null, key = idempotencyKey('cancel')) => ({
  p_actor_user_id: actor, p_transaction_id: transactionId, p_idempotency_key: key, p_reason: null, p_amount: amount,
});
const refundArgs = (actor: string, customerId: string, method = 'cash', key = idempotencyKey('refund')) => ({
  p_actor_user_id: actor, p_customer_id: customerId, p_method: method, p_idempotency_key: key, p_memo: null,
});
const quote = (actor: string, customerId: string) =>
  rpcOk<Record<string, unknown>>('quote_refund', { p_actor_user_id: actor, p_customer_id: customerId });

async function ledger(customerId: string) {
  const { rows } = await db().query(
    `select sequence::int, type, amount::int, paid_amount::int as paid, bonus_amount::int as bonus,
            paid_balance_after::int as paid_after, bonus_balance_after::int as bonus_after
     from public.transactions where customer_id = $1 order by sequence`,
    [customerId],
  );
  return rows;
}

describe('the issue\'s example: 100,000원 with a 10 % promotion, 70,000원 spent, then a refund', () => {
  it('grants 10,000 bonus, spends paid money first, quotes 30,000 refundable under the 60 % rule and refunds to zero', async () => {
    const shop = await createShopWithStaff();
    const promotionId = await promotion(shop, { min_charge: 100_000, bonus_percent: 10 });
    const customer = await createCustomer(shop.staff.id, shop.shop.id);

    const key = idempotencyKey('charge');
    const charged = await charge(shop.staff.id, customer.id, 100_000, key);
    expect(charged).toMatchObject({
      bonus: 10_000, promotion_id: promotionId, balance: 110_000, paid_balance: 100_000, bonus_balance: 10_000, replayed: false,
      transaction: { type: 'charge', amount: 100_000, paid_amount: 100_000, bonus_amount: 0, balance_after: 100_000, sequence: 1 },
    });
    // A replay answers the same bonus and grants none.
    const replayed = await charge(shop.staff.id, customer.id, 100_000, key);
    expect(replayed).toMatchObject({ replayed: true, bonus: 10_000, balance: 110_000, bonus_transaction_id: charged.bonus_transaction_id });

    const spent = await deduct(shop.staff.id, customer.id, 70_000);
    expect(spent).toMatchObject({
      balance: 40_000, paid_balance: 30_000, bonus_balance: 10_000,
      transaction: { type: 'deduct', amount: 70_000, paid_amount: 70_000, bonus_amount: 0, sequence: 3 },
    });

    expect(await quote(shop.manager.id, customer.id)).toEqual({
      customer_id: customer.id, balance: 40_000, paid_balance: 30_000, bonus_balance: 10_000,
      charged_since_last_refund: 100_000, used_since_last_refund: 70_000,
      statutory_right: true, rule: '60_percent_used', fee_percent: 0, fee: 0, refundable: 30_000,
      bonus_forfeited: 10_000, allowed: true,
    });

    const refunded = await rpcOk<MoneyResult>('refund_balance', refundArgs(shop.owner.id, customer.id, 'transfer'));
    expect(refunded).toMatchObject({
      balance: 0, paid_balance: 0, bonus_balance: 0,
      transaction: { type: 'refund', amount: 40_000, paid_amount: 30_000, bonus_amount: 10_000, sequence: 4 },
      refund: { method: 'transfer', paid_amount: 30_000, bonus_forfeited: 10_000, fee: 0, payout: 30_000, rule: '60_percent_used' },
    });
    expect(await balanceParts(customer.id)).toEqual({ balance: 0, paid: 0, bonus: 0, sequence: 4 });
    expect(await ledger(customer.id)).toEqual([
      { sequence: 1, type: 'charge', amount: 100_000, paid: 100_000, bonus: 0, paid_after: 100_000, bonus_after: 0 },
      { sequence: 2, type: 'bonus', amount: 10_000, paid: 0, bonus: 10_000, paid_after: 100_000, bonus_after: 10_000 },
      { sequence: 3, type: 'deduct', amount: 70_000, paid: 70_000, bonus: 0, paid_after: 30_000, bonus_after: 10_000 },
      { sequence: 4, type: 'refund', amount: 40_000, paid: 30_000, bonus: 10_000, paid_after: 0, bonus_after: 0 },
    ]);
    expect(await mismatches()).toEqual([]);
    // The balance is zero: a second refund has nothing to pay.
    await rpcRefused('refund_balance', refundArgs(shop.owner.id, customer.id), 'nothing_to_refund', 409);
  });
});

describe('promotions', () => {
  it('the best active promotion the charge qualifies for gives the bonus; none below its minimum, before its start or after its end', async () => {
    const shop = await createShopWithStaff();
    const fixed = await promotion(shop, { min_charge: 50_000, bonus_amount: 3_000 });
    const percent = await promotion(shop, { min_charge: 100_000, bonus_percent: 5 });
    await promotion(shop, { min_charge: 10_000, bonus_amount: 9_999, starts_at: new Date(Date.now() + 86_400_000).toISOString() });
    const customer = await createCustomer(shop.staff.id, shop.shop.id);

    expect(await charge(shop.staff.id, customer.id, 49_999)).toMatchObject({ bonus: 0, promotion_id: null, balance: 49_999 });
    expect(await charge(shop.staff.id, customer.id, 50_000)).toMatchObject({ bonus: 3_000, promotion_id: fixed });
    // 5 % of 100,000 is 5,000 > 3,000; 5 % of 60,001 would be 3,000 (rounded down), below 100,000 anyway.
    expect(await charge(shop.staff.id, customer.id, 100_000)).toMatchObject({ bonus: 5_000, promotion_id: percent });
    expect(await charge(shop.staff.id, customer.id, 100_019)).toMatchObject({ bonus: 5_000, promotion_id: percent });

    const ended = await rpcOk<{ promotion: { ends_at: string } }>('end_promotion', { p_actor_user_id: shop.owner.id, p_promotion_id: percent });
    expect(ended.promotion.ends_at).not.toBeNull();
    expect(await charge(shop.staff.id, customer.id, 100_000)).toMatchObject({ bonus: 3_000, promotion_id: fixed });
    expect(await balanceParts(customer.id)).toEqual({
      balance: 49_999 + 53_000 + 105_000 + 105_019 + 103_000, paid: 49_999 + 50_000 + 100_000 + 100_019 + 100_000,
      bonus: 3_000 + 5_000 + 5_000 + 3_000, sequence: 9,
    });
    expect(await mismatches()).toEqual([]);
  });

  it('only an owner creates or ends one; bad figures are validation_failed; another shop\'s member finds no such shop or promotion', async () => {
    const [shop, other] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    const base = { p_shop_id: shop.shop.id, p_min_charge: 10_000, p_bonus_amount: 1_000 };
    await rpcRefused('create_promotion', { ...base, p_actor_user_id: shop.manager.id }, 'insufficient_role', 403);
    await rpcRefused('create_promotion', { ...base, p_actor_user_id: other.owner.id }, 'shop_not_found', 404);
    await rpcRefused('create_promotion', { ...base, p_actor_user_id: shop.owner.id, p_bonus_percent: 10 }, 'validation_failed', 400);
    await rpcRefused('create_promotion', { ...base, p_actor_user_id: shop.owner.id, p_bonus_amount: null, p_bonus_percent: 101 }, 'validation_failed', 400);
    await rpcRefused('create_promotion', { ...base, p_actor_user_id: shop.owner.id, p_ends_at: '2020-01-01T00:00:00Z' }, 'validation_failed', 400);
    const id = await promotion(shop, { min_charge: 10_000, bonus_amount: 1_000 });
    await rpcRefused('end_promotion', { p_actor_user_id: shop.staff.id, p_promotion_id: id }, 'insufficient_role', 403);
    await rpcRefused('end_promotion', { p_actor_user_id: other.owner.id, p_promotion_id: id }, 'promotion_not_found', 404);
    await rpcRefused('end_promotion', { p_actor_user_id: shop.owner.id, p_promotion_id: crypto.randomUUID() }, 'promotion_not_found', 404);
  });

  it('members read their own shop\'s promotions through REST, and no other shop\'s', async () => {
    const [shop, other] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    const id = await promotion(shop, { min_charge: 30_000, bonus_percent: 7 });
    const own = await shop.staff.client.from('promotions').select('id, min_charge, bonus_percent').eq('shop_id', shop.shop.id);
    expect(own.data).toEqual([{ id, min_charge: 30_000, bonus_percent: 7 }]);
    const foreign = await other.owner.client.from('promotions').select('id').eq('shop_id', shop.shop.id);
    expect(foreign.data).toEqual([]);
    const written = await untyped(shop.owner.client).from('promotions').update({ bonus_percent: 50 }).eq('id', id);
    expect(written.error?.code).toBe('42501');
  });

  it('a charge whose bonus would pass the ceiling is refused whole', async () => {
    const shop = await createShopWithStaff({ maxBalance: 105_000 });
    await promotion(shop, { min_charge: 100_000, bonus_percent: 10 });
    const customer = await createCustomer(shop.staff.id, shop.shop.id);
    await rpcRefused('charge_balance', { p_actor_user_id: shop.staff.id, p_customer_id: customer.id, p_amount: 100_000, p_idempotency_key: idempotencyKey() },
      'balance_ceiling_exceeded', 409);
    expect(await balanceParts(customer.id)).toEqual({ balance: 0, paid: 0, bonus: 0, sequence: 0 });
  });
});

describe('spending order', () => {
  it('spends paid money first, then bonus; a shop may spend bonus first', async () => {
    const [paidFirst, bonusFirst] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    await settings(bonusFirst, { spend_bonus_first: true });
    for (const shop of [paidFirst, bonusFirst]) await promotion(shop, { min_charge: 30_000, bonus_amount: 10_000 });
    const [a, b] = await Promise.all([createCustomer(paidFirst.staff.id, paidFirst.shop.id), createCustomer(bonusFirst.staff.id, bonusFirst.shop.id)]);
    await charge(paidFirst.staff.id, a.id, 30_000);
    await charge(bonusFirst.staff.id, b.id, 30_000);

    expect(await deduct(paidFirst.staff.id, a.id, 35_000)).toMatchObject({
      transaction: { paid_amount: 30_000, bonus_amount: 5_000 }, paid_balance: 0, bonus_balance: 5_000, balance: 5_000,
    });
    expect(await deduct(bonusFirst.staff.id, b.id, 15_000)).toMatchObject({
      transaction: { paid_amount: 5_000, bonus_amount: 10_000 }, paid_balance: 25_000, bonus_balance: 0, balance: 25_000,
    });
    await rpcRefused('deduct_balance', { p_actor_user_id: paidFirst.staff.id, p_customer_id: a.id, p_amount: 5_001, p_idempotency_key: idempotencyKey() },
      'insufficient_balance', 409);
    expect(await mismatches()).toEqual([]);
  });
});

describe('cancels', () => {
  it('a deduct is cancelled in parts, each part back to the parts it came from, never more than its amount', async () => {
    const shop = await createShopWithStaff();
    await promotion(shop, { min_charge: 7_000, bonus_amount: 3_000 });
    const customer = await createCustomer(shop.staff.id, shop.shop.id);
    await charge(shop.staff.id, customer.id, 7_000);
    const taken = await deduct(shop.staff.id, customer.id, 10_000);
    expect(taken.transaction).toMatchObject({ paid_amount: 7_000, bonus_amount: 3_000 });

    const first = await rpcOk<MoneyResult>('cancel_transaction', cancelArgs(shop.manager.id, taken.transaction.id, 5_000));
    expect(first).toMatchObject({ transaction: { type: 'deduct_cancel', amount: 5_000, paid_amount: 3_500, bonus_amount: 1_500 }, paid_balance: 3_500, bonus_balance: 1_500 });
    const second = await rpcOk<MoneyResult>('cancel_transaction', cancelArgs(shop.owner.id, taken.transaction.id, 4_000));
    expect(second.transaction).toMatchObject({ amount: 4_000, paid_amount: 2_800, bonus_amount: 1_200 });
    const tooMuch = await rpcRefused('cancel_transaction', cancelArgs(shop.owner.id, taken.transaction.id, 2_000), 'cancel_exceeds_remaining', 409);
    expect(JSON.parse(tooMuch.details)).toEqual({ transaction_id: taken.transaction.id, amount: 2_000, cancelled: 9_000, remaining: 1_000 });
    // Without an amount: whatever remains, exactly the rest of each part.
    const rest = await rpcOk<MoneyResult>('cancel_transaction', cancelArgs(shop.owner.id, taken.transaction.id));
    expect(rest).toMatchObject({ transaction: { amount: 1_000, paid_amount: 700, bonus_amount: 300 }, balance: 10_000, paid_balance: 7_000, bonus_balance: 3_000 });
    await rpcRefused('cancel_transaction', cancelArgs(shop.owner.id, taken.transaction.id, 1), 'already_cancelled', 409);
    await rpcRefused('cancel_transaction', cancelArgs(shop.owner.id, rest.transaction.id), 'cannot_cancel_reversal', 409);
    expect(await mismatches()).toEqual([]);
  });

  it('a replayed partial cancel answers its reversal; the same key for another amount is idempotency_key_reused', async () => {
    const shop = await createShopWithStaff();
    const customer = await createCustomer(shop.staff.id, shop.shop.id, { balance: 20_000 });
    const taken = await deduct(shop.staff.id, customer.id, 8_000);
    const key = idempotencyKey('partial');
    const first = await rpcOk<MoneyResult>('cancel_transaction', cancelArgs(shop.owner.id, taken.transaction.id, 3_000, key));
    const again = await rpcOk<MoneyResult>('cancel_transaction', cancelArgs(shop.owner.id, taken.transaction.id, 3_000, key));
    expect(again).toMatchObject({ replayed: true, transaction: { id: first.transaction.id }, balance: 15_000 });
    await rpcRefused('cancel_transaction', cancelArgs(shop.owner.id, taken.transaction.id, 2_000, key), 'idempotency_key_reused', 409);
    expect(await balanceParts(customer.id)).toEqual({ balance: 15_000, paid: 15_000, bonus: 0, sequence: 3 });
  });

  it('a charge is cancelled whole and takes its bonus; refused when that bonus was spent; its bonus row and refunds are not cancellable', async () => {
    const shop = await createShopWithStaff();
    await promotion(shop, { min_charge: 100_000, bonus_percent: 10 });
    const [kept, spent] = await Promise.all([createCustomer(shop.staff.id, shop.shop.id), createCustomer(shop.staff.id, shop.shop.id)]);

    const charged = await charge(shop.staff.id, kept.id, 100_000);
    await rpcRefused('cancel_transaction', cancelArgs(shop.owner.id, charged.transaction.id, 50_000), 'partial_cancel_not_allowed', 409);
    await rpcRefused('cancel_transaction', cancelArgs(shop.owner.id, charged.bonus_transaction_id!), 'not_cancellable', 409);
    const cancelled = await rpcOk<MoneyResult>('cancel_transaction', cancelArgs(shop.owner.id, charged.transaction.id));
    expect(cancelled).toMatchObject({
      transaction: { type: 'charge_cancel', amount: 110_000, paid_amount: 100_000, bonus_amount: 10_000 }, balance: 0, paid_balance: 0, bonus_balance: 0,
    });
    await rpcRefused('cancel_transaction', cancelArgs(shop.owner.id, charged.transaction.id), 'already_cancelled', 409);

    await settings(shop, { spend_bonus_first: true });
    const other = await charge(shop.staff.id, spent.id, 100_000);
    await charge(shop.staff.id, spent.id, 5_000);
    await deduct(shop.staff.id, spent.id, 1_000);
    // The bonus is 9,000 now, below the 10,000 the cancel must take back; the paid part is all there.
    await rpcRefused('cancel_transaction', cancelArgs(shop.owner.id, other.transaction.id), 'insufficient_balance', 409);
    const refund = await rpcOk<MoneyResult>('refund_balance', refundArgs(shop.owner.id, spent.id));
    await rpcRefused('cancel_transaction', cancelArgs(shop.owner.id, refund.transaction.id), 'not_cancellable', 409);
    expect(await mismatches()).toEqual([]);
  });

  // What the ledger's reversal trigger checked, now held by the functions under the customer's row
  // lock (the ledger has no trigger, and no role but its owner may write it: row_level_security.test.ts).
  it('concurrent cancels of one deduct never return more than it took, and every reversal is of its original\'s customer, shop and kind', async () => {
    const shop = await createShopWithStaff();
    await promotion(shop, { min_charge: 6_000, bonus_amount: 4_000 });
    const customer = await createCustomer(shop.staff.id, shop.shop.id);
    const charged = await charge(shop.staff.id, customer.id, 6_000);
    const taken = await deduct(shop.staff.id, customer.id, 10_000);
    expect(taken.transaction).toMatchObject({ paid_amount: 6_000, bonus_amount: 4_000 });
    const answers = await Promise.all(Array.from({ length: 20 }, () =>
      rpc<MoneyResult>('cancel_transaction', cancelArgs(shop.owner.id, taken.transaction.id, 1_000))));
    const codes = answers.map((answer) => answer.error?.code ?? 'ok');
    expect(codes.filter((code) => code === 'ok')).toHaveLength(10);
    expect(codes.filter((code) => code !== 'ok').every((code) => code === 'already_cancelled' || code === 'cancel_exceeds_remaining')).toBe(true);
    // The charge's cancel would take back the bonus the deduct spent and its cancels returned: all there.
    await rpcOk<MoneyResult>('cancel_transaction', cancelArgs(shop.owner.id, charged.transaction.id));
    const { rows } = await db().query(
      `select r.type, o.type as original_type, r.customer_id = o.customer_id as same_customer, r.shop_id = o.shop_id as same_shop,
              sum(r.amount) over (partition by o.id)::int as returned, o.amount::int as original_amount,
              sum(r.bonus_amount) over (partition by o.id)::int as returned_bonus, o.bonus_amount::int as original_bonus
       from public.transactions r join public.transactions o on o.id = r.original_transaction_id and o.shop_id = r.shop_id
       where r.shop_id = $1 and r.type = 'deduct_cancel'`,
      [shop.shop.id],
    );
    expect(rows).toHaveLength(10);
    for (const row of rows) {
      expect(row).toEqual({ type: 'deduct_cancel', original_type: 'deduct', same_customer: true, same_shop: true,
        returned: 10_000, original_amount: 10_000, returned_bonus: 4_000, original_bonus: 4_000 });
    }
    expect(await mismatches()).toEqual([]);
  });
});

describe('refunds', () => {
  it('an unused charge within 7 days is refunded in full, without the fee', async () => {
    const shop = await createShopWithStaff();
    await settings(shop, { refund_fee_percent: 10 });
    const customer = await createCustomer(shop.staff.id, shop.shop.id, { balance: 50_000 });
    expect(await quote(shop.owner.id, customer.id)).toMatchObject({
      statutory_right: true, rule: '7_days_unused', fee_percent: 0, fee: 0, refundable: 50_000, allowed: true,
    });
  });

  it('without the statutory right the shop\'s fee applies, and a shop that refunds only under the right refuses', async () => {
    const shop = await createShopWithStaff();
    await settings(shop, { refund_fee_percent: 5 });
    const customer = await createCustomer(shop.staff.id, shop.shop.id, { balance: 50_000 });
    await deduct(shop.staff.id, customer.id, 10_000);
    // 10,000 of 50,000 used is 20 %: no right yet.
    expect(await quote(shop.manager.id, customer.id)).toMatchObject({
      paid_balance: 40_000, statutory_right: false, rule: null, fee_percent: 5, fee: 2_000, refundable: 38_000, allowed: true,
    });
    await settings(shop, { allow_refunds_outside_right: false });
    const refused = await rpcRefused('refund_balance', refundArgs(shop.owner.id, customer.id), 'refund_not_allowed', 409);
    expect(JSON.parse(refused.details)).toMatchObject({ allowed: false, refundable: 38_000 });
    // Using 20,000 more reaches 60 %: the right, with the fee.
    await deduct(shop.staff.id, customer.id, 20_000);
    const refunded = await rpcOk<MoneyResult>('refund_balance', refundArgs(shop.owner.id, customer.id, 'cash'));
    expect(refunded.refund).toEqual({ method: 'cash', paid_amount: 20_000, bonus_forfeited: 0, fee: 1_000, payout: 19_000, rule: '60_percent_used' });
    expect(await balanceParts(customer.id)).toEqual({ balance: 0, paid: 0, bonus: 0, sequence: 4 });
  });

  it('under 10,000원 charged the right needs 80 % used; it is measured on what was charged since the last refund', async () => {
    const shop = await createShopWithStaff();
    const customer = await createCustomer(shop.staff.id, shop.shop.id, { balance: 5_000 });
    await deduct(shop.staff.id, customer.id, 3_500);
    expect(await quote(shop.owner.id, customer.id)).toMatchObject({ charged_since_last_refund: 5_000, used_since_last_refund: 3_500, statutory_right: false });
    await deduct(shop.staff.id, customer.id, 500);
    expect(await quote(shop.owner.id, customer.id)).toMatchObject({ statutory_right: true, rule: '80_percent_used', refundable: 1_000 });
    await rpcOk('refund_balance', refundArgs(shop.owner.id, customer.id));
    // A new charge after the refund starts the measure afresh.
    await charge(shop.staff.id, customer.id, 20_000);
    await deduct(shop.staff.id, customer.id, 11_999);
    expect(await quote(shop.owner.id, customer.id)).toMatchObject({ charged_since_last_refund: 20_000, used_since_last_refund: 11_999, statutory_right: false });
    await deduct(shop.staff.id, customer.id, 1);
    expect(await quote(shop.owner.id, customer.id)).toMatchObject({ statutory_right: true, rule: '60_percent_used', refundable: 8_000 });
  });

  it('a refund is replayed by its key, another method under that key is idempotency_key_reused; staff may neither quote nor refund', async () => {
    const [shop, other] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    const customer = await createCustomer(shop.staff.id, shop.shop.id, { balance: 12_000 });
    await rpcRefused('quote_refund', { p_actor_user_id: shop.staff.id, p_customer_id: customer.id }, 'insufficient_role', 403);
    await rpcRefused('refund_balance', refundArgs(shop.staff.id, customer.id), 'insufficient_role', 403);
    await rpcRefused('refund_balance', refundArgs(other.owner.id, customer.id), 'customer_not_found', 404);
    await rpcRefused('refund_balance', refundArgs(shop.owner.id, customer.id, 'bitcoin'), 'validation_failed', 400);
    const key = idempotencyKey('refund');
    const first = await rpcOk<MoneyResult>('refund_balance', refundArgs(shop.owner.id, customer.id, 'card_cancel', key));
    const again = await rpcOk<MoneyResult>('refund_balance', refundArgs(shop.owner.id, customer.id, 'card_cancel', key));
    expect(again).toMatchObject({ replayed: true, transaction: { id: first.transaction.id }, refund: { payout: 12_000 } });
    await rpcRefused('refund_balance', refundArgs(shop.owner.id, customer.id, 'cash', key), 'idempotency_key_reused', 409);
    expect(await balanceParts(customer.id)).toEqual({ balance: 0, paid: 0, bonus: 0, sequence: 2 });
  });
});

describe('statements, sequence numbers and liability', () => {
  it('a member reads a statement for a period, and the balance at a past moment, under RLS', async () => {
    const [shop, other] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    await promotion(shop, { min_charge: 50_000, bonus_amount: 5_000 });
    const customer = await createCustomer(shop.staff.id, shop.shop.id);
    const charged = await charge(shop.staff.id, customer.id, 50_000);
    const taken = await deduct(shop.staff.id, customer.id, 20_000);
    const later = await deduct(shop.staff.id, customer.id, 1_000);

    const statement = await shop.staff.client.rpc('customer_statement', {
      p_customer_id: customer.id, p_from: taken.transaction.created_at, p_to: later.transaction.created_at,
    });
    expect(statement.error).toBeNull();
    expect(statement.data).toMatchObject({
      opening: { balance: 55_000, paid_balance: 50_000, bonus_balance: 5_000, sequence: 2 },
      movements: [{ sequence: 3, type: 'deduct', amount: 20_000, paid_amount: 20_000, bonus_amount: 0, paid_balance_after: 30_000 }],
      closing: { balance: 35_000, paid_balance: 30_000, bonus_balance: 5_000, sequence: 3 },
    });
    // The balance at the moment of the charge (before it) and now.
    const before = await shop.staff.client.rpc('customer_statement', { p_customer_id: customer.id, p_from: charged.transaction.created_at, p_to: charged.transaction.created_at });
    expect(before.data).toMatchObject({ opening: { balance: 0 }, movements: [], closing: { balance: 0, sequence: 0 } });
    const whole = await shop.staff.client.rpc('customer_statement', { p_customer_id: customer.id });
    expect((whole.data as { movements: { sequence: number }[] }).movements.map((m) => m.sequence)).toEqual([1, 2, 3, 4]);
    expect(whole.data).toMatchObject({ closing: { balance: 34_000, paid_balance: 29_000, bonus_balance: 5_000 } });

    const foreign = await other.owner.client.rpc('customer_statement', { p_customer_id: customer.id });
    expect([foreign.status, foreign.error?.code]).toEqual([404, 'customer_not_found']);
  });

  it('concurrent movements of one customer get 1, 2, 3, ... with no gap', async () => {
    const shop = await createShopWithStaff();
    const customer = await createCustomer(shop.staff.id, shop.shop.id, { balance: 100_000 });
    await Promise.all(Array.from({ length: 20 }, () => deduct(shop.staff.id, customer.id, 1_000)));
    const { rows } = await db().query('select array_agg(sequence::int order by sequence) as s from public.transactions where customer_id = $1', [customer.id]);
    expect(rows[0].s).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(await balanceParts(customer.id)).toEqual({ balance: 80_000, paid: 80_000, bonus: 0, sequence: 21 });
  });

  it('the shop\'s liability shows paid and bonus apart, and the day\'s bonus, refunds and fees', async () => {
    const shop = await createShopWithStaff();
    await settings(shop, { refund_fee_percent: 10 });
    await promotion(shop, { min_charge: 100_000, bonus_percent: 10 });
    const [a, b] = await Promise.all([createCustomer(shop.staff.id, shop.shop.id), createCustomer(shop.staff.id, shop.shop.id)]);
    await charge(shop.staff.id, a.id, 100_000);
    await charge(shop.staff.id, b.id, 100_000);
    await deduct(shop.staff.id, b.id, 20_000);
    // b has used 20 %: no right; the shop allows it with its 10 % fee: 8,000 of 80,000 kept.
    await rpcOk('refund_balance', refundArgs(shop.owner.id, b.id));

    const outstanding = await shop.manager.client.from('shop_outstanding_balances').select('*').eq('shop_id', shop.shop.id).single();
    expect(outstanding.data).toEqual({
      shop_id: shop.shop.id, customer_count: 2, outstanding_balance: 110_000, outstanding_paid_balance: 100_000, outstanding_bonus_balance: 10_000,
    });
    const days = await shop.manager.client.from('shop_daily_summaries').select('*').eq('shop_id', shop.shop.id);
    expect(days.data).toHaveLength(1);
    expect(days.data![0]).toMatchObject({
      charged: 200_000, deducted: 20_000, reversed: 0, transaction_count: 6, outstanding_balance: 110_000,
      bonus_granted: 20_000, refunds_paid: 72_000, refund_fees: 8_000, bonus_forfeited: 10_000,
      outstanding_paid_balance: 100_000, outstanding_bonus_balance: 10_000,
    });
  });
});
