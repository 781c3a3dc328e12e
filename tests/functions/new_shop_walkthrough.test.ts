/**
 * A new shop from nothing, as its people would do it, through supabase-js only and without the
 * service-role key: the owner signs up and opens the shop, invites a manager who accepts and signs in,
 * registers a kiosk; the manager adds a customer and charges; the customer pays at the kiosk; the
 * owner removes the manager, whose next call is refused; the customer, once at zero, is closed and
 * erased. The one step outside supabase-js is reading the invitation mail (its link's token).
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { anonClient, invitationToken, uniqueEmail } from '../support/index.ts';
import { invoke, kioskClient, uniquePhone } from './http.ts';

const money = () => ({ 'Idempotency-Key': randomUUID() });

it('sign up, open a shop, invite a manager, register a kiosk, sell, pay at the kiosk, remove the manager, close and erase', async () => {
  const ownerEmail = uniqueEmail('owner');
  const managerEmail = uniqueEmail('manager');

  // The owner signs up and is signed in at once (confirmations are off).
  const owner = anonClient();
  const signedUp = await owner.auth.signUp({ email: ownerEmail, password: 'owner-password-1' });
  expect(signedUp.error).toBeNull();
  const opened = await invoke(owner, 'shops', { name: '모퉁이 카페' });
  expect(opened.status).toBe(201);
  const shopId: string = opened.body.shop.id;

  // A manager is invited by email, follows the mail, sets a password and signs in.
  const invited = await invoke(owner, 'members', { shop_id: shopId, email: managerEmail, role: 'manager' });
  expect([invited.status, invited.body.member.role, invited.body.member.email]).toEqual([201, 'manager', managerEmail]);
  const newcomer = anonClient();
  expect((await newcomer.auth.verifyOtp({ token_hash: await invitationToken(managerEmail), type: 'invite' })).error).toBeNull();
  expect((await newcomer.auth.updateUser({ password: 'manager-password-1' })).error).toBeNull();
  const manager = anonClient();
  expect((await manager.auth.signInWithPassword({ email: managerEmail, password: 'manager-password-1' })).error).toBeNull();
  const team = await manager.functions.invoke(`members?shop_id=${shopId}`, { method: 'GET' });
  expect((team.data as { members: { email: string; role: string }[] }).members.map((m) => [m.email, m.role])).toEqual([
    [ownerEmail, 'owner'],
    [managerEmail, 'manager'],
  ]);

  // The owner registers the kiosk; the manager registers a customer and charges 10,000.
  const kiosk = await invoke(owner, 'shop-kiosks', { shop_id: shopId, name: '입구 키오스크' });
  expect(kiosk.status).toBe(201);
  const phone = uniquePhone();
  const created = await invoke(manager, 'customers', { shop_id: shopId, name: '정하은', phone, pin: '2580' });
  expect(created.status).toBe(201);
  const customerId: string = created.body.customer.id;
  const charged = await invoke(manager, 'transactions/charge', { customer_id: customerId, amount: 10_000 }, money());
  expect([charged.status, charged.body.balance]).toEqual([200, 10_000]);

  // The customer pays 4,500 at the kiosk with phone and PIN.
  const till = kioskClient(kiosk.body.device_key);
  const paid = await invoke(till, 'kiosk/pay', { phone, pin: '2580', amount: 4_500 }, money());
  expect([paid.status, paid.body.balance]).toEqual([200, 5_500]);

  // The manager leaves the team: the same session is refused at once, and reads show nothing.
  const removed = await invoke(owner, 'members/remove', { shop_id: shopId, user_id: invited.body.member.user_id });
  expect(removed.status).toBe(200);
  const refused = await invoke(manager, 'transactions/charge', { customer_id: customerId, amount: 1_000 }, money());
  expect([refused.status, refused.body.error.code]).toEqual([404, 'customer_not_found']);
  expect((await manager.from('customers').select('id')).data).toEqual([]);

  // The customer spends the rest and moves away: closed at zero, then erased; the ledger stays.
  const rest = await invoke(till, 'kiosk/pay', { phone, pin: '2580', amount: 5_500 }, money());
  expect([rest.status, rest.body.balance]).toEqual([200, 0]);
  expect((await invoke(owner, 'customers/close', { customer_id: customerId })).status).toBe(200);
  const erased = await invoke(owner, 'customers/erase', { customer_id: customerId });
  expect([erased.status, erased.body.customer.name, erased.body.customer.phone]).toEqual([200, null, null]);
  const ledger = await owner.from('transactions').select('type, amount, balance_after').eq('customer_id', customerId).order('sequence');
  expect(ledger.data).toEqual([
    { type: 'charge', amount: 10_000, balance_after: 10_000 },
    { type: 'deduct', amount: 4_500, balance_after: 5_500 },
    { type: 'deduct', amount: 5_500, balance_after: 0 },
  ]);
  const again = await invoke(owner, 'customers', { shop_id: shopId, name: '새 손님', phone });
  expect(again.status).toBe(201);
});
