// A thief with a customer's phone number guesses PINs from every kiosk of the shop at once. The lock
// must count at most pin_max_attempts failures however many guesses race, refuse the right PIN while
// locked, answer pin_locked (423, with the lock's time) at every kiosk, and hold until an owner
// unlocks or the lock runs out.
import { randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { db } from '../support/index.ts';
import {
  asKiosk,
  asStaff,
  balanceOf,
  callFunction,
  expectError,
  ledgerCount,
  newIdempotencyKey,
  shopWithCustomer,
  type FunctionAnswer,
} from '../functions/http.ts';

const RIGHT_PIN = '482913';
const KIOSKS = 4;
const ATTEMPTS = 200;
const OPENING_BALANCE = 50_000;

interface PinRow {
  failed_attempts: number;
  locked_until: Date | null;
}

async function pinRow(customerId: string): Promise<PinRow> {
  const { rows } = await db().query<PinRow>('select failed_attempts, locked_until from private.customer_pins where customer_id = $1', [customerId]);
  return rows[0];
}

function wrongPin(): string {
  for (;;) {
    const pin = String(randomInt(0, 1_000_000)).padStart(randomInt(4, 7), '0');
    if (pin !== RIGHT_PIN) return pin;
  }
}

type Route = 'kiosk/pay' | 'kiosk/balance' | 'pin/verify';
const ROUTES: Route[] = ['kiosk/pay', 'kiosk/balance', 'pin/verify'];

// One guess through one of the three ways a kiosk can check a PIN.
function guess(route: Route, deviceKey: string, customer: { id: string; phone: string }, pin: string): Promise<FunctionAnswer> {
  const caller = asKiosk(deviceKey);
  if (route === 'kiosk/pay') {
    return callFunction(route, caller, { body: { phone: customer.phone, pin, amount: 10_000 }, idempotencyKey: newIdempotencyKey() });
  }
  if (route === 'kiosk/balance') return callFunction(route, caller, { body: { phone: customer.phone, pin } });
  return callFunction(route, caller, { body: { customer_id: customer.id, pin } });
}

interface Storm {
  answers: Array<{ kiosk: number; route: Route; answer: FunctionAnswer }>;
  maxInFlight: number;
}

// Every guess is started before any is answered; the peak of requests in flight is measured, not assumed.
async function storm(count: number, keys: string[], customer: { id: string; phone: string }): Promise<Storm> {
  let inFlight = 0;
  let maxInFlight = 0;
  const answers = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const kiosk = i % keys.length;
      const route = ROUTES[i % ROUTES.length];
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        return { kiosk, route, answer: await guess(route, keys[kiosk], customer, wrongPin()) };
      } finally {
        inFlight--;
      }
    }),
  );
  return { answers, maxInFlight };
}

const codeOf = (answer: FunctionAnswer) => answer.body?.error?.code as string | undefined;

async function lockedShop() {
  const shop = await shopWithCustomer({ balance: OPENING_BALANCE, pin: RIGHT_PIN, kiosks: KIOSKS });
  return { ...shop, keys: shop.kiosks.map((k) => k.device_key) };
}

describe('PIN brute force from several kiosks at once', () => {
  it(`counts exactly five failures out of ${ATTEMPTS} concurrent wrong PINs from ${KIOSKS} kiosks and answers pin_locked at every kiosk`, async () => {
    const { customer, keys } = await lockedShop();
    const ledgerBefore = await ledgerCount(customer.id);

    const { answers, maxInFlight } = await storm(ATTEMPTS, keys, customer);
    const row = await pinRow(customer.id);

    const invalid = answers.filter(({ answer }) => codeOf(answer) === 'pin_invalid');
    const locked = answers.filter(({ answer }) => codeOf(answer) === 'pin_locked');
    const lockedPerKiosk = keys.map((_, kiosk) => locked.filter((entry) => entry.kiosk === kiosk).length);
    console.table({
      'wrong PINs sent': ATTEMPTS,
      'peak requests in flight': maxInFlight,
      'failures counted (private.customer_pins)': row.failed_attempts,
      'pin_invalid answers': invalid.length,
      'pin_locked answers': locked.length,
      ...Object.fromEntries(lockedPerKiosk.map((n, kiosk) => [`pin_locked at kiosk ${kiosk + 1}`, n])),
    });

    expect(maxInFlight).toBeGreaterThanOrEqual(50);
    expect(row.failed_attempts).toBe(5);
    expect(row.locked_until).not.toBeNull();
    // The first four failures say how many tries are left; the fifth locks, and so does every later one.
    expect(invalid.map(({ answer }) => answer.body.error.details.remaining_attempts).sort()).toEqual([1, 2, 3, 4]);
    expect([invalid.length, locked.length]).toEqual([4, ATTEMPTS - 4]);
    for (const { answer } of invalid) expectError(answer, 401, 'pin_invalid');
    for (const { answer } of locked) {
      expectError(answer, 423, 'pin_locked');
      expect(new Date(answer.body.error.details.locked_until).getTime()).toBe(row.locked_until!.getTime());
    }
    expect(lockedPerKiosk.every((n) => n > 0)).toBe(true);
    expect(await balanceOf(customer.id)).toBe(OPENING_BALANCE);
    expect(await ledgerCount(customer.id)).toBe(ledgerBefore);
  });

  it('refuses the right PIN at every kiosk, on every route, and for staff while locked, and a new PIN cannot lift the lock', async () => {
    const { customer, keys, staff, manager } = await lockedShop();
    await storm(60, keys, customer);
    const locked = await pinRow(customer.id);
    expect(locked.failed_attempts).toBe(5);

    const rightPin = await Promise.all(keys.flatMap((key) => ROUTES.map((route) => guess(route, key, customer, RIGHT_PIN))));
    for (const answer of rightPin) expectError(answer, 423, 'pin_locked');
    expectError(await callFunction('pin/verify', asStaff(staff), { body: { customer_id: customer.id, pin: RIGHT_PIN } }), 423, 'pin_locked');
    expectError(await callFunction('pin/set', asStaff(manager), { body: { customer_id: customer.id, pin: '1111' } }), 423, 'pin_locked');
    // Staff may not unlock: only the owner can.
    expectError(await callFunction('pin/unlock', asStaff(staff), { body: { customer_id: customer.id } }), 403, 'insufficient_role');

    const after = await pinRow(customer.id);
    expect([after.failed_attempts, after.locked_until?.getTime()]).toEqual([5, locked.locked_until!.getTime()]);
    expect(await balanceOf(customer.id)).toBe(OPENING_BALANCE);
  });

  it("lets the right PIN pay again once the owner unlocks, and the count starts over", async () => {
    const { customer, keys, owner } = await lockedShop();
    await storm(60, keys, customer);
    expect((await pinRow(customer.id)).failed_attempts).toBe(5);

    const unlocked = await callFunction('pin/unlock', asStaff(owner), { body: { customer_id: customer.id } });
    expect([unlocked.status, unlocked.body]).toEqual([200, { customer_id: customer.id, unlocked: true }]);
    expect(await pinRow(customer.id)).toEqual({ failed_attempts: 0, locked_until: null });

    const paid = await guess('kiosk/pay', keys[0], customer, RIGHT_PIN);
    expect([paid.status, paid.body.balance]).toEqual([200, OPENING_BALANCE - 10_000]);
    expect(await pinRow(customer.id)).toEqual({ failed_attempts: 0, locked_until: null });
  });

  it('lets the right PIN in again once the lock has run out, and a wrong one then starts a new count of one', async () => {
    const { customer, keys } = await lockedShop();
    await storm(60, keys, customer);
    const locked = await pinRow(customer.id);
    expect(locked.failed_attempts).toBe(5);
    // Waiting out the shop's 15 minutes here would be the honest clock but not a test; moving the
    // stored lock time into the past is the same state the clock would reach.
    await db().query("update private.customer_pins set locked_until = now() - interval '1 second' where customer_id = $1", [customer.id]);

    const wrongAfterExpiry = await guess('kiosk/balance', keys[1], customer, wrongPin());
    expect(expectError(wrongAfterExpiry, 401, 'pin_invalid').details.remaining_attempts).toBe(4);
    const balance = await guess('kiosk/balance', keys[2], customer, RIGHT_PIN);
    expect([balance.status, balance.body.balance]).toEqual([200, OPENING_BALANCE]);
    expect(await pinRow(customer.id)).toEqual({ failed_attempts: 0, locked_until: null });
  });
});
