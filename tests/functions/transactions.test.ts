import { describe, expect, it } from 'vitest';
import { addMember, createShopWithStaff } from '../support/index.ts';
import { asStaff, balanceOf, callFunction, charge, expectError, invoke, ledgerCount, newIdempotencyKey, shopWithCustomer, staffClient } from './http.ts';

const TRANSACTION_FIELDS = [
  'amount', 'balance_after', 'bonus_amount', 'bonus_balance_after', 'created_at', 'customer_id', 'id',
  'original_transaction_id', 'paid_amount', 'paid_balance_after', 'sequence', 'type',
];

describe('POST /functions/v1/transactions/charge and /deduct', () => {
  it('charges 10,000 then deducts 3,000 over plain fetch, answering the transaction and the new balance', async () => {
    const { staff, customer } = await shopWithCustomer();

    const charged = await callFunction('transactions/charge', asStaff(staff), {
      body: { customer_id: customer.id, amount: 10_000, memo: '첫 충전' },
      idempotencyKey: newIdempotencyKey(),
    });
    expect(charged.status).toBe(200);
    expect(charged.headers.get('idempotent-replayed')).toBeNull();
    expect(Object.keys(charged.body).sort()).toEqual([
      'balance', 'bonus', 'bonus_balance', 'bonus_transaction_id', 'paid_balance', 'promotion_id', 'transaction',
    ]);
    expect(Object.keys(charged.body.transaction).sort()).toEqual(TRANSACTION_FIELDS);
    expect(charged.body).toMatchObject({
      transaction: { type: 'charge', amount: 10_000, balance_after: 10_000, customer_id: customer.id, original_transaction_id: null, sequence: 1 },
      balance: 10_000,
      paid_balance: 10_000,
      bonus_balance: 0,
      bonus: 0,
      promotion_id: null,
    });

    const deducted = await callFunction('transactions/deduct', asStaff(staff), {
      body: { customer_id: customer.id, amount: 3_000 },
      idempotencyKey: newIdempotencyKey(),
    });
    expect(deducted.status).toBe(200);
    expect(deducted.body).toMatchObject({ transaction: { type: 'deduct', amount: 3_000, balance_after: 7_000 }, balance: 7_000 });
    expect(await balanceOf(customer.id)).toBe(7_000);
    expect(await ledgerCount(customer.id)).toBe(2);
  });

  it('charges and deducts through supabase-js functions.invoke as the frontend does', async () => {
    const { manager, customer } = await shopWithCustomer();
    const client = staffClient(manager);

    const charged = await invoke(client, 'transactions/charge', { customer_id: customer.id, amount: 50_000 }, {
      'Idempotency-Key': newIdempotencyKey(),
    });
    expect([charged.status, charged.body.balance, charged.replayed]).toEqual([200, 50_000, null]);

    const deducted = await invoke(client, 'transactions/deduct', { customer_id: customer.id, amount: 12_500 }, {
      'Idempotency-Key': newIdempotencyKey(),
    });
    expect([deducted.status, deducted.body.transaction.balance_after, deducted.body.balance]).toEqual([200, 37_500, 37_500]);
    expect(await balanceOf(customer.id)).toBe(37_500);
  });

  it('refuses a deduct beyond the balance with 409 insufficient_balance and changes nothing', async () => {
    const { staff, customer } = await shopWithCustomer({ balance: 5_000 });
    const answer = await callFunction('transactions/deduct', asStaff(staff), {
      body: { customer_id: customer.id, amount: 5_001 },
      idempotencyKey: newIdempotencyKey(),
    });
    const error = expectError(answer, 409, 'insufficient_balance');
    expect(error.details).toEqual({ balance: 5_000, paid_balance: 5_000, bonus_balance: 0, amount: 5_001 });
    expect(await balanceOf(customer.id)).toBe(5_000);
    expect(await ledgerCount(customer.id)).toBe(1);
  });

  it('refuses a charge above the shop ceiling of 2,000,000 with 409 balance_ceiling_exceeded', async () => {
    const { owner, customer } = await shopWithCustomer({ balance: 1_990_000 });
    const answer = await callFunction('transactions/charge', asStaff(owner), {
      body: { customer_id: customer.id, amount: 10_001 },
      idempotencyKey: newIdempotencyKey(),
    });
    expectError(answer, 409, 'balance_ceiling_exceeded');
    expect(await balanceOf(customer.id)).toBe(1_990_000);
  });

  it('answers 404 customer_not_found for a customer id that does not exist', async () => {
    const { staff } = await createShopWithStaff();
    const answer = await callFunction('transactions/charge', asStaff(staff), {
      body: { customer_id: '00000000-0000-4000-8000-000000000000', amount: 1_000 },
      idempotencyKey: newIdempotencyKey(),
    });
    expectError(answer, 404, 'customer_not_found');
  });

  it("refuses another shop's staff with 404 customer_not_found and reveals nothing of that customer", async () => {
    const { customer } = await shopWithCustomer({ balance: 30_000 });
    const other = await createShopWithStaff();
    const answer = await callFunction('transactions/deduct', asStaff(other.owner), {
      body: { customer_id: customer.id, amount: 1_000 },
      idempotencyKey: newIdempotencyKey(),
    });
    expectError(answer, 404, 'customer_not_found');
    expect(JSON.stringify(answer.body)).not.toContain('30000');
    expect(JSON.stringify(answer.body)).not.toContain(customer.phone);
    expect(await balanceOf(customer.id)).toBe(30_000);
  });
});

describe('idempotency', () => {
  it('answers a retried charge with the same body and Idempotent-Replayed: true, moving the money once', async () => {
    const { staff, customer } = await shopWithCustomer();
    const key = newIdempotencyKey();
    const request = { body: { customer_id: customer.id, amount: 20_000, memo: '재시도' }, idempotencyKey: key };

    const first = await callFunction('transactions/charge', asStaff(staff), request);
    const retry = await callFunction('transactions/charge', asStaff(staff), request);

    expect(first.status).toBe(200);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await balanceOf(customer.id)).toBe(20_000);
    expect(await ledgerCount(customer.id)).toBe(1);
  });

  it('replays through functions.invoke too, and the replay header is readable', async () => {
    const { staff, customer } = await shopWithCustomer({ balance: 9_000 });
    const client = staffClient(staff);
    const headers = { 'Idempotency-Key': newIdempotencyKey() };
    const first = await invoke(client, 'transactions/deduct', { customer_id: customer.id, amount: 4_000 }, headers);
    const retry = await invoke(client, 'transactions/deduct', { customer_id: customer.id, amount: 4_000 }, headers);
    expect([first.replayed, retry.replayed]).toEqual([null, 'true']);
    expect(retry.body).toEqual(first.body);
    expect(await balanceOf(customer.id)).toBe(5_000);
  });

  it('refuses the same key with another amount with 409 idempotency_key_reused', async () => {
    const { staff, customer } = await shopWithCustomer();
    const key = newIdempotencyKey();
    await callFunction('transactions/charge', asStaff(staff), { body: { customer_id: customer.id, amount: 1_000 }, idempotencyKey: key });
    const reused = await callFunction('transactions/charge', asStaff(staff), {
      body: { customer_id: customer.id, amount: 2_000 },
      idempotencyKey: key,
    });
    expectError(reused, 409, 'idempotency_key_reused');
    expect(await balanceOf(customer.id)).toBe(1_000);
  });

  it('refuses the same key for a deduct after a charge with 409 idempotency_key_reused', async () => {
    const { staff, customer } = await shopWithCustomer();
    const key = newIdempotencyKey();
    await callFunction('transactions/charge', asStaff(staff), { body: { customer_id: customer.id, amount: 1_000 }, idempotencyKey: key });
    const reused = await callFunction('transactions/deduct', asStaff(staff), {
      body: { customer_id: customer.id, amount: 1_000 },
      idempotencyKey: key,
    });
    expectError(reused, 409, 'idempotency_key_reused');
    expect(await balanceOf(customer.id)).toBe(1_000);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['201 characters long', 'k'.repeat(201)],
    ['not visible ASCII', 'key with spaces'],
  ])('refuses a money call whose Idempotency-Key is %s with 400 idempotency_key_required', async (_label, key) => {
    const { staff, customer } = await shopWithCustomer();
    const answer = await callFunction('transactions/charge', asStaff(staff), {
      body: { customer_id: customer.id, amount: 1_000 },
      ...(key === undefined ? {} : { idempotencyKey: key }),
    });
    expectError(answer, 400, 'idempotency_key_required');
    expect(await balanceOf(customer.id)).toBe(0);
  });
});

describe('POST /functions/v1/transactions/cancel', () => {
  it('lets a manager cancel a deduct: the reversal restores the balance and links the original', async () => {
    const { staff, manager, customer } = await shopWithCustomer({ balance: 10_000 });
    const deducted = await callFunction('transactions/deduct', asStaff(staff), {
      body: { customer_id: customer.id, amount: 4_000 },
      idempotencyKey: newIdempotencyKey(),
    });

    const cancelled = await callFunction('transactions/cancel', asStaff(manager), {
      body: { transaction_id: deducted.body.transaction.id, reason: '잘못 차감' },
      idempotencyKey: newIdempotencyKey(),
    });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      transaction: { type: 'deduct_cancel', amount: 4_000, balance_after: 10_000, original_transaction_id: deducted.body.transaction.id },
      balance: 10_000,
    });
    expect(await balanceOf(customer.id)).toBe(10_000);
  });

  it('lets an owner cancel a charge through functions.invoke', async () => {
    const { owner, customer } = await shopWithCustomer();
    const charged = await charge(owner, customer.id, 8_000);
    const cancelled = await invoke(staffClient(owner), 'transactions/cancel', { transaction_id: charged.transaction.id }, {
      'Idempotency-Key': newIdempotencyKey(),
    });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ transaction: { type: 'charge_cancel', amount: 8_000, balance_after: 0 }, balance: 0 });
  });

  it('refuses a second cancel with 409 already_cancelled and the cancel of a reversal with 409 cannot_cancel_reversal', async () => {
    const { owner, customer } = await shopWithCustomer({ balance: 6_000 });
    const deducted = await callFunction('transactions/deduct', asStaff(owner), {
      body: { customer_id: customer.id, amount: 1_000 },
      idempotencyKey: newIdempotencyKey(),
    });
    const cancel = (transactionId: string) =>
      callFunction('transactions/cancel', asStaff(owner), { body: { transaction_id: transactionId }, idempotencyKey: newIdempotencyKey() });

    const first = await cancel(deducted.body.transaction.id);
    expect(first.status).toBe(200);
    expectError(await cancel(deducted.body.transaction.id), 409, 'already_cancelled');
    expectError(await cancel(first.body.transaction.id), 409, 'cannot_cancel_reversal');
    expect(await balanceOf(customer.id)).toBe(6_000);
    expect(await ledgerCount(customer.id)).toBe(3);
  });

  it('refuses to cancel a charge whose money was spent with 409 insufficient_balance', async () => {
    const { owner, customer } = await shopWithCustomer();
    const charged = await charge(owner, customer.id, 5_000);
    await callFunction('transactions/deduct', asStaff(owner), {
      body: { customer_id: customer.id, amount: 3_000 },
      idempotencyKey: newIdempotencyKey(),
    });
    const answer = await callFunction('transactions/cancel', asStaff(owner), {
      body: { transaction_id: charged.transaction.id },
      idempotencyKey: newIdempotencyKey(),
    });
    expectError(answer, 409, 'insufficient_balance');
    expect(await balanceOf(customer.id)).toBe(2_000);
  });

  it("refuses another shop's owner with 404 transaction_not_found", async () => {
    const { owner, customer } = await shopWithCustomer();
    const charged = await charge(owner, customer.id, 5_000);
    const other = await createShopWithStaff();
    const answer = await callFunction('transactions/cancel', asStaff(other.owner), {
      body: { transaction_id: charged.transaction.id },
      idempotencyKey: newIdempotencyKey(),
    });
    expectError(answer, 404, 'transaction_not_found');
    expect(await balanceOf(customer.id)).toBe(5_000);
  });

  it('answers 404 transaction_not_found for an unknown transaction', async () => {
    const { owner } = await createShopWithStaff();
    const answer = await callFunction('transactions/cancel', asStaff(owner), {
      body: { transaction_id: '00000000-0000-4000-8000-000000000001' },
      idempotencyKey: newIdempotencyKey(),
    });
    expectError(answer, 404, 'transaction_not_found');
  });
});

// The optional shop_id routes the call by shop (issue 16): the customer's or transaction's own shop
// acts as without it; another shop, even one the caller belongs to, answers as an unknown id.
describe('shop_id in money requests', () => {
  it('charges, deducts and cancels with the customer\'s shop_id; another shop\'s id is 404 and changes nothing', async () => {
    const { owner, shop, customer } = await shopWithCustomer({ balance: 10_000 });
    const charged = await callFunction('transactions/charge', asStaff(owner), {
      body: { customer_id: customer.id, shop_id: shop.id, amount: 2_000 },
      idempotencyKey: newIdempotencyKey(),
    });
    expect([charged.status, charged.body.balance]).toEqual([200, 12_000]);
    const taken = await callFunction('transactions/deduct', asStaff(owner), {
      body: { customer_id: customer.id, shop_id: shop.id, amount: 4_000 },
      idempotencyKey: newIdempotencyKey(),
    });
    expect([taken.status, taken.body.balance]).toEqual([200, 8_000]);
    // The caller is a member of the other shop too, so its refusal is the routing's, not a missing membership.
    const elsewhere = await createShopWithStaff();
    await addMember(elsewhere.shop.id, owner.id, 'staff');
    for (const [route, body, code] of [
      ['transactions/charge', { customer_id: customer.id, shop_id: elsewhere.shop.id, amount: 1_000 }, 'customer_not_found'],
      ['transactions/deduct', { customer_id: customer.id, shop_id: elsewhere.shop.id, amount: 1_000 }, 'customer_not_found'],
      ['transactions/cancel', { transaction_id: taken.body.transaction.id, shop_id: elsewhere.shop.id }, 'transaction_not_found'],
    ] as const) {
      expectError(await callFunction(route, asStaff(owner), { body, idempotencyKey: newIdempotencyKey() }), 404, code);
    }
    expect(await balanceOf(customer.id)).toBe(8_000);
    const cancelled = await callFunction('transactions/cancel', asStaff(owner), {
      body: { transaction_id: taken.body.transaction.id, shop_id: shop.id },
      idempotencyKey: newIdempotencyKey(),
    });
    expect([cancelled.status, cancelled.body.balance]).toEqual([200, 12_000]);
    expect(await ledgerCount(customer.id)).toBe(4);
  });

  it('refuses a shop_id that is not a UUID with 400 validation_failed', async () => {
    const { staff, customer } = await shopWithCustomer({ balance: 2_000 });
    const answer = await callFunction('transactions/deduct', asStaff(staff), {
      body: { customer_id: customer.id, shop_id: 'shop-1', amount: 1_000 },
      idempotencyKey: newIdempotencyKey(),
    });
    expect(expectError(answer, 400, 'validation_failed').details[0].path).toEqual(['shop_id']);
    expect(await balanceOf(customer.id)).toBe(2_000);
  });
});

describe('validation of money requests', () => {
  it.each([
    ['a zero amount', '{"customer_id":"%ID%","amount":0}', ['amount']],
    ['a negative amount', '{"customer_id":"%ID%","amount":-1000}', ['amount']],
    ['a fractional amount', '{"customer_id":"%ID%","amount":1000.5}', []],
    ['an amount spelled 1000.0', '{"customer_id":"%ID%","amount":1000.0}', []],
    ['an exponent amount', '{"customer_id":"%ID%","amount":1e3}', []],
    ['a string amount', '{"customer_id":"%ID%","amount":"1000"}', ['amount']],
    ['an amount over 10,000,000', '{"customer_id":"%ID%","amount":10000001}', ['amount']],
    ['an unsafe integer amount', '{"customer_id":"%ID%","amount":9007199254740993}', ['amount']],
    ['a missing customer id', '{"amount":1000}', ['customer_id']],
    ['a customer id that is not a UUID', '{"customer_id":"42","amount":1000}', ['customer_id']],
    ['an unknown field', '{"customer_id":"%ID%","amount":1000,"balance":999999}', []],
    ['a memo over 500 characters', `{"customer_id":"%ID%","amount":1000,"memo":"${'x'.repeat(501)}"}`, ['memo']],
    ['a memo with a lone UTF-16 surrogate', '{"customer_id":"%ID%","amount":1000,"memo":"\\ud800"}', ['memo']],
    ['a memo with a NUL character', '{"customer_id":"%ID%","amount":1000,"memo":"a\\u0000b"}', ['memo']],
    ['an array body', '[]', []],
  ])('refuses %s with 400 validation_failed and the zod issue, changing nothing', async (_label, raw, path) => {
    const { staff, customer } = await shopWithCustomer({ balance: 2_000 });
    const answer = await callFunction('transactions/deduct', asStaff(staff), {
      rawBody: raw.replace('%ID%', customer.id),
      idempotencyKey: newIdempotencyKey(),
    });
    const error = expectError(answer, 400, 'validation_failed');
    expect(error.details[0].path).toEqual(path);
    expect(await balanceOf(customer.id)).toBe(2_000);
    expect(await ledgerCount(customer.id)).toBe(1);
  });

  it('refuses a body that is not JSON with 400 invalid_json', async () => {
    const { staff } = await createShopWithStaff();
    const answer = await callFunction('transactions/charge', asStaff(staff), {
      rawBody: '{"customer_id": ',
      idempotencyKey: newIdempotencyKey(),
    });
    expectError(answer, 400, 'invalid_json');
  });
});
