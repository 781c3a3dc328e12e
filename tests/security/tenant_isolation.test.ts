// Shop A's owner and staff (and anon) try every path into shop B: REST on every table and view, every
// RPC called directly, every function route with B's ids, A's kiosk on B's customer. All must be
// refused, nothing of B's may come back (not even in an error message), and B must be unchanged.
// The private schema (PIN hashes, kiosk key hashes) must be unreadable by every API role.
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShopWithStaff, db, gatewayHeaders, send, stackEnv, type ShopWithStaff } from '../support/index.ts';
import { asKiosk, asStaff, callFunction, charge, createCustomer, expectError, newIdempotencyKey, registerKiosk, uniquePhone, type Caller, type CustomerRecord, type FunctionAnswer } from '../functions/http.ts';
import { fingerprint, type ShopsFingerprint } from './support.ts';

const B_PIN = '7315';
// Every response body of this file is kept, to prove at the end that none carried B's secrets.
const bodies: Array<{ what: string; text: string }> = [];

let a: ShopWithStaff;
let b: ShopWithStaff;
let customerA: CustomerRecord;
let customerB: CustomerRecord;
let transactionB: string;
let promotionB: string;
let kioskA: string;
let kioskB: { id: string; key: string };
let bSecrets: string[];
let before: ShopsFingerprint;

function keep(what: string, answer: FunctionAnswer): FunctionAnswer {
  bodies.push({ what, text: typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body) });
  return answer;
}

const rest = async (what: string, method: string, path: string, bearer: string | null, body?: unknown, extra: Record<string, string> = {}) =>
  keep(what, await send({
    method,
    path: `rest/v1/${path}`,
    headers: gatewayHeaders(bearer, { 'content-type': 'application/json', prefer: 'return=representation', ...extra }),
    body: body === undefined ? undefined : JSON.stringify(body),
  }));

// The private helpers every authorization rests on. The probes read the whole list of private helpers
// from pg_proc, so a helper added or renamed later is probed without touching this test; these must be
// among them. privateHelperProbes is the number of answers the probe collects (two per helper and
// caller), computed from that list when the probe runs, for the final count of responses.
const KEY_HELPERS = ['member_shop_ids', 'authorize_member', 'raise_error', 'verify_pin'];
let privateHelperProbes = 0;

// The callers of shop A, and anon: with no Authorization the gateway sends the anon key as the token.
const callers = () => [
  { who: "A's owner", bearer: a.owner.accessToken as string | null },
  { who: "A's staff", bearer: a.staff.accessToken as string | null },
  { who: 'anon', bearer: null as string | null },
];

// One world of two shops for the whole file, on purpose: B is fingerprinted before and after every attack.
beforeAll(async () => {
  [a, b] = await Promise.all([createShopWithStaff(), createShopWithStaff({ name: `비밀 가게 ${randomInt(1e9)}` })]);
  const secretName = `비밀손님${randomInt(1e9)}`;
  [customerA, customerB] = await Promise.all([
    createCustomer(a.owner, a.shop.id, { pin: '1111' }),
    createCustomer(b.owner, b.shop.id, { name: secretName, phone: uniquePhone(), pin: B_PIN }),
  ]);
  // An odd figure that no id, timestamp or count of this test is likely to contain.
  const balanceB = 1_987_653;
  transactionB = (await charge(b.owner, customerB.id, balanceB)).transaction.id;
  promotionB = (await callFunction('promotions', asStaff(b.owner), { body: { shop_id: b.shop.id, min_charge: 3_000_000, bonus_percent: 3 } })).body.promotion.id;
  await charge(a.owner, customerA.id, 5_000);
  await callFunction('promotions', asStaff(a.owner), { body: { shop_id: a.shop.id, min_charge: 50_000, bonus_amount: 2_000 } });
  const [registeredA, registeredB] = await Promise.all([registerKiosk(a.owner, a.shop.id), registerKiosk(b.owner, b.shop.id, '비밀 키오스크')]);
  kioskA = registeredA.device_key;
  kioskB = { id: registeredB.kiosk.id, key: registeredB.device_key };
  const { rows } = await db().query<{ pin_hash: string; key_hash: string }>(
    `select p.pin_hash, kc.key_hash from private.customer_pins p, private.kiosk_credentials kc
     where p.customer_id = $1 and kc.kiosk_id = $2`,
    [customerB.id, kioskB.id],
  );
  bSecrets = [b.shop.name, secretName, customerB.phone, customerB.phone.replaceAll('-', ''), String(balanceB), kioskB.key, rows[0].pin_hash, rows[0].key_hash, b.owner.email, b.manager.email, b.staff.email];
  before = await fingerprint([b.shop.id]);
});

afterAll(async () => {
  console.log(`tenant isolation: ${bodies.length} responses checked for B's ${bSecrets.length} secret strings`);
});

describe("REST: A's members and anon reach nothing of shop B", () => {
  const filters = () => ({
    shops: `id=eq.${b.shop.id}`,
    shop_members: `shop_id=eq.${b.shop.id}`,
    customers: `shop_id=eq.${b.shop.id}`,
    transactions: `shop_id=eq.${b.shop.id}`,
    kiosks: `shop_id=eq.${b.shop.id}`,
    promotions: `shop_id=eq.${b.shop.id}`,
    shop_daily_summaries: `shop_id=eq.${b.shop.id}`,
    shop_outstanding_balances: `shop_id=eq.${b.shop.id}`,
  });

  it("selects B's rows from every table and view as an empty list for A's members, and anon is refused", async () => {
    for (const [relation, filter] of Object.entries(filters())) {
      for (const { who, bearer } of callers()) {
        const answer = await rest(`select ${relation} as ${who}`, 'GET', `${relation}?select=*&${filter}`, bearer);
        if (bearer === null) {
          expect([relation, answer.status, answer.body.code]).toEqual([relation, 401, '42501']);
        } else {
          expect([relation, who, answer.status, answer.body]).toEqual([relation, who, 200, []]);
        }
      }
    }
  });

  it('lists only shop A when A selects without a filter, by phone, by name, or through an embedding', async () => {
    for (const { bearer } of callers().slice(0, 2)) {
      const everything = await Promise.all(Object.keys(filters()).map((relation) => rest(`select all ${relation}`, 'GET', `${relation}?select=*`, bearer)));
      for (const answer of everything) {
        expect(answer.status).toBe(200);
        const shopIds = new Set((answer.body as Array<{ shop_id?: string; id?: string }>).map((row) => row.shop_id ?? row.id));
        expect([...shopIds]).toEqual([a.shop.id]);
      }
      const byPhone = await rest('customer by B phone', 'GET', `customers?phone=eq.${customerB.phone}`, bearer);
      const byName = await rest('customer by B name', 'GET', `customers?name=like.*${encodeURIComponent(customerB.name.slice(0, 4))}*`, bearer);
      const embedded = await rest('shops with customers', 'GET', `shops?select=id,customers(id,name,phone,current_balance),transactions(id,amount)&id=eq.${b.shop.id}`, bearer);
      const orFilter = await rest('or filter', 'GET', `transactions?or=(shop_id.eq.${b.shop.id},id.eq.${transactionB})`, bearer);
      expect([byPhone.body, byName.body, embedded.body, orFilter.body]).toEqual([[], [], [], []]);
    }
  });

  it("refuses insert, update and delete on every table and view aimed at B, for A's owner, A's staff and anon", async () => {
    const writes: Array<[string, string, unknown]> = [
      ['shops', `id=eq.${b.shop.id}`, { name: 'taken over', max_balance: 99_999_999 }],
      ['shop_members', `shop_id=eq.${b.shop.id}`, { shop_id: b.shop.id, user_id: a.staff.id, role: 'owner' }],
      ['customers', `id=eq.${customerB.id}`, { shop_id: b.shop.id, name: 'x', phone: uniquePhone(), current_balance: 0 }],
      ['transactions', `shop_id=eq.${b.shop.id}`, { shop_id: b.shop.id, customer_id: customerB.id, type: 'deduct', amount: 1, balance_after: 0, idempotency_key: 'x' }],
      ['kiosks', `id=eq.${kioskB.id}`, { shop_id: b.shop.id, name: 'rogue', active: false }],
      ['promotions', `shop_id=eq.${b.shop.id}`, { shop_id: b.shop.id, min_charge: 1, bonus_percent: 100 }],
      ['shop_daily_summaries', `shop_id=eq.${b.shop.id}`, { shop_id: b.shop.id, charged: 0 }],
      ['shop_outstanding_balances', `shop_id=eq.${b.shop.id}`, { shop_id: b.shop.id, outstanding_balance: 0 }],
    ];
    let refused = 0;
    for (const [relation, filter, row] of writes) {
      for (const { who, bearer } of callers()) {
        const answers = [
          await rest(`insert ${relation} as ${who}`, 'POST', relation, bearer, row),
          await rest(`update ${relation} as ${who}`, 'PATCH', `${relation}?${filter}`, bearer, row),
          await rest(`delete ${relation} as ${who}`, 'DELETE', `${relation}?${filter}`, bearer),
        ];
        // PostgreSQL refuses any write to a view that is not auto-updatable (these aggregate) in the
        // rewriter, before it looks at privileges: 55000, which PostgREST answers with 500.
        const expected = relation.startsWith('shop_') && relation !== 'shop_members' ? [500, '55000'] : [bearer === null ? 401 : 403, '42501'];
        for (const answer of answers) {
          expect([relation, who, answer.status, answer.body.code]).toEqual([relation, who, ...expected]);
          refused++;
        }
      }
    }
    expect(refused).toBe(8 * 3 * 3);
  });
});

describe("statements: A's members read no statement of B's customer", () => {
  it('answers customer_not_found to A\'s owner and staff (RLS hides B\'s customer), and refuses anon', async () => {
    for (const { who, bearer } of callers()) {
      const answer = await rest(`statement of B as ${who}`, 'POST', 'rpc/customer_statement', bearer, { p_customer_id: customerB.id });
      expect([who, answer.status, answer.body.code]).toEqual(bearer === null ? [who, 401, '42501'] : [who, 404, 'customer_not_found']);
    }
  });
});

describe('RPC: no API role but service_role may call the SQL functions directly', () => {
  const calls = (): Array<[string, Record<string, unknown>]> => [
    // A's token naming B's owner as the actor: only the missing execute grant stands in the way.
    ['create_customer', { p_actor_user_id: b.owner.id, p_shop_id: b.shop.id, p_name: 'x', p_phone: uniquePhone() }],
    ['update_customer', { p_actor_user_id: b.owner.id, p_customer_id: customerB.id, p_name: 'x' }],
    ['charge_balance', { p_actor_user_id: b.owner.id, p_customer_id: customerB.id, p_amount: 1_000, p_idempotency_key: newIdempotencyKey() }],
    ['deduct_balance', { p_actor_user_id: b.owner.id, p_customer_id: customerB.id, p_amount: 1_000, p_idempotency_key: newIdempotencyKey() }],
    ['cancel_transaction', { p_actor_user_id: b.owner.id, p_transaction_id: transactionB, p_idempotency_key: newIdempotencyKey() }],
    ['set_pin', { p_actor_user_id: b.owner.id, p_customer_id: customerB.id, p_pin: '0000' }],
    ['verify_pin_atomic', { p_customer_id: customerB.id, p_pin: '0000', p_actor_user_id: b.owner.id }],
    ['verify_pin_atomic', { p_customer_id: customerB.id, p_pin: B_PIN, p_kiosk_key: kioskB.key }],
    ['unlock_pin', { p_actor_user_id: b.owner.id, p_customer_id: customerB.id }],
    ['kiosk_pay', { p_kiosk_key: kioskB.key, p_phone: customerB.phone, p_pin: B_PIN, p_amount: 1_000, p_idempotency_key: newIdempotencyKey() }],
    ['kiosk_balance', { p_kiosk_key: kioskB.key, p_phone: customerB.phone, p_pin: B_PIN }],
    ['register_kiosk', { p_actor_user_id: b.owner.id, p_shop_id: b.shop.id, p_name: 'rogue' }],
    ['deactivate_kiosk', { p_actor_user_id: b.owner.id, p_kiosk_id: kioskB.id }],
    ['create_shop', { p_actor_user_id: b.owner.id, p_name: 'rogue' }],
    ['update_shop', { p_actor_user_id: b.owner.id, p_shop_id: b.shop.id, p_max_balance: 1 }],
    ['list_shop_members', { p_actor_user_id: b.owner.id, p_shop_id: b.shop.id }],
    ['add_shop_member', { p_actor_user_id: b.owner.id, p_shop_id: b.shop.id, p_email: a.staff.email, p_role: 'owner' }],
    ['update_shop_member', { p_actor_user_id: b.owner.id, p_shop_id: b.shop.id, p_user_id: b.staff.id, p_role: 'owner' }],
    ['remove_shop_member', { p_actor_user_id: b.owner.id, p_shop_id: b.shop.id, p_user_id: b.staff.id }],
    ['close_customer', { p_actor_user_id: b.owner.id, p_customer_id: customerB.id }],
    ['erase_customer', { p_actor_user_id: b.owner.id, p_customer_id: customerB.id }],
    ['reconcile_balances', {}],
    ['create_promotion', { p_actor_user_id: b.owner.id, p_shop_id: b.shop.id, p_min_charge: 1, p_bonus_percent: 100 }],
    ['end_promotion', { p_actor_user_id: b.owner.id, p_promotion_id: promotionB }],
    ['quote_refund', { p_actor_user_id: b.owner.id, p_customer_id: customerB.id }],
    ['refund_balance', { p_actor_user_id: b.owner.id, p_customer_id: customerB.id, p_method: 'cash', p_idempotency_key: newIdempotencyKey() }],
  ];

  it("refuses every contract RPC for A's owner, A's staff, the anon key and no token, even naming B's owner as actor", async () => {
    const { ANON_KEY } = stackEnv();
    const tokens = [...callers(), { who: 'anon key as token', bearer: ANON_KEY }];
    let refused = 0;
    for (const [fn, args] of calls()) {
      for (const { who, bearer } of tokens) {
        const answer = await rest(`rpc ${fn} as ${who}`, 'POST', `rpc/${fn}`, bearer, args);
        const anonymous = bearer === null || bearer === ANON_KEY;
        expect([fn, who, answer.status, answer.body.code]).toEqual([fn, who, anonymous ? 401 : 403, '42501']);
        refused++;
      }
    }
    expect(refused).toBe(26 * 4);
  });

  it('keeps every private helper out of reach: not found in the exposed schema, and the private profile refused', async () => {
    const { rows: helpers } = await db().query<{ name: string; args: string[] | null }>(
      `select p.proname as name, p.proargnames as args
         from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'private' and p.prokind = 'f'
        order by 1`,
    );
    const names = helpers.map((helper) => helper.name);
    privateHelperProbes = names.length * callers().length * 2;
    expect(names).toEqual(expect.arrayContaining(KEY_HELPERS));
    // Shop B's ids in every argument a helper names, as an attacker would try them.
    const argsOf = (args: string[] | null) =>
      Object.fromEntries((args ?? []).filter((arg) => arg.startsWith('p_')).map((arg) => [arg, arg.includes('pin') ? B_PIN : b.shop.id]));
    for (const { who, bearer } of callers()) {
      const answers = await Promise.all(
        helpers.map(async ({ name, args }) => {
          const exposed = await rest(`rpc ${name} as ${who}`, 'POST', `rpc/${name}`, bearer, argsOf(args));
          const viaProfile = await rest(`private rpc ${name} as ${who}`, 'POST', `rpc/${name}`, bearer, argsOf(args), { 'content-profile': 'private' });
          return [name, exposed.status, exposed.body.code, viaProfile.status, viaProfile.body.code];
        }),
      );
      expect(answers, who).toEqual(names.map((name) => [name, 404, 'PGRST202', 406, 'PGRST106']));
    }
  });
});

describe("function routes: A's members, A's kiosk and anon get nothing with B's ids", () => {
  // Each route with one id of B's, and what an unknown id of that kind answers: B's ids must answer
  // exactly the same, so that A cannot tell B's real ids from random ones.
  type Attempt = { route: string; method?: string; body?: Record<string, unknown>; money?: boolean; id: string; unknown: string };
  const attempts = (): Attempt[] => [
    { route: 'customers', body: { shop_id: b.shop.id, name: '침입자', phone: uniquePhone() }, id: b.shop.id, unknown: 'shop_not_found' },
    { route: 'customers', method: 'PATCH', body: { customer_id: customerB.id, name: '침입자' }, id: customerB.id, unknown: 'customer_not_found' },
    { route: 'customers/close', body: { customer_id: customerB.id }, id: customerB.id, unknown: 'customer_not_found' },
    { route: 'customers/erase', body: { customer_id: customerB.id }, id: customerB.id, unknown: 'customer_not_found' },
    { route: 'shops', method: 'PATCH', body: { shop_id: b.shop.id, name: '탈취', max_balance: 1 }, id: b.shop.id, unknown: 'shop_not_found' },
    { route: `members?shop_id=${b.shop.id}`, method: 'GET', id: b.shop.id, unknown: 'shop_not_found' },
    { route: 'members', body: { shop_id: b.shop.id, email: a.staff.email, role: 'owner' }, id: b.shop.id, unknown: 'shop_not_found' },
    { route: 'members', method: 'PATCH', body: { shop_id: b.shop.id, user_id: b.owner.id, role: 'staff' }, id: b.shop.id, unknown: 'shop_not_found' },
    { route: 'members/remove', body: { shop_id: b.shop.id, user_id: b.owner.id }, id: b.shop.id, unknown: 'shop_not_found' },
    { route: 'transactions/charge', body: { customer_id: customerB.id, amount: 1_000 }, money: true, id: customerB.id, unknown: 'customer_not_found' },
    { route: 'transactions/deduct', body: { customer_id: customerB.id, amount: 1_000 }, money: true, id: customerB.id, unknown: 'customer_not_found' },
    { route: 'transactions/cancel', body: { transaction_id: transactionB }, money: true, id: transactionB, unknown: 'transaction_not_found' },
    { route: 'pin/set', body: { customer_id: customerB.id, pin: '0000' }, id: customerB.id, unknown: 'customer_not_found' },
    { route: 'pin/verify', body: { customer_id: customerB.id, pin: B_PIN }, id: customerB.id, unknown: 'customer_not_found' },
    { route: 'pin/unlock', body: { customer_id: customerB.id }, id: customerB.id, unknown: 'customer_not_found' },
    { route: 'shop-kiosks', body: { shop_id: b.shop.id, name: '침입 키오스크' }, id: b.shop.id, unknown: 'shop_not_found' },
    { route: 'shop-kiosks/deactivate', body: { kiosk_id: kioskB.id }, id: kioskB.id, unknown: 'kiosk_not_found' },
    { route: 'promotions', body: { shop_id: b.shop.id, min_charge: 1_000, bonus_percent: 100 }, id: b.shop.id, unknown: 'shop_not_found' },
    { route: 'promotions/end', body: { promotion_id: promotionB }, id: promotionB, unknown: 'promotion_not_found' },
    { route: 'refunds/quote', body: { customer_id: customerB.id }, id: customerB.id, unknown: 'customer_not_found' },
    { route: 'refunds', body: { customer_id: customerB.id, method: 'cash' }, money: true, id: customerB.id, unknown: 'customer_not_found' },
  ];

  const attempt = (what: string, caller: Caller, { route, method = 'POST', body, money }: Attempt) =>
    callFunction(route, caller, { method, body, ...(money ? { idempotencyKey: newIdempotencyKey() } : {}) }).then((answer) => keep(what, answer));

  /** The same attempt with its id of B's replaced by a random one. */
  const withRandomId = (tried: Attempt): Attempt => {
    const random = crypto.randomUUID();
    const swap = (text: string) => text.replaceAll(tried.id, random);
    return { ...tried, route: swap(tried.route), body: tried.body && JSON.parse(swap(JSON.stringify(tried.body))), id: random };
  };

  /** The error body as text, without its request id, with the id the caller sent written as <id>. */
  const comparable = (answer: FunctionAnswer, id: string) => {
    const { request_id: _requestId, ...error } = answer.body.error;
    return JSON.stringify({ error }).replaceAll(id, '<id>');
  };

  it("answers A's owner and staff exactly as for an unknown id (404), and anon 401 not_authenticated, on every staff route", async () => {
    const { ANON_KEY } = stackEnv();
    let refused = 0;
    for (const tried of attempts()) {
      for (const [who, caller, status, code] of [
        ["A's owner", asStaff(a.owner), 404, tried.unknown],
        ["A's staff", asStaff(a.staff), 404, tried.unknown],
        ['anon', { token: ANON_KEY } as Caller, 401, 'not_authenticated'],
      ] as const) {
        const answer = await attempt(`${tried.method ?? 'POST'} ${tried.route} as ${who}`, caller, tried);
        expect([tried.route, who, answer.status, answer.body?.error?.code]).toEqual([tried.route, who, status, code]);
        expectError(answer, status, code);
        refused++;
      }
    }
    expect(refused).toBe(21 * 3);
  });

  it("gives a real id of B's and a random id byte-identical error bodies, apart from the request id", async () => {
    for (const tried of attempts()) {
      const unknown = withRandomId(tried);
      const real = await attempt(`${tried.route} B's id as A's owner`, asStaff(a.owner), tried);
      const random = await attempt(`${tried.route} random id as A's owner`, asStaff(a.owner), unknown);
      expect([tried.route, real.status, comparable(real, tried.id)]).toEqual([tried.route, random.status, comparable(random, unknown.id)]);
      expect(real.status).toBe(404);
      expect(real.headers.get('content-length')).toBe(random.headers.get('content-length'));
    }
  });

  it("refuses A's kiosk on B's customer: by phone or by id it finds no such customer", async () => {
    const pay = keep('kiosk/pay A kiosk B phone', await callFunction('kiosk/pay', asKiosk(kioskA), {
      body: { phone: customerB.phone, pin: B_PIN, amount: 1_000 },
      idempotencyKey: newIdempotencyKey(),
    }));
    expectError(pay, 404, 'customer_not_found');
    const balance = keep('kiosk/balance A kiosk B phone', await callFunction('kiosk/balance', asKiosk(kioskA), { body: { phone: customerB.phone, pin: B_PIN } }));
    expectError(balance, 404, 'customer_not_found');
    // Wrong PINs from A's kiosk must not count against B's customer.
    for (const pin of ['0000', '1234', '9999', '5555', '2468', '1357']) {
      const verify = keep('pin/verify A kiosk B id', await callFunction('pin/verify', asKiosk(kioskA), { body: { customer_id: customerB.id, pin } }));
      expectError(verify, 404, 'customer_not_found');
    }
  });

  it('refuses B\'s kiosk key in the hands of anyone but a kiosk of B: a staff token of A does not make it A\'s', async () => {
    // With A's owner token and B's kiosk key, the kiosk key is the credential: it reaches only B's customers by phone.
    const pay = keep('kiosk/pay B key A phone', await callFunction('kiosk/pay', { token: a.owner.accessToken, kioskKey: kioskB.key }, {
      body: { phone: customerA.phone, pin: '1111', amount: 1_000 },
      idempotencyKey: newIdempotencyKey(),
    }));
    expectError(pay, 404, 'customer_not_found');
  });
});

describe('PIN hashes and kiosk key hashes', () => {
  it('cannot be read through REST by any key or token, in the public or the private profile', async () => {
    const { ANON_KEY, SERVICE_ROLE_KEY } = stackEnv();
    const tokens = [...callers(), { who: 'service role', bearer: SERVICE_ROLE_KEY }, { who: 'anon key', bearer: ANON_KEY }];
    let refused = 0;
    for (const { who, bearer } of tokens) {
      const apikey: Record<string, string> = bearer === SERVICE_ROLE_KEY ? { apikey: SERVICE_ROLE_KEY } : {};
      for (const table of ['customer_pins', 'kiosk_credentials']) {
        const asPublic = await rest(`${table} as ${who}`, 'GET', `${table}?select=*`, bearer, undefined, apikey);
        expect([who, table, asPublic.status, asPublic.body.code]).toEqual([who, table, 404, '42P01']);
        const asPrivate = await rest(`private ${table} as ${who}`, 'GET', `${table}?select=*`, bearer, undefined, { ...apikey, 'accept-profile': 'private' });
        expect([who, table, asPrivate.status, asPrivate.body.code]).toEqual([who, table, 406, 'PGRST106']);
        refused += 2;
      }
      // No relationship to embed and no such column: the hash has no name in the exposed schema.
      const embedded = await rest(`embedded pins as ${who}`, 'GET', 'customers?select=id,customer_pins(pin_hash)', bearer, undefined, apikey);
      expect([who, embedded.status, embedded.body.code]).toEqual([who, 400, 'PGRST200']);
      const column = await rest(`pin_hash column as ${who}`, 'GET', 'customers?select=id,pin_hash', bearer, undefined, apikey);
      expect([who, column.status, column.body.code]).toEqual([who, 400, '42703']);
      refused += 2;
    }
    expect(refused).toBe(5 * 6);
  });

  it('cannot be read in SQL by anon, authenticated (as A\'s owner) or service_role', async () => {
    const client = await db().connect();
    try {
      for (const role of ['anon', 'authenticated', 'service_role']) {
        for (const table of ['private.customer_pins', 'private.kiosk_credentials']) {
          await client.query('begin');
          await client.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: a.owner.id, role })]);
          await client.query(`set local role ${role}`);
          const refusal = await client.query(`select * from ${table}`).then(() => null, (error: { code: string }) => error.code);
          await client.query('rollback');
          expect([role, table, refusal]).toEqual([role, table, '42501']);
        }
      }
    } finally {
      client.release();
    }
  });
});

describe('after every attempt', () => {
  it("shop B is exactly as it was and no response carried B's name, phone, balance, keys or hashes", async () => {
    expect(await fingerprint([b.shop.id])).toEqual(before);
    const leaks = bodies.flatMap(({ what, text }) => bSecrets.filter((secret) => text.includes(secret)).map((secret) => `${what}: ${secret}`));
    expect(leaks).toEqual([]);
    // 24 selects + 24 A-only reads + 72 writes + 3 statements + 104 RPCs + 63 staff routes + 42 real-or-random
    // id pairs + 8 kiosk attempts + 1 foreign kiosk key + 30 private-table reads, and two probes per private
    // helper and caller.
    expect(bodies.length).toBe(371 + privateHelperProbes);
  });
});
