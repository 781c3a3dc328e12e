// Many staff requests on one customer at the same moment, through the edge functions over HTTP:
// the customer's row lock must serialise them so that no balance is lost, invented or overdrawn.
import { describe, expect, it } from 'vitest';
import { asStaff, callFunction, createCustomer, newIdempotencyKey, shopWithCustomer } from '../functions/http.ts';
import { createShopWithStaff, type TestUser } from '../support/index.ts';
import { IN_FLIGHT, atOnce, expectBooksBalance } from './at-once.ts';

const move = (kind: 'charge' | 'deduct', teller: TestUser, customerId: string, amount: number) =>
  callFunction(`transactions/${kind}`, asStaff(teller), {
    body: { customer_id: customerId, amount },
    idempotencyKey: newIdempotencyKey(),
  });

describe('concurrent balance movements on one customer', () => {
  it('concurrent deducts on one customer never drive the balance below zero', async () => {
    const { staff, customer } = await shopWithCustomer({ balance: 10_000 });

    const { answers, outcomes } = await atOnce('50 deducts of 1,000 on 10,000', IN_FLIGHT, () =>
      move('deduct', staff, customer.id, 1_000),
    );

    expect(outcomes).toEqual({ '200': 10, '409 insufficient_balance': 40 });
    // Each success saw the balance the previous one left: 9,000 down to 0, each exactly once.
    const balancesAfter = answers.filter((a) => a.status === 200).map((a) => a.body.transaction.balance_after);
    expect(balancesAfter.sort((a, b) => b - a)).toEqual([9_000, 8_000, 7_000, 6_000, 5_000, 4_000, 3_000, 2_000, 1_000, 0]);
    const ledger = await expectBooksBalance(customer.id, 0);
    expect(ledger.filter((row) => row.type === 'deduct')).toHaveLength(10);
    expect(ledger).toHaveLength(11);
  });

  it('concurrent charges on one customer add up exactly', async () => {
    const { staff, customer } = await shopWithCustomer();
    // 1,000 to 50,000 won: 1,275,000 in all, under the default ceiling of 2,000,000.
    const amounts = Array.from({ length: IN_FLIGHT }, (_, index) => (index + 1) * 1_000);

    const { answers, outcomes } = await atOnce('50 charges of 1,000..50,000', IN_FLIGHT, (index) => move('charge', staff, customer.id, amounts[index]!));

    expect(outcomes).toEqual({ '200': 50 });
    const ledger = await expectBooksBalance(customer.id, 1_275_000);
    expect(ledger.map((row) => row.amount).sort((a, b) => a - b)).toEqual(amounts);
    expect(Math.max(...answers.map((a) => a.body.balance))).toBe(1_275_000);
  });

  it('concurrent charges on one customer stop exactly at the shop balance ceiling', async () => {
    const { shop, owner, staff } = await createShopWithStaff({ maxBalance: 100_000 });
    const customer = await createCustomer(owner, shop.id);

    const { outcomes } = await atOnce('50 charges of 3,000 under a 100,000 ceiling', IN_FLIGHT, () => move('charge', staff, customer.id, 3_000));

    // 33 charges of 3,000 reach 99,000; a 34th would be 102,000, over the ceiling of 100,000.
    expect(outcomes).toEqual({ '200': 33, '409 balance_ceiling_exceeded': 17 });
    const ledger = await expectBooksBalance(customer.id, 99_000);
    expect(ledger).toHaveLength(33);
  });

  it('a mix of concurrent charges and deducts ends at exactly the expected balance', async () => {
    const { owner, staff, manager, customer } = await shopWithCustomer({ balance: 100_000 });
    // 25 deducts of 3,000 take at most 75,000 of the opening 100,000 and 25 charges of 2,000 add at
    // most 50,000 (150,000 stays under the ceiling), so in any order every request must succeed.
    const tellers = [owner, manager, staff];

    const { outcomes } = await atOnce('25 charges of 2,000 and 25 deducts of 3,000 on 100,000', IN_FLIGHT, (index) =>
      index % 2 === 0
        ? move('charge', tellers[index % 3]!, customer.id, 2_000)
        : move('deduct', tellers[index % 3]!, customer.id, 3_000),
    );

    expect(outcomes).toEqual({ '200': 50 });
    const ledger = await expectBooksBalance(customer.id, 100_000 + 25 * 2_000 - 25 * 3_000);
    expect(ledger.filter((row) => row.type === 'charge')).toHaveLength(26);
    expect(ledger.filter((row) => row.type === 'deduct')).toHaveLength(25);
  });
});
