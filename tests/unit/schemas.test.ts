import { describe, expect, it } from 'vitest';
import {
  amount,
  cancelBody,
  createCustomerBody,
  displayName,
  idempotencyKey,
  kioskPayBody,
  moneyBody,
  normalizeKoreanMobile,
  pin,
  updateCustomerBody,
} from '../../functions/_shared/schemas.ts';

const CUSTOMER_ID = '1b4e28ba-2fa1-41d2-883f-0016d3cca427';
const SHOP_ID = '6ec0bd7f-11c0-43da-975e-2a8ad9ebae0b';

describe('phone numbers', () => {
  it.each([
    '01012345678',
    '010-1234-5678',
    '010 1234 5678',
    '010.1234.5678',
    ' 010-1234-5678 ',
    '(010) 1234-5678',
    '+82 10-1234-5678',
    '+82 10 1234 5678',
    '+821012345678',
    '+82 (0)10-1234-5678',
    '82-10-1234-5678',
    '0082 10 1234 5678',
  ])('normalises %j to 010-1234-5678', (spelling) => {
    expect(normalizeKoreanMobile(spelling)).toBe('010-1234-5678');
  });

  it.each([
    '',
    '010-1234-567',
    '010-1234-56789',
    '011-1234-5678',
    '02-1234-5678',
    '+1 010-1234-5678',
    '010-1234-567a',
    '０１０-1234-5678',
    '010--1234--5678x',
  ])('refuses %j as a Korean mobile number', (spelling) => {
    expect(normalizeKoreanMobile(spelling)).toBeNull();
  });

  it('stores the normalised spelling in the parsed body', () => {
    const parsed = kioskPayBody.parse({ phone: '+82 10 9876 5432', pin: '1234', amount: 5000 });
    expect(parsed).toEqual({ phone: '010-9876-5432', pin: '1234', amount: 5000 });
  });

  it('refuses a non-string phone with the path of the field', () => {
    const result = kioskPayBody.safeParse({ phone: 1012345678, pin: '1234', amount: 5000 });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['phone']]);
  });
});

describe('amounts', () => {
  it.each([1, 1000, 9_999_999, 10_000_000])('accepts %d KRW', (value) => {
    expect(amount.parse(value)).toBe(value);
  });

  it.each([
    ['zero', 0],
    ['negative', -1000],
    ['negative zero', -0],
    ['fractional', 1000.5],
    ['above the ceiling', 10_000_001],
    ['unsafe integer', 2 ** 53],
    ['NaN', Number.NaN],
    ['infinity', Number.POSITIVE_INFINITY],
    ['string', '1000'],
    ['exponent string', '1e3'],
    ['boolean', true],
    ['null', null],
  ])('refuses a %s amount', (_label, value) => {
    expect(amount.safeParse(value).success).toBe(false);
  });
});

describe('PINs', () => {
  it.each(['1234', '12345', '123456', '0000'])('accepts %j', (value) => {
    expect(pin.parse(value)).toBe(value);
  });

  it.each([
    ['three digits', '123'],
    ['seven digits', '1234567'],
    ['a number', 1234],
    ['letters', '12a4'],
    ['spaces', ' 1234'],
    ['full-width digits', '１２３４'],
    ['Arabic-Indic digits', '١٢٣٤'],
  ])('refuses %s', (_label, value) => {
    expect(pin.safeParse(value).success).toBe(false);
  });
});

describe('names', () => {
  it('trims surrounding spaces', () => {
    expect(displayName.parse('  김민준  ')).toBe('김민준');
  });

  it('accepts exactly 100 characters and refuses 101', () => {
    expect(displayName.parse('가'.repeat(100))).toHaveLength(100);
    expect(displayName.safeParse('가'.repeat(101)).success).toBe(false);
  });

  it.each([
    ['empty', ''],
    ['only spaces', '   '],
    ['a control character', '김\u0000민준'],
    ['a newline', '김\n민준'],
    ['a lone UTF-16 surrogate', '김\ud800민준'],
  ])('refuses a name that is %s', (_label, value) => {
    expect(displayName.safeParse(value).success).toBe(false);
  });
});

describe('request bodies', () => {
  it('refuses an unknown field with an unrecognized_keys issue naming it', () => {
    const result = moneyBody.safeParse({ customer_id: CUSTOMER_ID, amount: 1000, balance: 999_999 });
    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([
      expect.objectContaining({ code: 'unrecognized_keys', keys: ['balance'], path: [] }),
    ]);
  });

  // The customer's shop routes the call by shop (issue 16): optional, and a UUID when given.
  it('takes an optional shop_id, which must be a UUID', () => {
    expect(moneyBody.parse({ customer_id: CUSTOMER_ID, amount: 1000, shop_id: SHOP_ID })).toEqual({ customer_id: CUSTOMER_ID, amount: 1000, shop_id: SHOP_ID });
    expect(moneyBody.safeParse({ customer_id: CUSTOMER_ID, amount: 1000, shop_id: 'shop-1' }).error?.issues.map((issue) => issue.path)).toEqual([['shop_id']]);
  });

  it('refuses a customer id that is not a UUID', () => {
    const result = moneyBody.safeParse({ customer_id: 'customer-1', amount: 1000 });
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['customer_id']]);
  });

  it('accepts a memo of 500 characters with line breaks and refuses 501', () => {
    const memo = `${'가'.repeat(249)}\n${'나'.repeat(250)}`;
    expect(moneyBody.parse({ customer_id: CUSTOMER_ID, amount: 1, memo }).memo).toBe(memo);
    expect(moneyBody.safeParse({ customer_id: CUSTOMER_ID, amount: 1, memo: 'x'.repeat(501) }).success).toBe(false);
  });

  it('takes a new customer with an optional initial PIN and a normalised phone', () => {
    expect(createCustomerBody.parse({ shop_id: SHOP_ID, name: ' 이서연 ', phone: '01055556666' })).toEqual({
      shop_id: SHOP_ID,
      name: '이서연',
      phone: '010-5555-6666',
    });
    expect(createCustomerBody.safeParse({ shop_id: SHOP_ID, name: '이서연', phone: '01055556666', pin: '12' }).success).toBe(
      false,
    );
  });

  it('refuses a memo with a NUL character or a lone surrogate, which PostgreSQL text cannot hold', () => {
    expect(moneyBody.safeParse({ customer_id: CUSTOMER_ID, amount: 1, memo: 'a\u0000b' }).success).toBe(false);
    expect(moneyBody.safeParse({ customer_id: CUSTOMER_ID, amount: 1, memo: 'a\udc00b' }).success).toBe(false);
    expect(moneyBody.parse({ customer_id: CUSTOMER_ID, amount: 1, memo: '커피 두 잔 ☕\t포장' }).memo).toBe('커피 두 잔 ☕\t포장');
  });

  it('refuses a customer update that changes nothing', () => {
    const result = updateCustomerBody.safeParse({ customer_id: CUSTOMER_ID });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0].message).toBe('give a new name, a new phone, or both');
  });

  it('refuses a cancel without a transaction id', () => {
    const result = cancelBody.safeParse({ reason: 'wrong amount' });
    expect(result.error?.issues.map((issue) => [issue.code, issue.path])).toEqual([['invalid_type', ['transaction_id']]]);
  });
});

describe('idempotency keys', () => {
  it.each(['a', 'pay-2026-11-24-0001', 'x'.repeat(200), '9f1c0b7e-6a2d-4d55-9a6b-5b1f9a0c2e11'])('accepts %j', (key) => {
    expect(idempotencyKey.parse(key)).toBe(key);
  });

  it.each([
    ['empty', ''],
    ['201 characters', 'x'.repeat(201)],
    ['a space', 'pay 1'],
    ['non-ASCII', '결제-1'],
  ])('refuses a key that is %s', (_label, key) => {
    expect(idempotencyKey.safeParse(key).success).toBe(false);
  });
});
