// A shop's live screen through supabase-js itself: a private channel per shop, fed by the
// database's broadcast of every committed movement, and RLS on realtime.messages deciding who hears.
import { afterEach, describe, expect, it } from 'vitest';
import { db, serviceClient } from '../support/index.ts';
import {
  asKiosk,
  asStaff,
  callFunction,
  charge,
  createCustomer,
  newIdempotencyKey,
  registerKiosk,
  signToken,
  shopWithCustomer,
} from '../functions/http.ts';
import { anonymousClient, openScreen, until, type Screen } from './support.ts';

const opened: Screen[] = [];
async function screenOf(...args: Parameters<typeof openScreen>): Promise<Screen> {
  const screen = await openScreen(...args);
  opened.push(screen);
  return screen;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((screen) => screen.close()));
});

async function kioskShop() {
  const setup = await shopWithCustomer({ balance: 10_000, pin: '2580' });
  const { kiosk, device_key } = await registerKiosk(setup.owner, setup.shop.id);
  return { ...setup, kiosk, deviceKey: device_key };
}

function kioskPay(deviceKey: string, phone: string, amount: number) {
  return callFunction('kiosk/pay', asKiosk(deviceKey), {
    body: { phone, pin: '2580', amount },
    idempotencyKey: newIdempotencyKey(),
  });
}

describe('live screen: a member hears their shop', () => {
  it('hears a kiosk payment within a second of its answer, with the balance it left and nothing secret', async () => {
    const { shop, staff, customer, kiosk, deviceKey } = await kioskShop();
    const screen = await screenOf(staff.client, shop.id);
    expect(screen.status).toBe('SUBSCRIBED');

    const paid = await kioskPay(deviceKey, customer.phone, 3_500);
    expect(paid.status).toBe(200);
    const answeredAt = Date.now();
    const [heard] = await screen.waitFor(1, 1_000);
    expect(Date.now() - answeredAt).toBeLessThan(1_000);

    expect(heard.event).toBe('movement');
    expect(heard.meta?.id).toBe(heard.payload.id);
    expect(Object.keys(heard.payload).sort()).toEqual(['customer', 'id', 'shop_id', 'transaction']);
    expect(heard.payload.shop_id).toBe(shop.id);
    expect(heard.payload.transaction).toEqual({
      id: paid.body.transaction.id,
      type: 'deduct',
      amount: 3_500,
      balance_after: 6_500,
      created_at: paid.body.transaction.created_at,
      customer_id: customer.id,
      original_transaction_id: null,
      actor_user_id: null,
      actor_kiosk_id: kiosk.id,
      memo: null,
    });
    expect(heard.payload.customer).toEqual({ id: customer.id, name: customer.name, balance: 6_500 });
    const text = JSON.stringify(heard);
    expect(text).not.toMatch(/pin|hash|idempotency|2580/i);
    expect(await screen.waitFor(1)).toHaveLength(1);
  });
});
