// Kiosks are where guessing and double payments happen: a burst of wrong PINs must lock the PIN after
// exactly the shop's allowance, and a burst of payments must never spend more than the balance.
import { describe, expect, it } from 'vitest';
import { asKiosk, callFunction, newIdempotencyKey, shopWithCustomer } from '../functions/http.ts';
import { db } from '../support/index.ts';
import { IN_FLIGHT, atOnce, expectBooksBalance } from './at-once.ts';

const RIGHT_PIN = '4821';
const WRONG_PIN = '1234';
const KIOSKS = 5;

async function pinRow(customerId: string) {
  const { rows } = await db().query<{ failed_attempts: number; locked_until: Date | null; lock_minutes: number | null }>(
    `select failed_attempts, locked_until,
            extract(epoch from locked_until - updated_at)::float8 / 60 as lock_minutes
       from private.customer_pins where customer_id = $1`,
    [customerId],
  );
  return rows[0]!;
}

describe('concurrent PIN attempts and kiosk payments', () => {
  it('concurrent wrong PINs count exactly and lock after five, with no success after the lock', async () => {
    const { customer, kiosks } = await shopWithCustomer({ balance: 10_000, pin: RIGHT_PIN, kiosks: KIOSKS });

    const wrong = await atOnce('50 wrong PINs from 5 kiosks', IN_FLIGHT, (index) =>
      callFunction('pin/verify', asKiosk(kiosks[index % KIOSKS]!.device_key), {
        body: { customer_id: customer.id, pin: WRONG_PIN },
      }),
    );

    // The PIN row's lock queues the attempts: failures 1 to 4 answer pin_invalid with 4, 3, 2, 1
    // attempts left, the fifth locks the PIN, and the other 45 find it locked and count nothing.
    expect(wrong.outcomes).toEqual({ '401 pin_invalid': 4, '423 pin_locked': 46 });
    const remaining = wrong.answers.filter((a) => a.status === 401).map((a) => a.body.error.details.remaining_attempts);
    expect(remaining.sort()).toEqual([1, 2, 3, 4]);
    const pin = await pinRow(customer.id);
    expect({ failed_attempts: pin.failed_attempts, lock_minutes: pin.lock_minutes }).toEqual({ failed_attempts: 5, lock_minutes: 15 });
    const lockedUntil = new Set(wrong.answers.filter((a) => a.status === 423).map((a) => Date.parse(a.body.error.details.locked_until)));
    expect([...lockedUntil]).toEqual([pin.locked_until!.getTime()]);

    // Now the right PIN, at once, to verify and to pay: every one is refused while the lock holds.
    const right = await atOnce('50 right PINs (verify and pay) after the lock', IN_FLIGHT, (index) => {
      const kiosk = asKiosk(kiosks[index % KIOSKS]!.device_key);
      return index % 2 === 0
        ? callFunction('pin/verify', kiosk, { body: { customer_id: customer.id, pin: RIGHT_PIN } })
        : callFunction('kiosk/pay', kiosk, {
            body: { phone: customer.phone, pin: RIGHT_PIN, amount: 1_000 },
            idempotencyKey: newIdempotencyKey(),
          });
    });

    expect(right.outcomes).toEqual({ '423 pin_locked': 50 });
    const after = await pinRow(customer.id);
    expect({ failed_attempts: after.failed_attempts, locked_until: after.locked_until }).toEqual({
      failed_attempts: 5,
      locked_until: pin.locked_until,
    });
    const ledger = await expectBooksBalance(customer.id, 10_000);
    expect(ledger).toHaveLength(1);
  });

  it('concurrent kiosk payments by one customer never overspend', async () => {
    const { customer, kiosks } = await shopWithCustomer({ balance: 10_000, pin: RIGHT_PIN, kiosks: KIOSKS });

    const { answers, outcomes } = await atOnce('50 kiosk payments of 1,000 on 10,000', IN_FLIGHT, (index) =>
      callFunction('kiosk/pay', asKiosk(kiosks[index % KIOSKS]!.device_key), {
        body: { phone: customer.phone, pin: RIGHT_PIN, amount: 1_000 },
        idempotencyKey: newIdempotencyKey(),
      }),
    );

    expect(outcomes).toEqual({ '200': 10, '409 insufficient_balance': 40 });
    const ledger = await expectBooksBalance(customer.id, 0);
    const payments = ledger.filter((row) => row.type === 'deduct');
    expect(payments).toHaveLength(10);
    // Each kiosk's ledger rows are exactly the payments it was told succeeded.
    for (const [n, kiosk] of kiosks.entries()) {
      const acknowledged = answers.filter((a, index) => index % KIOSKS === n && a.status === 200).map((a) => a.body.transaction.id);
      const recorded = payments.filter((row) => row.actor_kiosk_id === kiosk.kiosk.id).map((row) => row.id);
      expect(recorded.sort()).toEqual(acknowledged.sort());
    }
    // Right PINs only: the burst left no failure on the customer's PIN.
    expect((await pinRow(customer.id)).failed_attempts).toBe(0);
  });
});
