import { describe, expect, it } from 'vitest';
import { createShopWithStaff } from '../support/index.ts';
import { asStaff, callFunction, createCustomer, expectError, invoke, staffClient, uniquePhone } from './http.ts';

describe('POST /functions/v1/customers', () => {
  it('creates a customer with a trimmed name, a normalised phone and a zero balance', async () => {
    const { staff, shop } = await createShopWithStaff();
    const answer = await callFunction('customers', asStaff(staff), { body: { shop_id: shop.id, name: '  박지민 ', phone: '+82 10 2345 6789' } });
    expect(answer.status).toBe(201);
    expect(answer.body.customer).toMatchObject({ shop_id: shop.id, name: '박지민', phone: '010-2345-6789', current_balance: 0 });
  });

  it('creates a customer with an initial PIN through functions.invoke', async () => {
    const { manager, shop } = await createShopWithStaff();
    const client = staffClient(manager);
    const created = await invoke(client, 'customers', { shop_id: shop.id, name: '최유나', phone: uniquePhone(), pin: '482910' });
    expect(created.status).toBe(201);
    const verified = await invoke(client, 'pin/verify', { customer_id: created.body.customer.id, pin: '482910' });
    expect([verified.status, verified.body.ok]).toEqual([200, true]);
  });

  it('refuses a phone another customer of the shop has, whatever its spelling, with 409 phone_taken', async () => {
    const { staff, shop } = await createShopWithStaff();
    await createCustomer(staff, shop.id, { phone: '010-5555-1234' });
    const answer = await callFunction('customers', asStaff(staff), { body: { shop_id: shop.id, name: '동명이인', phone: '01055551234' } });
    expectError(answer, 409, 'phone_taken');
  });

  it('lets two shops each have a customer with the same phone', async () => {
    const first = await createShopWithStaff();
    const second = await createShopWithStaff();
    const phone = uniquePhone();
    const [a, b] = await Promise.all([createCustomer(first.staff, first.shop.id, { phone }), createCustomer(second.staff, second.shop.id, { phone })]);
    expect([a.phone, b.phone]).toEqual([phone, phone]);
  });

  it("refuses creating a customer in another shop with 404 shop_not_found, as for an unknown shop", async () => {
    const { shop } = await createShopWithStaff();
    const other = await createShopWithStaff();
    const answer = await callFunction('customers', asStaff(other.owner), { body: { shop_id: shop.id, name: '침입자', phone: uniquePhone() } });
    expectError(answer, 404, 'shop_not_found');
  });

  it.each([
    ['an empty name', { name: '   ', phone: '010-1111-2222' }, ['name']],
    ['a name over 100 characters', { name: '가'.repeat(101), phone: '010-1111-2222' }, ['name']],
    ['a 3-digit initial PIN', { name: '김철수', phone: '010-1111-2222', pin: '123' }, ['pin']],
    ['a balance field', { name: '김철수', phone: '010-1111-2222', current_balance: 1_000_000 }, []],
  ])('refuses %s with 400 validation_failed', async (_label, fields, path) => {
    const { staff, shop } = await createShopWithStaff();
    const answer = await callFunction('customers', asStaff(staff), { body: { shop_id: shop.id, ...fields } });
    expect(expectError(answer, 400, 'validation_failed').details[0].path).toEqual(path);
  });

  it.each(['011-234-5678', '02-1234-5678', '010-1234-567', '+1 010-1234-5678', '０１０-1234-5678'])(
    'refuses the phone %j, which is no Korean mobile number, with 400 invalid_phone as SQL does',
    async (spelling) => {
      const { staff, shop } = await createShopWithStaff();
      const answer = await callFunction('customers', asStaff(staff), { body: { shop_id: shop.id, name: '김철수', phone: spelling } });
      expect(expectError(answer, 400, 'invalid_phone').details).toEqual({ phone: spelling });
    },
  );

  it.each(['01023456789', '+82 10-2345-6789', '010.2345.6789', '010 2345 6789', '82-10-2345-6789'])(
    'stores the phone spelled %j as 010-2345-6789',
    async (spelling) => {
      const { staff, shop } = await createShopWithStaff();
      const answer = await callFunction('customers', asStaff(staff), { body: { shop_id: shop.id, name: '이서연', phone: spelling } });
      expect({ status: answer.status, phone: answer.body.customer?.phone }).toEqual({ status: 201, phone: '010-2345-6789' });
    },
  );
});

describe('PATCH /functions/v1/customers', () => {
  it('renames a customer and changes the phone, normalising it', async () => {
    const { staff, shop } = await createShopWithStaff();
    const customer = await createCustomer(staff, shop.id, { name: '이름전' });
    const answer = await callFunction('customers', asStaff(staff), {
      method: 'PATCH',
      body: { customer_id: customer.id, name: '이름후', phone: '010 7777 8888' },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.customer).toMatchObject({ id: customer.id, name: '이름후', phone: '010-7777-8888', current_balance: 0 });
  });

  it('keeps the phone when only the name changes', async () => {
    const { staff, shop } = await createShopWithStaff();
    const customer = await createCustomer(staff, shop.id);
    const answer = await callFunction('customers', asStaff(staff), { method: 'PATCH', body: { customer_id: customer.id, name: '새 이름' } });
    expect(answer.body.customer).toMatchObject({ name: '새 이름', phone: customer.phone });
  });

  it("refuses another shop's staff and an unknown customer alike, with 404 customer_not_found", async () => {
    const { staff, shop } = await createShopWithStaff();
    const customer = await createCustomer(staff, shop.id);
    const other = await createShopWithStaff();
    expectError(
      await callFunction('customers', asStaff(other.staff), { method: 'PATCH', body: { customer_id: customer.id, name: '탈취' } }),
      404,
      'customer_not_found',
    );
    expectError(
      await callFunction('customers', asStaff(staff), { method: 'PATCH', body: { customer_id: '00000000-0000-4000-8000-000000000003', name: '없음' } }),
      404,
      'customer_not_found',
    );
  });

  it('refuses moving a customer onto a phone already taken in the shop with 409 phone_taken', async () => {
    const { staff, shop } = await createShopWithStaff();
    const first = await createCustomer(staff, shop.id);
    const second = await createCustomer(staff, shop.id);
    const answer = await callFunction('customers', asStaff(staff), { method: 'PATCH', body: { customer_id: second.id, phone: first.phone } });
    expectError(answer, 409, 'phone_taken');
  });

  it('refuses an update that changes nothing with 400 validation_failed', async () => {
    const { staff, shop } = await createShopWithStaff();
    const customer = await createCustomer(staff, shop.id);
    expectError(await callFunction('customers', asStaff(staff), { method: 'PATCH', body: { customer_id: customer.id } }), 400, 'validation_failed');
  });
});
