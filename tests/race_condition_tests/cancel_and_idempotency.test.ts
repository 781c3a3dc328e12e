// Retries and double clicks arrive together: a reversal and an idempotency key must each take effect
// once, however many requests carry them at the same moment.
import { describe, expect, it } from 'vitest';
import { asStaff, callFunction, charge, newIdempotencyKey, shopWithCustomer } from '../functions/http.ts';
import { IN_FLIGHT, atOnce, expectBooksBalance } from './at-once.ts';

describe('concurrent cancels and replays', () => {
  it('concurrent cancels of one transaction apply exactly once', async () => {
    const { owner, manager, staff, customer } = await shopWithCustomer({ balance: 50_000 });
    const deduct = await callFunction('transactions/deduct', asStaff(staff), {
      body: { customer_id: customer.id, amount: 20_000 },
      idempotencyKey: newIdempotencyKey(),
    });
    expect([deduct.status, deduct.body.balance]).toEqual([200, 30_000]);
    const deductId: string = deduct.body.transaction.id;

    // Owner and manager both may cancel; each click is a new request with its own key.
    const { answers, outcomes } = await atOnce('50 cancels of one deduct', IN_FLIGHT, (index) =>
      callFunction('transactions/cancel', asStaff(index % 2 === 0 ? owner : manager), {
        body: { transaction_id: deductId, reason: '중복 결제' },
        idempotencyKey: newIdempotencyKey(),
      }),
    );

    expect(outcomes).toEqual({ '200': 1, '409 already_cancelled': 49 });
    const reversal = answers.find((a) => a.status === 200)!.body;
    expect(reversal).toMatchObject({
      transaction: { type: 'deduct_cancel', amount: 20_000, balance_after: 50_000, original_transaction_id: deductId },
      balance: 50_000,
    });
    // Every refusal names the one reversal that won.
    const namedReversals = new Set(answers.filter((a) => a.status === 409).map((a) => a.body.error.details.reversal_id));
    expect([...namedReversals]).toEqual([reversal.transaction.id]);
    const ledger = await expectBooksBalance(customer.id, 50_000);
    expect(ledger.map((row) => row.type).sort()).toEqual(['charge', 'deduct', 'deduct_cancel']);
  });

  it('concurrent requests with one idempotency key apply once and all return the same transaction', async () => {
    const { staff, customer } = await shopWithCustomer();
    const key = newIdempotencyKey();

    const { answers, outcomes } = await atOnce('50 charges with one idempotency key', IN_FLIGHT, () =>
      callFunction('transactions/charge', asStaff(staff), {
        body: { customer_id: customer.id, amount: 7_000, memo: '키오스크 재시도' },
        idempotencyKey: key,
      }),
    );

    expect(outcomes).toEqual({ '200': 50 });
    expect(new Set(answers.map((a) => a.body.transaction.id)).size).toBe(1);
    // A replay answers the very body of the first call, balance included.
    for (const answer of answers) expect(answer.body).toEqual(answers[0]!.body);
    expect(answers[0]!.body).toMatchObject({ transaction: { type: 'charge', amount: 7_000, balance_after: 7_000 }, balance: 7_000 });
    const replayHeaders = answers.map((a) => a.headers.get('idempotent-replayed'));
    expect(replayHeaders.filter((h) => h === 'true')).toHaveLength(49);
    expect(replayHeaders.filter((h) => h === null)).toHaveLength(1);
    const ledger = await expectBooksBalance(customer.id, 7_000);
    expect(ledger.map((row) => [row.id, row.idempotency_key])).toEqual([[answers[0]!.body.transaction.id, key]]);
  });

  it('concurrent replays of a charge that already happened change nothing', async () => {
    const { staff, customer } = await shopWithCustomer();
    const key = newIdempotencyKey();
    const first = await callFunction('transactions/charge', asStaff(staff), {
      body: { customer_id: customer.id, amount: 12_000 },
      idempotencyKey: key,
    });
    expect(first.status).toBe(200);
    await charge(staff, customer.id, 3_000);

    const { answers, outcomes } = await atOnce('50 replays of a charge already made', IN_FLIGHT, () =>
      callFunction('transactions/charge', asStaff(staff), {
        body: { customer_id: customer.id, amount: 12_000 },
        idempotencyKey: key,
      }),
    );

    expect(outcomes).toEqual({ '200': 50 });
    // The replays answer the balance right after the original charge, not today's 15,000.
    for (const answer of answers) {
      expect(answer.body).toEqual(first.body);
      expect(answer.headers.get('idempotent-replayed')).toBe('true');
    }
    const ledger = await expectBooksBalance(customer.id, 15_000);
    expect(ledger).toHaveLength(2);
  });
});
