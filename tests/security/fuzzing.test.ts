// Every edge function route gets generated hostile input: broken JSON, wrong types, missing and extra
// fields, amounts that are not plain positive integers, odd and overlong unicode, oversized bodies,
// wrong content types and methods, and bad credentials. Each answer must be a 4xx refusal (never a
// 5xx, never a hang) and the shops' ledger, balances, PINs and kiosks must be exactly as before.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShopWithStaff, stackEnv, type ShopWithStaff } from '../support/index.ts';
import { asStaff, callFunction, charge, createCustomer, newIdempotencyKey, registerKiosk, uniquePhone, type CustomerRecord } from '../functions/http.ts';
import {
  BAD_REQUEST_CODES,
  expectRefusal,
  fingerprint,
  forgedTokens,
  type Expected,
  type ShopsFingerprint,
} from './support.ts';
import { gatewayHeaders, send, type RawRequest } from '../support/index.ts';

const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS_PER_ROUTE ?? 300);
const RIGHT_PIN = '4821';
const BODY_LIMIT = 16 * 1024;

type Kind = 'uuid' | 'amount' | 'pin' | 'phone' | 'name' | 'note' | 'email' | 'role' | 'method';
// 'user': any signed-in user (opening a shop); 'staff': any member of shop A; 'owner': its owner only.
type Caller = 'user' | 'staff' | 'owner' | 'kiosk' | 'health';

interface Route {
  method: 'POST' | 'PATCH' | 'GET';
  path: string;
  // Every method the path answers, for the wrong-method cases.
  allowed: string[];
  caller: Caller;
  // Money routes need an Idempotency-Key.
  money: boolean;
  fields: Record<string, Kind>;
  required: string[];
  // A GET route's valid query string; its faults are bad query values instead of bad bodies.
  query?: () => Record<string, string>;
  // A body that would succeed: with it, only the fault under test can be the reason for a refusal.
  valid: () => Record<string, unknown>;
}

type Group = 'body' | 'credentials' | 'method or path' | 'content type' | 'size' | 'idempotency key';

interface FuzzCase {
  group: Group;
  category: string;
  request: RawRequest;
  expected: Expected;
}

// Filled in beforeAll: shop A owns everything the valid bodies name; shop B is "another shop".
let a: ShopWithStaff;
let b: ShopWithStaff;
let customer: CustomerRecord;
let chargeTransactionId: string;
let promotionId: string;
let kioskKey: string;
let kioskId: string;
let deactivatedKioskKey: string;
let otherShopKioskKey: string;
// A customer at zero, and one closed: the targets of a close and an erase that would succeed.
let closable: CustomerRecord;
let erasable: CustomerRecord;
let tokens: Awaited<ReturnType<typeof forgedTokens>>;
let before: ShopsFingerprint;
const tally = new Map<string, Map<string, number>>();

const routes: Route[] = [
  {
    method: 'POST', path: 'customers', allowed: ['POST', 'PATCH'], caller: 'staff', money: false,
    fields: { shop_id: 'uuid', name: 'name', phone: 'phone', pin: 'pin' }, required: ['shop_id', 'name', 'phone'],
    valid: () => ({ shop_id: a.shop.id, name: '박서준', phone: uniquePhone() }),
  },
  {
    method: 'PATCH', path: 'customers', allowed: ['POST', 'PATCH'], caller: 'staff', money: false,
    fields: { customer_id: 'uuid', name: 'name', phone: 'phone' }, required: ['customer_id'],
    valid: () => ({ customer_id: customer.id, name: '이름 바뀐 손님' }),
  },
  ...(['charge', 'deduct'] as const).map(
    (kind): Route => ({
      method: 'POST', path: `transactions/${kind}`, allowed: ['POST'], caller: 'staff', money: true,
      fields: { customer_id: 'uuid', amount: 'amount', memo: 'note' }, required: ['customer_id', 'amount'],
      valid: () => ({ customer_id: customer.id, amount: 1_000 }),
    }),
  ),
  {
    method: 'POST', path: 'transactions/cancel', allowed: ['POST'], caller: 'owner', money: true,
    fields: { transaction_id: 'uuid', reason: 'note', amount: 'amount' }, required: ['transaction_id'],
    valid: () => ({ transaction_id: chargeTransactionId }),
  },
  {
    method: 'POST', path: 'promotions', allowed: ['POST'], caller: 'owner', money: false,
    fields: { shop_id: 'uuid', min_charge: 'amount', bonus_amount: 'amount' }, required: ['shop_id', 'min_charge', 'bonus_amount'],
    valid: () => ({ shop_id: a.shop.id, min_charge: 50_000, bonus_amount: 5_000 }),
  },
  {
    method: 'POST', path: 'promotions/end', allowed: ['POST'], caller: 'owner', money: false,
    fields: { promotion_id: 'uuid' }, required: ['promotion_id'],
    valid: () => ({ promotion_id: promotionId }),
  },
  {
    method: 'POST', path: 'refunds/quote', allowed: ['POST'], caller: 'owner', money: false,
    fields: { customer_id: 'uuid' }, required: ['customer_id'],
    valid: () => ({ customer_id: customer.id }),
  },
  {
    method: 'POST', path: 'refunds', allowed: ['POST'], caller: 'owner', money: true,
    fields: { customer_id: 'uuid', method: 'method', memo: 'note' }, required: ['customer_id', 'method'],
    valid: () => ({ customer_id: customer.id, method: 'cash' }),
  },
  {
    method: 'POST', path: 'pin/set', allowed: ['POST'], caller: 'staff', money: false,
    fields: { customer_id: 'uuid', pin: 'pin' }, required: ['customer_id', 'pin'],
    valid: () => ({ customer_id: customer.id, pin: '9999' }),
  },
  {
    // A wrong PIN on purpose: accepted by mistake, it would show as a counted failure.
    method: 'POST', path: 'pin/verify', allowed: ['POST'], caller: 'staff', money: false,
    fields: { customer_id: 'uuid', pin: 'pin' }, required: ['customer_id', 'pin'],
    valid: () => ({ customer_id: customer.id, pin: '0000' }),
  },
  {
    method: 'POST', path: 'pin/unlock', allowed: ['POST'], caller: 'owner', money: false,
    fields: { customer_id: 'uuid' }, required: ['customer_id'],
    valid: () => ({ customer_id: customer.id }),
  },
  {
    method: 'POST', path: 'kiosk/pay', allowed: ['POST'], caller: 'kiosk', money: true,
    fields: { phone: 'phone', pin: 'pin', amount: 'amount' }, required: ['phone', 'pin', 'amount'],
    valid: () => ({ phone: customer.phone, pin: RIGHT_PIN, amount: 1_000 }),
  },
  {
    method: 'POST', path: 'kiosk/balance', allowed: ['POST'], caller: 'kiosk', money: false,
    fields: { phone: 'phone', pin: 'pin' }, required: ['phone', 'pin'],
    valid: () => ({ phone: customer.phone, pin: RIGHT_PIN }),
  },
  {
    method: 'POST', path: 'shop-kiosks', allowed: ['POST'], caller: 'owner', money: false,
    fields: { shop_id: 'uuid', name: 'name' }, required: ['shop_id', 'name'],
    valid: () => ({ shop_id: a.shop.id, name: '계산대 키오스크' }),
  },
  {
    method: 'POST', path: 'shop-kiosks/deactivate', allowed: ['POST'], caller: 'owner', money: false,
    fields: { kiosk_id: 'uuid' }, required: ['kiosk_id'],
    valid: () => ({ kiosk_id: kioskId }),
  },
  {
    method: 'POST', path: 'shops', allowed: ['POST', 'PATCH'], caller: 'user', money: false,
    fields: { name: 'name' }, required: ['name'],
    valid: () => ({ name: '새로 여는 가게' }),
  },
  {
    // The shop's own name again: accepted by mistake, it would change nothing the fingerprint misses.
    method: 'PATCH', path: 'shops', allowed: ['POST', 'PATCH'], caller: 'owner', money: false,
    fields: { shop_id: 'uuid', name: 'name' }, required: ['shop_id'],
    valid: () => ({ shop_id: a.shop.id, name: a.shop.name }),
  },
  {
    method: 'GET', path: 'members', allowed: ['GET', 'POST', 'PATCH'], caller: 'staff', money: false,
    fields: { shop_id: 'uuid' }, required: ['shop_id'], valid: () => ({}),
    query: () => ({ shop_id: a.shop.id }),
  },
  {
    method: 'POST', path: 'members', allowed: ['GET', 'POST', 'PATCH'], caller: 'owner', money: false,
    fields: { shop_id: 'uuid', email: 'email', role: 'role' }, required: ['shop_id', 'email', 'role'],
    valid: () => ({ shop_id: a.shop.id, email: `fuzz-${newIdempotencyKey()}@test.comings.kr`, role: 'staff' }),
  },
  {
    // The staff member's own role again.
    method: 'PATCH', path: 'members', allowed: ['GET', 'POST', 'PATCH'], caller: 'owner', money: false,
    fields: { shop_id: 'uuid', user_id: 'uuid', role: 'role' }, required: ['shop_id', 'user_id', 'role'],
    valid: () => ({ shop_id: a.shop.id, user_id: a.staff.id, role: 'staff' }),
  },
  {
    method: 'POST', path: 'members/remove', allowed: ['POST'], caller: 'owner', money: false,
    fields: { shop_id: 'uuid', user_id: 'uuid' }, required: ['shop_id', 'user_id'],
    valid: () => ({ shop_id: a.shop.id, user_id: a.manager.id }),
  },
  {
    method: 'POST', path: 'customers/close', allowed: ['POST'], caller: 'owner', money: false,
    fields: { customer_id: 'uuid' }, required: ['customer_id'],
    valid: () => ({ customer_id: closable.id }),
  },
  {
    method: 'POST', path: 'customers/erase', allowed: ['POST'], caller: 'owner', money: false,
    fields: { customer_id: 'uuid' }, required: ['customer_id'],
    valid: () => ({ customer_id: erasable.id }),
  },
  { method: 'GET', path: 'health', allowed: ['GET'], caller: 'health', money: false, fields: {}, required: [], valid: () => ({}) },
];

// Every sub-path some function answers; a generated wrong path must not land on one of them.
const KNOWN_PATHS = new Set([...routes.map((route) => route.path), 'transactions', 'pin', 'kiosk', 'promotions', 'refunds']);

const contract = (...codes: string[]): Expected => ({ layer: 'contract', codes });

// The not-found code of each staff route's target: what an id of another shop answers.
const UNKNOWN_TARGET: Record<string, string> = {
  'POST customers': 'shop_not_found',
  'PATCH customers': 'customer_not_found',
  'POST transactions/charge': 'customer_not_found',
  'POST transactions/deduct': 'customer_not_found',
  'POST transactions/cancel': 'transaction_not_found',
  'POST promotions': 'shop_not_found',
  'POST promotions/end': 'promotion_not_found',
  'POST refunds/quote': 'customer_not_found',
  'POST refunds': 'customer_not_found',
  'POST pin/set': 'customer_not_found',
  'POST pin/verify': 'customer_not_found',
  'POST pin/unlock': 'customer_not_found',
  'POST shop-kiosks': 'shop_not_found',
  'POST shop-kiosks/deactivate': 'kiosk_not_found',
  'PATCH shops': 'shop_not_found',
  'GET members': 'shop_not_found',
  'POST members': 'shop_not_found',
  'PATCH members': 'shop_not_found',
  'POST members/remove': 'shop_not_found',
  'POST customers/close': 'customer_not_found',
  'POST customers/erase': 'customer_not_found',
};
const PLATFORM: Expected = { layer: 'platform' };

// ---------- generators of bad values, each invalid by the contract whatever is drawn ----------

// Characters that make a string odd: NUL and other controls, bidi overrides, BOM, emoji, combining
// marks, lone surrogates (JSON.stringify escapes them as \udXXX), full-width and Arabic-Indic digits.
const ODD_CHARS = ['\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\u200f', '\u202e', '\u2066', '\ufeff', '\u2028',
  '😀', '👩‍👩‍👧', '\u0301', '\ud800', '\udfff', 'Ａ', '１', '١', '한', 'é', '"', '\\', '\'', ';', '<', '%'];
const oddString = fc.array(fc.oneof(fc.constantFrom(...ODD_CHARS), fc.string({ maxLength: 3 })), { minLength: 1, maxLength: 40 })
  .map((parts) => parts.join(''));
// Control characters (not whitespace, which trimming would remove) and lone surrogates: never a valid name or memo.
const POISON = ['\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\u009f', '\ud800', '\udbff', '\udc00', '\udfff'];
const poisoned = fc.tuple(fc.string({ maxLength: 30 }), fc.constantFrom(...POISON), fc.string({ maxLength: 30 }))
  .map(([head, poison, tail]) => `${head}${poison}${tail}`);
// Lengths are counted in code points, as zod and PostgreSQL's char_length count them; each unit is one.
const overlong = (min: number) =>
  fc.tuple(fc.constantFrom('가', 'a', '😀', '\u202e', 'é'), fc.integer({ min, max: min * 4 }))
    .map(([unit, count]) => unit.repeat(count));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const asciiDigits = (text: string) => (text.match(/[0-9]/g) ?? []).length;

// Values of the wrong JSON type for a field of this kind.
const wrongType = (kind: Kind) =>
  kind === 'amount'
    ? fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.constant({ value: 1000 }),
        fc.integer({ min: 1, max: 10_000_000 }).map(String))
    : fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.constant({}), fc.double());

// A raw JSON literal for an amount that is not a plain integer in 1..10,000,000. Raw text, because
// JSON.parse turns 1e3 and 1000.0 into the valid 1000: the spelling is what must be refused.
const badAmountLiteral = fc.oneof(
  fc.integer({ min: -10_000_000, max: 0 }).map(String),
  fc.integer({ min: 10_000_001, max: Number.MAX_SAFE_INTEGER }).map(String),
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 70n }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e7, max: 2e7 }).filter((n) => !Number.isInteger(n)).map(String),
  fc.integer({ min: 1, max: 10_000 }).map((n) => `${n}.0`),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 6 }), fc.constantFrom('e', 'E', 'e+', 'E+')).map(([m, e, s]) => `${m}${s}${e}`),
  fc.constantFrom('-0', '0', '0.0', '1e400', '-1e400', '1e-7', '9007199254740993', '10000000.5', '1000.00001', '"1000"', '"1e3"', '" 1000"', 'true', 'null', '[]', '{}', '[1000]'),
);

function badValue(kind: Kind): fc.Arbitrary<unknown> {
  switch (kind) {
    case 'uuid':
      return fc.oneof(fc.string(), oddString, overlong(37), fc.uuid().map((id) => `${id}x`), fc.uuid().map((id) => id.slice(1)),
        fc.uuid().map((id) => `{${id}}`), fc.uuid().map((id) => id.replaceAll('-', '')), fc.uuid().map((id) => `${id.slice(0, 35)}\u0000`))
        .filter((value) => !UUID.test(value));
    case 'pin':
      return fc.oneof(fc.string(), oddString, fc.stringMatching(/^[0-9]{0,3}$/), fc.stringMatching(/^[0-9]{7,12}$/),
        fc.constantFrom('１２３４', '١٢٣٤', '12 34', ' 1234', '1234\n', '12a4', '-123', '1e3', '0x1F'))
        .filter((value) => !/^[0-9]{4,6}$/.test(value));
    case 'phone':
      // Fewer than ten ASCII digits can never spell 010 plus eight digits, however it is punctuated.
      return fc.oneof(fc.oneof(fc.string(), oddString).filter((value) => asciiDigits(value) < 10), overlong(41),
        fc.constantFrom('011-1234-5678', '010-1234-567', '010-12345-6789', '+1 010 1234 5678', '010-1234-56789', '０１０-１２３４-５６７８',
          '010-1234-5678; drop table customers', `010-1234-5678${' '.repeat(40)}`));
    case 'name':
      return fc.oneof(poisoned, overlong(101), fc.constantFrom('', ' ', '\u3000', '\t\n', '\ufeff'));
    case 'note':
      return fc.oneof(poisoned, overlong(501));
    case 'email':
      return fc.oneof(fc.string().filter((value) => !value.includes('@')), poisoned.map((value) => `${value}@test.comings.kr`),
        fc.constantFrom('@test.comings.kr', 'a@', 'a@b', 'a b@test.comings.kr', '<a@b.kr>', 'a@@b.kr'),
        overlong(256).map((value) => `${value}@test.comings.kr`));
    case 'role':
      return fc.oneof(fc.string(), oddString, fc.constantFrom('Owner', 'OWNER', 'admin', 'service_role', ' staff', 'staff ', 'kiosk'))
        .filter((value) => !['owner', 'manager', 'staff'].includes(value));
    case 'method':
      return fc.oneof(fc.string(), oddString, fc.constantFrom('CASH', 'cash ', 'card', 'refund', '', 'cash\u0000'))
        .filter((value) => !['cash', 'card_cancel', 'transfer'].includes(value));
    case 'amount':
      throw new Error('amounts are generated as raw literals');
  }
}

// ---------- building requests ----------

function credentials(route: Route, caller: Caller = route.caller): Record<string, string> {
  if (caller === 'kiosk') return gatewayHeaders(stackEnv().ANON_KEY, { 'x-kiosk-key': kioskKey });
  if (caller === 'health') return gatewayHeaders(stackEnv().ANON_KEY);
  // The owner may do everything, so with the owner's token only the fault under test can refuse.
  return gatewayHeaders(a.owner.accessToken);
}

function request(route: Route, overrides: Partial<RawRequest> & { idempotencyKey?: string | null } = {}): RawRequest {
  const headers: Record<string, string> = { ...credentials(route), ...(route.method === 'GET' ? {} : { 'content-type': 'application/json' }) };
  const key = overrides.idempotencyKey === undefined ? newIdempotencyKey() : overrides.idempotencyKey;
  if (route.money && key !== null) headers['idempotency-key'] = key;
  return {
    method: route.method,
    path: `functions/v1/${route.path}${route.query ? `?${new URLSearchParams(route.query())}` : ''}`,
    body: route.method === 'GET' ? undefined : JSON.stringify(route.valid()),
    ...overrides,
    headers: { ...headers, ...overrides.headers },
  };
}

// Splices `"key":<literal>` into a body's JSON text so that any key (even __proto__) and any literal
// (even 1e3) is sent exactly as written.
function withField(body: Record<string, unknown>, key: string, literal: string): string {
  const rest = Object.entries(body).filter(([name]) => name !== key).map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`);
  return `{${[...rest, `${JSON.stringify(key)}:${literal}`].join(',')}}`;
}

function bodyCase(route: Route, category: string, body: string): FuzzCase {
  let parses = true;
  try {
    JSON.parse(body);
  } catch {
    parses = false;
  }
  return {
    group: 'body',
    category,
    request: request(route, { body }),
    expected: contract(...(parses ? BAD_REQUEST_CODES.filter((code) => code !== 'invalid_json') : ['invalid_json'])),
  };
}

function bodyFaults(route: Route): fc.Arbitrary<FuzzCase>[] {
  const fieldNames = Object.keys(route.fields);
  const validText = () => JSON.stringify(route.valid());
  const faults: fc.Arbitrary<FuzzCase>[] = [
    fc.oneof(
      fc.nat().chain((cut) => fc.constant(validText()).map((text) => text.slice(0, cut % text.length))),
      fc.tuple(fc.nat(), fc.constantFrom('{', '}', '[', ',', ':', '"', '\\', "'", 'NaN', 'undefined', '//'))
        .map(([at, junk]) => { const text = validText(); const i = at % text.length; return text.slice(0, i) + junk + text.slice(i); }),
      fc.string(),
      fc.constantFrom('', 'null null', '{"a":1}}', "{'customer_id':1}", '{"amount":NaN}', '{"amount":Infinity}', '{"amount":0x10}', '\u0000'),
    ).filter((text) => { try { JSON.parse(text); return false; } catch { return true; } })
      .map((text) => bodyCase(route, 'malformed JSON', text)),
    fc.oneof(fc.array(fc.jsonValue(), { maxLength: 3 }), fc.integer(), fc.string(), fc.constant(null), fc.boolean())
      .map((value) => bodyCase(route, 'not an object', JSON.stringify(value))),
    fc.oneof(
      fc.constantFrom('p_actor_user_id', 'p_kiosk_key', 'actor_user_id', 'shop_id', 'current_balance', 'balance_after', 'role', '__proto__', 'constructor', 'amount', 'type', 'id'),
      fc.string({ minLength: 1, maxLength: 20 }),
      oddString,
    ).filter((key) => !fieldNames.includes(key))
      .chain((key) => fc.jsonValue({ maxDepth: 1 }).map((value) => bodyCase(route, 'extra field', withField(route.valid(), key, JSON.stringify(value))))),
  ];
  if (route.required.length > 0) {
    faults.push(fc.constantFrom(...route.required).map((key) => {
      const body = route.valid();
      delete body[key];
      return bodyCase(route, 'missing field', JSON.stringify(body));
    }));
    faults.push(fc.constantFrom(...fieldNames).chain((key) =>
      wrongType(route.fields[key]).map((value) => bodyCase(route, 'wrong type', withField(route.valid(), key, JSON.stringify(value))))));
    const stringFields = fieldNames.filter((key) => route.fields[key] !== 'amount');
    if (stringFields.length > 0) {
      faults.push(fc.constantFrom(...stringFields).chain((key) =>
        badValue(route.fields[key]).map((value) => bodyCase(route, `bad ${route.fields[key]}`, withField(route.valid(), key, JSON.stringify(value))))));
    }
  }
  if (route.path === 'customers' && route.method === 'PATCH') {
    faults.push(fc.constant(bodyCase(route, 'missing field', JSON.stringify({ customer_id: customer.id }))));
  }
  if (Object.values(route.fields).includes('amount')) {
    faults.push(badAmountLiteral.map((literal) => bodyCase(route, 'bad amount', withField(route.valid(), 'amount', literal))));
  }
  return faults;
}

function credentialFaults(route: Route): fc.Arbitrary<FuzzCase> {
  const { ANON_KEY, SERVICE_ROLE_KEY } = stackEnv();
  const cases: Array<{ label: string; headers: Record<string, string>; expected: Expected }> = [
    { label: 'no apikey', headers: { authorization: `Bearer ${ANON_KEY}` }, expected: PLATFORM },
    { label: 'unknown apikey', headers: { apikey: tokens.otherSecret }, expected: PLATFORM },
  ];
  if (route.caller === 'health') {
    for (const [label, token] of [['expired token', tokens.expired], ['token of another secret', tokens.otherSecret], ['alg none', tokens.algNone]]) {
      cases.push({ label, headers: gatewayHeaders(token), expected: PLATFORM });
    }
  } else if (route.caller === 'kiosk') {
    const anon = (extra: Record<string, string>) => gatewayHeaders(ANON_KEY, extra);
    cases.push(
      { label: 'no kiosk key', headers: anon({}), expected: contract('invalid_kiosk_key') },
      { label: 'empty kiosk key', headers: anon({ 'x-kiosk-key': '' }), expected: contract('invalid_kiosk_key') },
      { label: 'overlong kiosk key', headers: anon({ 'x-kiosk-key': 'k'.repeat(201) }), expected: contract('invalid_kiosk_key') },
      { label: 'deactivated kiosk', headers: anon({ 'x-kiosk-key': deactivatedKioskKey }), expected: contract('kiosk_deactivated') },
      // Another shop's kiosk looks the phone up in its own shop only.
      { label: "another shop's kiosk", headers: anon({ 'x-kiosk-key': otherShopKioskKey }), expected: contract('customer_not_found') },
      { label: 'staff token, no kiosk key', headers: gatewayHeaders(a.owner.accessToken), expected: contract('invalid_kiosk_key') },
    );
  } else {
    const bearer = (token: string) => gatewayHeaders(token);
    cases.push(
      { label: 'no Authorization', headers: gatewayHeaders(null), expected: contract('not_authenticated') },
      { label: 'anon key as token', headers: bearer(ANON_KEY), expected: contract('not_authenticated') },
      { label: 'service key as token', headers: bearer(SERVICE_ROLE_KEY), expected: contract('not_authenticated') },
      { label: 'expired token', headers: bearer(tokens.expired), expected: contract('not_authenticated') },
      { label: 'token of another secret', headers: bearer(tokens.otherSecret), expected: contract('not_authenticated') },
      { label: 'alg none', headers: bearer(tokens.algNone), expected: contract('not_authenticated') },
      { label: 'garbage token', headers: bearer('not.a.jwt'), expected: contract('not_authenticated') },
      { label: 'Basic scheme', headers: gatewayHeaders(null, { authorization: 'Basic b3duZXI6cHc=' }), expected: contract('not_authenticated') },
      { label: 'token without exp', headers: bearer(tokens.withoutExpiry), expected: contract('not_authenticated') },
      { label: 'service_role claim', headers: bearer(tokens.serviceRoleClaim), expected: contract('not_authenticated') },
      { label: 'sub not a uuid', headers: bearer(tokens.subjectNotUuid), expected: contract('not_authenticated') },
    );
    // Anyone signed in may open a shop: a shop's membership matters only on routes of a shop.
    if (route.caller === 'user') {
      cases.push({ label: 'unknown user', headers: bearer(tokens.unknownUser), expected: contract('not_authenticated') });
    } else {
      // A user who does not exist cannot act at all; another shop's owner learns only that the
      // target is not found, exactly as for a random id.
      cases.push(
        { label: 'unknown user', headers: bearer(tokens.unknownUser), expected: contract('not_authenticated') },
        { label: "another shop's owner", headers: bearer(b.owner.accessToken), expected: contract(UNKNOWN_TARGET[`${route.method} ${route.path}`]) },
      );
    }
    if (route.caller === 'owner') {
      cases.push({ label: 'staff role', headers: bearer(a.staff.accessToken), expected: contract('insufficient_role') });
    }
    if (route.path === 'pin/verify') {
      const kiosk = (key: string) => gatewayHeaders(ANON_KEY, { 'x-kiosk-key': key });
      cases.push(
        { label: 'empty kiosk key', headers: kiosk(''), expected: contract('invalid_kiosk_key') },
        { label: 'deactivated kiosk', headers: kiosk(deactivatedKioskKey), expected: contract('kiosk_deactivated') },
        { label: "another shop's kiosk", headers: kiosk(otherShopKioskKey), expected: contract('customer_not_found') },
      );
    }
  }
  const garbageKiosk = fc.string({ minLength: 1, maxLength: 200 }).filter((key) => key.trim() === key && key.trim() !== '')
    .map((key) => ({ label: 'garbage kiosk key', headers: gatewayHeaders(ANON_KEY, { 'x-kiosk-key': key }), expected: contract('invalid_kiosk_key') }));
  const pick = route.caller === 'kiosk' || route.path === 'pin/verify' ? fc.oneof(fc.constantFrom(...cases), garbageKiosk) : fc.constantFrom(...cases);
  return pick.map(({ label, headers, expected }) => {
    const base = request(route);
    return {
      group: 'credentials',
      category: label,
      request: { ...base, headers: { ...headers, ...(base.headers['content-type'] ? { 'content-type': 'application/json' } : {}), ...(route.money ? { 'idempotency-key': newIdempotencyKey() } : {}) } },
      expected,
    };
  });
}

function methodAndPathFaults(route: Route): fc.Arbitrary<FuzzCase> {
  const wrongMethods = ['GET', 'PUT', 'DELETE', 'PATCH', 'POST'].filter((method) => !route.allowed.includes(method));
  const method = fc.constantFrom(...wrongMethods).map((wrong): FuzzCase => ({
    group: 'method or path',
    category: 'wrong method',
    request: request(route, { method: wrong, body: wrong === 'GET' ? undefined : JSON.stringify(route.valid()) }),
    expected: contract('method_not_allowed'),
  }));
  if (route.caller === 'health') return method;
  const path = fc.stringMatching(/^[a-zA-Z0-9_.~-]{1,16}$/)
    .filter((suffix) => suffix !== '.' && suffix !== '..' && !KNOWN_PATHS.has(`${route.path}/${suffix}`))
    .map((suffix): FuzzCase => ({ group: 'method or path', category: 'unknown path', request: request(route, { path: `functions/v1/${route.path}/${suffix}` }), expected: contract('route_not_found') }));
  return fc.oneof(method, path);
}

function contentTypeFaults(route: Route): fc.Arbitrary<FuzzCase> {
  return fc.constantFrom('text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
    'application/xml', 'application/jsonx', 'json', 'application/json-patch+json', 'application/vnd.api+json', 'text/json', '*/*', null)
    .map((type): FuzzCase => {
      const base = request(route);
      const headers = { ...base.headers };
      delete headers['content-type'];
      if (type !== null) headers['content-type'] = type;
      return { group: 'content type', category: 'wrong content type', request: { ...base, headers }, expected: contract('unsupported_media_type') };
    });
}

function sizeFaults(route: Route): fc.Arbitrary<FuzzCase> {
  // Multi-byte padding checks that the limit counts bytes, not characters.
  return fc.tuple(fc.constantFrom('x', '한', '😀'), fc.integer({ min: BODY_LIMIT + 1, max: 4 * BODY_LIMIT }), fc.boolean(), fc.constantFrom(...Object.keys(route.fields)))
    .map(([unit, bytes, chunked, field]): FuzzCase => {
      const padding = unit.repeat(Math.ceil(bytes / Buffer.byteLength(unit)));
      return { group: 'size', category: chunked ? 'body too large (chunked)' : 'body too large', request: { ...request(route, { body: JSON.stringify({ ...route.valid(), [field]: padding }) }), chunked }, expected: contract('payload_too_large') };
    });
}

function idempotencyFaults(route: Route): fc.Arbitrary<FuzzCase> {
  return fc.oneof(fc.constantFrom<string | null>(null, '', ' ', 'k'.repeat(201), 'two words', 'tab\there', 'caf\u00e9'),
    fc.string({ minLength: 201, maxLength: 400 }).filter((key) => key.trim() === key))
    .map((key): FuzzCase => ({ group: 'idempotency key', category: 'bad Idempotency-Key', request: request(route, { idempotencyKey: key }), expected: contract('idempotency_key_required') }));
}

// Always tried first, whatever the seed: the spellings most likely to slip through a validator.
function classicCases(route: Route): FuzzCase[] {
  if (route.caller === 'health' || route.query) return [];
  const cases = Object.entries(route.fields).flatMap(([key, kind]) =>
    kind === 'amount'
      ? ['1e3', '1000.0', '-0', '1e400', '9007199254740993', '"1000"'].map((literal) => bodyCase(route, 'bad amount', withField(route.valid(), key, literal)))
      // Escape sequences in the JSON text (raw lone surrogates would leave fetch as U+FFFD, a valid character).
      : ['\\ud800', '\\udfff', '\\u0000'].flatMap((escaped) => [
          bodyCase(route, `bad ${kind}`, withField(route.valid(), key, `"${escaped}"`)),
          bodyCase(route, `bad ${kind}`, withField(route.valid(), key, `"가나${escaped}다"`)),
        ]),
  );
  cases.push(bodyCase(route, 'extra field', withField(route.valid(), '__proto__', '{"role":"owner"}')));
  return cases;
}

// A GET route's query: each parameter with a bad value, missing, or joined by an unknown one.
function queryFaults(route: Route): fc.Arbitrary<FuzzCase> {
  const valid = route.query!();
  const withQuery = (query: Record<string, string>, category: string): FuzzCase => ({
    group: 'body',
    category,
    request: request(route, { path: `functions/v1/${route.path}?${new URLSearchParams(query)}` }),
    expected: contract('validation_failed'),
  });
  return fc.oneof(
    fc.constantFrom(...Object.keys(valid)).chain((key) =>
      badValue(route.fields[key]).map((value) => withQuery({ ...valid, [key]: String(value) }, `bad ${route.fields[key]}`))),
    fc.constantFrom(...Object.keys(valid)).map((key) => withQuery(Object.fromEntries(Object.entries(valid).filter(([name]) => name !== key)), 'missing field')),
    fc.stringMatching(/^[a-z_]{1,12}$/).filter((key) => !(key in valid)).map((key) => withQuery({ ...valid, [key]: '1' }, 'extra field')),
  );
}

function faultsOf(route: Route): fc.Arbitrary<FuzzCase> {
  if (route.caller === 'health') return fc.oneof(credentialFaults(route), methodAndPathFaults(route));
  if (route.query) {
    return fc.oneof(
      { arbitrary: queryFaults(route), weight: 5 },
      { arbitrary: credentialFaults(route), weight: 2 },
      { arbitrary: methodAndPathFaults(route), weight: 1 },
    );
  }
  return fc.oneof(
    { arbitrary: fc.oneof(...bodyFaults(route)), weight: 5 },
    { arbitrary: credentialFaults(route), weight: 2 },
    { arbitrary: methodAndPathFaults(route), weight: 1 },
    { arbitrary: contentTypeFaults(route), weight: 1 },
    { arbitrary: sizeFaults(route), weight: 1 },
    ...(route.money ? [{ arbitrary: idempotencyFaults(route), weight: 1 }] : []),
  );
}

const label = (route: Route) => `${route.method} ${route.path}`;

describe('fuzzing every edge function route with hostile input', () => {
  // One world of two shops for the whole run, on purpose: both are fingerprinted before and after it.
  beforeAll(async () => {
    [a, b] = await Promise.all([createShopWithStaff(), createShopWithStaff()]);
    customer = await createCustomer(a.owner, a.shop.id, { pin: RIGHT_PIN });
    chargeTransactionId = (await charge(a.owner, customer.id, 100_000)).transaction.id;
    // Created before the first charge would take it; it ends only if a fuzz case wrongly succeeds.
    promotionId = (await callFunction('promotions', asStaff(a.owner), {
      body: { shop_id: a.shop.id, min_charge: 1_000_000, bonus_amount: 1_000, starts_at: '2026-01-01T00:00:00Z' },
    })).body.promotion.id;
    const [kiosk, retired, otherShops] = await Promise.all([
      registerKiosk(a.owner, a.shop.id, '입구'),
      registerKiosk(a.owner, a.shop.id, '폐기된 키오스크'),
      registerKiosk(b.owner, b.shop.id, '다른 가게'),
    ]);
    kioskKey = kiosk.device_key;
    kioskId = kiosk.kiosk.id;
    deactivatedKioskKey = retired.device_key;
    otherShopKioskKey = otherShops.device_key;
    const deactivated = await callFunction('shop-kiosks/deactivate', asStaff(a.owner), { body: { kiosk_id: retired.kiosk.id } });
    expect(deactivated.status).toBe(200);
    [closable, erasable] = await Promise.all([createCustomer(a.owner, a.shop.id), createCustomer(a.owner, a.shop.id)]);
    expect((await callFunction('customers/close', asStaff(a.owner), { body: { customer_id: erasable.id } })).status).toBe(200);
    tokens = await forgedTokens(a.owner.id);
    before = await fingerprint([a.shop.id, b.shop.id]);
  });

  afterAll(() => {
    const groups: Group[] = ['body', 'credentials', 'method or path', 'content type', 'size', 'idempotency key'];
    const rows = Object.fromEntries([...tally].map(([route, byGroup]) => [route, {
      cases: [...byGroup.values()].reduce((sum, n) => sum + n, 0),
      ...Object.fromEntries(groups.map((group) => [group, byGroup.get(group) ?? 0])),
    }]));
    console.log('fuzz cases tried per route (every answer a 4xx refusal in time):');
    console.table(rows);
    console.log(`fuzz cases in all: ${Object.values(rows).reduce((sum, row) => sum + row.cases, 0)}`);
  });

  for (const route of routes) {
    it(`${label(route)} refuses every generated bad request with a 4xx in the contract, in time`, async () => {
      const seen = new Map<string, number>();
      tally.set(label(route), seen);
      await fc.assert(
        fc.asyncProperty(faultsOf(route), async (fuzz) => {
          seen.set(fuzz.group, (seen.get(fuzz.group) ?? 0) + 1);
          const answer = await send(fuzz.request);
          expectRefusal(answer, fuzz.expected, `${label(route)} [${fuzz.group}: ${fuzz.category}] ${JSON.stringify(fuzz.request).slice(0, 600)}`);
          if (fuzz.expected.layer === 'contract' && answer.body.error.code === 'method_not_allowed') {
            expect(answer.headers.get('allow')).toBe(route.allowed.join(', '));
          }
        }),
        { numRuns: RUNS_PER_ROUTE, endOnFailure: true, examples: classicCases(route).map((fuzz) => [fuzz] as [FuzzCase]) },
      );
    }, 120_000);
  }

  it('leaves the ledger, balances, PINs and kiosks of both shops exactly as they were', async () => {
    expect(tally.size).toBe(routes.length);
    expect(await fingerprint([a.shop.id, b.shop.id])).toEqual(before);
  });
});
