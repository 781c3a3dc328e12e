import { createHash } from 'node:crypto';

/**
 * The SQL that lays out a generated dataset. Every value is a pure function of the seed and a row's
 * index (PostgreSQL's `hashint8extended`), so a row never needs its neighbours: the ledger is written
 * in one set-based INSERT with no window function, no sort and no per-row round trip, and the same
 * seed gives the same ledger on any machine.
 *
 * The ledger of a customer is a run of blocks. A block opens with a charge and its deducts spend
 * exactly that charge, so every complete block nets to zero and each balance_after is known in
 * closed form from the block alone; only the customer's last block is cut short, which leaves the
 * current balance. Reversals sit right after their original (a mistaken charge cancelled at once,
 * a deduct refunded), so none can drive a balance below zero and each original has at most one.
 */

export interface LedgerShape {
  seed: number;
  shops: number;
  customers: number;
  transactions: number;
  kiosksPerShop: number;
  /** Local date (Asia/Seoul) the ledger ends on, exclusive. */
  until: string;
  months: number;
}

export const LEDGER_COLUMNS = [
  'id', 'shop_id', 'customer_id', 'type', 'amount', 'balance_after', 'original_transaction_id',
  'idempotency_key', 'actor_user_id', 'actor_kiosk_id', 'memo', 'created_at', 'sequence',
] as const;
export type LedgerColumn = (typeof LEDGER_COLUMNS)[number];

export const STAFF_ROLES = ['owner', 'manager', 'staff'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

/** Business hours in Asia/Seoul, 08:00-22:00: the ledger's clock only runs while shops are open. */
const OPEN_SECONDS_PER_DAY = 14 * 3600;
const OPENING_SECONDS = 8 * 3600;

type IdKind = 'shop' | 'user' | 'kiosk' | 'customer' | 'transaction';
const ID_KIND_CODE: Record<IdKind, string> = {
  shop: '5a00',
  user: '5b00',
  kiosk: '5c00',
  customer: '5d00',
  transaction: '5e00',
};

const CHARGE_AMOUNTS = [10_000, 20_000, 30_000, 50_000, 50_000, 100_000, 100_000, 200_000, 300_000];
const SURNAMES = '김김김김이이이박박최정강조윤장임한오서신권황안송류홍전고문양손배';
const GIVEN_SYLLABLES = '민서지현준우예도하윤수연진영은재성호유아주원승태경희동혜소다';
const MENU = ['아메리카노', '카페라떼', '바닐라라떼', '조각 케이크', '샌드위치', '점심 도시락', '생과일주스', '쿠키 세트'];

export class LedgerSql {
  readonly prefix: string;
  private readonly seedBase: bigint;

  constructor(readonly shape: LedgerShape) {
    if (!Number.isSafeInteger(shape.seed) || shape.seed < 0 || shape.seed >= 2 ** 40) {
      throw new Error('--seed must be an integer in 0..2^40');
    }
    this.seedBase = BigInt(shape.seed) << 8n;
    const digest = createHash('sha256').update(`comings-load-dataset:${shape.seed}`).digest('hex');
    // A UUIDv8 layout: a per-seed prefix, the kind of row, then the row's index, so ids of one seed
    // never collide with another seed's or with gen_random_uuid()'s, and a seed's rows are found by prefix.
    this.prefix = `${digest.slice(0, 8)}-${digest.slice(8, 12)}-8${digest.slice(12, 15)}-8`;
  }

  /** 31 uniform bits for (stream, index): independent streams keep one choice from echoing another. */
  hash(stream: number, index: string): string {
    return `(hashint8extended((${index})::bigint, ${this.seedBase + BigInt(stream)}) & 2147483647)`;
  }

  id(kind: IdKind, index: string): string {
    return `('${this.prefix}${ID_KIND_CODE[kind].slice(0, 3)}-${ID_KIND_CODE[kind].slice(3)}' || lpad(to_hex((${index})::bigint), 11, '0'))::uuid`;
  }

  /** Every id this seed ever generated of a kind lies in this range (for clean-up). */
  idRange(kind: IdKind): [string, string] {
    const head = `${this.prefix}${ID_KIND_CODE[kind].slice(0, 3)}-${ID_KIND_CODE[kind].slice(3)}`;
    return [`${head}00000000000`, `${head}fffffffffff`];
  }

  idLiteral(kind: IdKind, index: number): string {
    return `${this.prefix}${ID_KIND_CODE[kind].slice(0, 3)}-${ID_KIND_CODE[kind].slice(3)}${index.toString(16).padStart(11, '0')}`;
  }

  pin(customerIndex: string): string {
    return `lpad((${this.hash(9, customerIndex)} % 10000)::text, 4, '0')`;
  }

  private spanSeconds(): number {
    return Math.round(this.shape.months * 30.4375) * OPEN_SECONDS_PER_DAY;
  }

  /** Unix time of the first business day's midnight in Seoul. */
  private anchorEpoch(): number {
    const days = Math.round(this.shape.months * 30.4375);
    return Date.parse(`${this.shape.until}T00:00:00+09:00`) / 1000 - days * 86_400;
  }

  /**
   * Business seconds since the anchor (a plain column, as it is read three times) to a calendar
   * instant, skipping the hours shops are closed. Korea has no daylight saving: a day is 86,400 s.
   */
  businessClock(seconds: string): string {
    const day = `floor(${seconds} / ${OPEN_SECONDS_PER_DAY})`;
    return `to_timestamp(${this.anchorEpoch()} + ${day} * 86400 + ${OPENING_SECONDS} + (${seconds} - ${day} * ${OPEN_SECONDS_PER_DAY}))`;
  }

  /**
   * The customers' plan: which shop, how many ledger rows (skewed: regulars and occasional
   * visitors) and where their rows start in the global row numbering.
   */
  customerPlan(): string {
    const { customers, shops, transactions } = this.shape;
    const span = this.spanSeconds();
    const surname = `substr('${SURNAMES}', 1 + (${this.hash(13, 'i')} % ${[...SURNAMES].length})::int, 1)`;
    const given = (stream: number) =>
      `substr('${GIVEN_SYLLABLES}', 1 + (${this.hash(stream, 'i')} % ${[...GIVEN_SYLLABLES].length})::int, 1)`;
    // (local index × a unit mod 10^8) + offset is a bijection on 8 digits, so phones are unique per shop.
    const phoneDigits = `((local_idx * 48271 + ${this.hash(15, 'shop_idx')}) % 100000000)`;
    return `
      create temp table gen_customers on commit drop as
      with weighted as (
        select i, i % ${shops} as shop_idx, i / ${shops} as local_idx,
               1 + (${this.hash(1, 'i')} % 1000) * (${this.hash(1, 'i')} % 1000) / 1000 as weight
        from generate_series(0::bigint, ${customers - 1}::bigint) as i
      ), running as (
        select *, (sum(weight) over (order by i))::bigint as weight_through, (sum(weight) over ())::bigint as weight_total
        from weighted
      ), planned as (
        select i, shop_idx, local_idx,
               ${this.id('customer', 'i')} as id,
               ${this.id('shop', 'shop_idx')} as shop_id,
               (${transactions}::bigint * weight_through / weight_total
                 - ${transactions}::bigint * (weight_through - weight) / weight_total) as n,
               ${transactions}::bigint * (weight_through - weight) / weight_total as tx_offset,
               (5 + ${this.hash(2, 'i')} % 8)::int as block_len,
               ${surname} || ${given(14)} || ${given(16)} as name,
               '010-' || lpad((${phoneDigits} / 10000)::text, 4, '0') || '-' || lpad((${phoneDigits} % 10000)::text, 4, '0') as phone,
               ${this.pin('i')} as pin,
               (${this.hash(10, 'i')} % 1000)::float8 / 1000 * ${span / 2} as start_s
        from running
      )
      select *, (${span} - start_s) / greatest(n, 1) as step_s from planned`;
  }

  /**
   * The ledger row at position k of customer c (a row of gen_customers), as lateral subqueries.
   * Values read more than once are computed in an `offset 0` subquery, which the planner keeps as a
   * node of its own instead of pasting (and re-evaluating) the expression at every use. Exposes
   * s.type, s.amount, s.balance_after, s.g (global row number) and s.at.
   */
  slot(k: string): string {
    const charge = `(array[${CHARGE_AMOUNTS.join(',')}])`;
    // Spent (in 100 KRW) after the block's j-th budget deduct: strictly increasing, ends at the charge.
    const spread = (j: string) => `(${j}) * 1000 + case when (${j}) = 0 then 0 else ${this.hash(7, `b.g0 * 16 + (${j})`)} % 1000 end`;
    const spent = (spreadJ: string) => `(b.units - b.m) * ${spreadJ} / d.spread_m`;
    return `
      cross join lateral (
        select k0.k, k0.k % c.block_len as pos, c.tx_offset + k0.k as g,
               c.tx_offset + (k0.k / c.block_len) * c.block_len as g0
        from (select (${k})::bigint as k) as k0
      ) p
      cross join lateral (
        select p.*, h.kind, h.charged, h.mistaken, h.charged / 100 as units,
               c.block_len - case when h.kind = 0 then 1 else 3 end as m,
               p.pos - case when h.kind = 0 then 1 else 3 end + 1 as j,
               100 * (10 + ${this.hash(6, 'p.g0')} % (least(h.charged / 100, 500) - 9)) as refunded,
               c.start_s + (p.k + (${this.hash(8, 'p.g')} % 1000)::float8 / 1000) * c.step_s as clock
        from (select case when ${this.hash(3, 'p.g0')} % 100 < 6 then 2 when ${this.hash(3, 'p.g0')} % 100 < 16 then 1 else 0 end as kind,
                     ${charge}[1 + ${this.hash(4, 'p.g0')} % ${CHARGE_AMOUNTS.length}] as charged,
                     ${charge}[1 + ${this.hash(5, 'p.g0')} % ${CHARGE_AMOUNTS.length}] as mistaken) as h
        offset 0
      ) b
      cross join lateral (
        select ${spread('b.m')} as spread_m,
               case when b.j >= 1 then ${spread('b.j')} end as spread_j,
               case when b.j >= 1 then ${spread('b.j - 1')} end as spread_before
        offset 0
      ) d
      cross join lateral (
        select b.g, b.pos, b.kind,
          case
            when b.j >= 1 then 'deduct'
            when b.pos = 0 then 'charge'
            when b.kind = 1 then case b.pos when 1 then 'deduct' else 'deduct_cancel' end
            else case b.pos when 1 then 'charge_cancel' else 'charge' end
          end as type,
          case
            when b.j >= 1 then 100 * (1 + ${spent('d.spread_j')} - ${spent('d.spread_before')})
            when b.kind = 0 then b.charged
            when b.kind = 1 then case b.pos when 0 then b.charged else b.refunded end
            else case b.pos when 2 then b.charged else b.mistaken end
          end::bigint as amount,
          case
            when b.j >= 1 then b.charged - 100 * (b.j + ${spent('d.spread_j')})
            when b.kind = 1 and b.pos = 1 then b.charged - b.refunded
            when b.kind = 2 and b.pos = 0 then b.mistaken
            when b.kind = 2 and b.pos = 1 then 0
            else b.charged
          end::bigint as balance_after,
          ${this.businessClock('b.clock')} as at
        offset 0
      ) s`;
  }

  /**
   * The whole ledger as a SELECT in the column order of LEDGER_COLUMNS, each value cast to the
   * type the live table declares (so a binary COPY of it loads into public.transactions as is).
   */
  ledgerRows(columnTypes: Record<LedgerColumn, string>): string {
    const { shops, kiosksPerShop } = this.shape;
    const roles = STAFF_ROLES.length;
    // Constant arrays: picking an actor is an array subscript, not an id built per row.
    const users = `'{${Array.from({ length: shops * roles }, (_, n) => this.idLiteral('user', Math.floor(n / roles) * 8 + (n % roles))).join(',')}}'::uuid[]`;
    const kioskIds = `'{${Array.from({ length: shops * kiosksPerShop }, (_, n) => this.idLiteral('kiosk', Math.floor(n / kiosksPerShop) * 8 + (n % kiosksPerShop))).join(',')}}'::uuid[]`;
    // Owners and managers cancel; anyone charges or deducts at the counter.
    const user = (roleCount: number) => `(${users})[1 + c.shop_idx * ${roles} + ${this.hash(12, 's.g')} % ${roleCount}]`;
    const kiosk = `(${kioskIds})[1 + c.shop_idx * ${kiosksPerShop} + ${this.hash(12, 's.g')} % ${kiosksPerShop}]`;
    const byKiosk = `(s.type = 'deduct' and ${this.hash(11, 's.g')} % 2 = 0)`;
    const menu = `(array[${MENU.map((m) => `'${m}'`).join(',')}])[1 + ${this.hash(19, 's.g')} % ${MENU.length}]`;
    const values: Record<LedgerColumn, string> = {
      id: this.id('transaction', 's.g'),
      shop_id: 'c.shop_id',
      customer_id: 'c.id',
      type: 's.type',
      amount: 's.amount',
      balance_after: 's.balance_after',
      original_transaction_id: `case when s.type in ('charge_cancel', 'deduct_cancel') then ${this.id('transaction', 's.g - 1')} end`,
      idempotency_key: `'seed${this.shape.seed}-' || lpad(s.g::text, 10, '0')`,
      actor_user_id: `case when ${byKiosk} then null when s.type like '%_cancel' then ${user(2)} else ${user(3)} end`,
      actor_kiosk_id: `case when ${byKiosk} then ${kiosk} end`,
      memo: `case when s.type like '%_cancel' then case when s.type = 'charge_cancel' then '잘못 입력한 충전' else '고객 요청 환불' end
                  when s.type = 'deduct' and ${this.hash(17, 's.g')} % 4 = 0 then ${menu}
                  when s.type = 'charge' and ${this.hash(18, 's.g')} % 3 = 0 then '카드 충전' end`,
      created_at: 's.at',
      // The customer's rows are numbered 1, 2, 3, ... in the order they happen.
      sequence: 'gk + 1',
    };
    return `
      select ${LEDGER_COLUMNS.map((column) => `(${values[column]})::${columnTypes[column]} as ${column}`).join(',\n             ')}
      from gen_customers c
      cross join lateral generate_series(0::bigint, c.n - 1) as gk
      ${this.slot('gk')}`;
  }

  /** Customers with the balance their ledger ends at (the closed form of the last row). */
  insertCustomers(): string {
    return `
      insert into public.customers (id, shop_id, name, phone, current_balance, ledger_sequence, created_at, updated_at)
      select c.id, c.shop_id, c.name, c.phone,
             case when c.n = 0 then 0 else s.balance_after end,
             c.n,
             ${this.businessClock('c.start_s')},
             case when c.n = 0 then ${this.businessClock('c.start_s')} else s.at end
      from gen_customers c
      ${this.slot('greatest(c.n - 1, 0)')}`;
  }
}
