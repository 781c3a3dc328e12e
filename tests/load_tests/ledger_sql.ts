import { createHash } from 'node:crypto';
import { REFUND_METHODS } from '../../functions/_shared/money.ts';

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
 * a deduct returned whole or in part), so none can drive a balance below zero. Some charges earn
 * their shop's 10 % promotion (a bonus row right after the charge, then deducts spend paid money
 * first, so the bonus left is least(bonus, balance) in closed form too), and some blocks end in a
 * refund of the remaining 30 % after 70 % was used (the 60 % right).
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
  'bonus_amount', 'bonus_balance_after', 'promotion_id', 'refund_method', 'refund_fee', 'refund_rule',
] as const;
export type LedgerColumn = (typeof LEDGER_COLUMNS)[number];

export const STAFF_ROLES = ['owner', 'manager', 'staff'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

/** Business hours in Asia/Seoul, 08:00-22:00: the ledger's clock only runs while shops are open. */
const OPEN_SECONDS_PER_DAY = 14 * 3600;
const OPENING_SECONDS = 8 * 3600;

type IdKind = 'shop' | 'user' | 'kiosk' | 'customer' | 'transaction' | 'promotion';
const ID_KIND_CODE: Record<IdKind, string> = {
  shop: '5a00',
  user: '5b00',
  kiosk: '5c00',
  customer: '5d00',
  transaction: '5e00',
  promotion: '5f00',
};

/** Each shop's promotion: 10 % on a charge of at least 50,000 (the blocks of kind 3). */
export const PROMOTION = { minCharge: 50_000, bonusPercent: 10 } as const;

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
   * s.type, s.amount, s.balance_after, s.bonus_amount, s.bonus_balance_after, s.g (global row
   * number) and s.at.
   *
   * Kinds of block (by the block's first row): 0 a charge then deducts; 1 a charge, a deduct and its
   * cancel (whole or half), then deducts; 2 a mistaken charge and its cancel, the real charge, then
   * deducts; 3 a charge of at least PROMOTION.minCharge and its bonus, then deducts spending both;
   * 4 a charge, deducts using 70 % of it, then a refund of the rest. `lead` rows open the block,
   * m budget deducts follow, and the budget (units of 100) is spread over them.
   */
  slot(k: string): string {
    const charge = `(array[${CHARGE_AMOUNTS.join(',')}])`;
    // Spent (in 100 KRW) after the block's j-th budget deduct: strictly increasing, ends at the budget.
    const spread = (j: string) => `(${j}) * 1000 + case when (${j}) = 0 then 0 else ${this.hash(7, `b.g0 * 16 + (${j})`)} % 1000 end`;
    const spent = (spreadJ: string) => `(b.units - b.m) * ${spreadJ} / d.spread_m`;
    return `
      cross join lateral (
        select k0.k, k0.k % c.block_len as pos, c.tx_offset + k0.k as g,
               c.tx_offset + (k0.k / c.block_len) * c.block_len as g0
        from (select (${k})::bigint as k) as k0
      ) p
      cross join lateral (
        select h.*, case h.kind when 1 then h.charged - h.refunded + h.returned when 3 then h.charged + h.bonus else h.charged end as start,
               case h.kind when 4 then h.charged * 7 / 10 when 1 then h.charged - h.refunded + h.returned when 3 then h.charged + h.bonus
                    else h.charged end / 100 as units,
               c.block_len - h.lead - case when h.kind = 4 then 1 else 0 end as m,
               p.pos - h.lead + 1 as j
        from (
          select p.*, r.kind, r.charged, r.mistaken, r.refunded,
                 case when r.kind = 1 and ${this.hash(20, 'p.g0')} % 2 = 0 then 100 * (r.refunded / 200) else r.refunded end as returned,
                 case when r.kind = 3 then r.charged * ${PROMOTION.bonusPercent} / 100 else 0 end as bonus,
                 case r.kind when 1 then 3 when 2 then 3 when 3 then 2 else 1 end as lead,
                 c.start_s + (p.k + (${this.hash(8, 'p.g')} % 1000)::float8 / 1000) * c.step_s as clock
          from (
            select q.charged, q.mistaken,
                   100 * (10 + ${this.hash(6, 'p.g0')} % (least(q.charged / 100, 500) - 9)) as refunded,
                   case when q.roll < 6 then 2 when q.roll < 16 then 1 when q.roll < 20 then 4
                        when q.roll < 34 and q.charged >= ${PROMOTION.minCharge} then 3 else 0 end as kind
            from (select ${charge}[1 + ${this.hash(4, 'p.g0')} % ${CHARGE_AMOUNTS.length}] as charged,
                         ${charge}[1 + ${this.hash(5, 'p.g0')} % ${CHARGE_AMOUNTS.length}] as mistaken,
                         ${this.hash(3, 'p.g0')} % 100 as roll) as q
          ) as r
        ) as h
        offset 0
      ) b
      cross join lateral (
        select ${spread('b.m')} as spread_m,
               case when b.j between 1 and b.m then ${spread('b.j')} end as spread_j,
               case when b.j between 1 and b.m then ${spread('b.j - 1')} end as spread_before
        offset 0
      ) d
      cross join lateral (
        select b.g, b.pos, b.kind,
          case
            when b.j between 1 and b.m then 'deduct'
            when b.kind = 4 and b.j > b.m then 'refund'
            when b.pos = 0 then 'charge'
            when b.kind = 1 then case b.pos when 1 then 'deduct' else 'deduct_cancel' end
            when b.kind = 3 then 'bonus'
            else case b.pos when 1 then 'charge_cancel' else 'charge' end
          end as type,
          case
            when b.j between 1 and b.m then 100 * (1 + ${spent('d.spread_j')} - ${spent('d.spread_before')})
            when b.kind = 4 and b.j > b.m then b.charged - 100 * b.units
            when b.kind in (0, 4) then b.charged
            when b.kind = 1 then case b.pos when 0 then b.charged when 1 then b.refunded else b.returned end
            when b.kind = 3 then case b.pos when 0 then b.charged else b.bonus end
            else case b.pos when 2 then b.charged else b.mistaken end
          end::bigint as amount,
          case
            when b.j between 1 and b.m then b.start - 100 * (b.j + ${spent('d.spread_j')})
            when b.kind = 4 and b.j > b.m then 0
            when b.kind = 1 and b.pos = 1 then b.charged - b.refunded
            when b.kind = 1 and b.pos = 2 then b.start
            when b.kind = 2 and b.pos = 0 then b.mistaken
            when b.kind = 2 and b.pos = 1 then 0
            when b.kind = 3 and b.pos = 1 then b.start
            else b.charged
          end::bigint as balance_after,
          b.bonus, b.j, b.m,
          ${this.businessClock('b.clock')} as at
        offset 0
      ) s0
      cross join lateral (
        select s0.*,
          -- Paid money is spent first: the bonus left is the bonus, or the whole balance once below it.
          case when s0.kind = 3 and s0.pos > 0 then least(s0.bonus, s0.balance_after) else 0 end::bigint as bonus_balance_after,
          case
            when s0.kind <> 3 or s0.pos = 0 then 0
            when s0.type = 'bonus' then s0.bonus
            else least(s0.bonus, s0.balance_after + s0.amount) - least(s0.bonus, s0.balance_after)
          end::bigint as bonus_amount
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
    // A bonus row is written by whoever made its charge, the row before it.
    const actorG = `(s.g - case when s.type = 'bonus' then 1 else 0 end)`;
    const user = (roleCount: number) => `(${users})[1 + c.shop_idx * ${roles} + ${this.hash(12, actorG)} % ${roleCount}]`;
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
      original_transaction_id: `case when s.type in ('charge_cancel', 'deduct_cancel', 'bonus') then ${this.id('transaction', 's.g - 1')} end`,
      idempotency_key: `case when s.type <> 'bonus' then 'seed${this.shape.seed}-' || lpad(s.g::text, 10, '0') end`,
      actor_user_id: `case when ${byKiosk} then null when s.type like '%_cancel' or s.type = 'refund' then ${user(2)} else ${user(3)} end`,
      actor_kiosk_id: `case when ${byKiosk} then ${kiosk} end`,
      memo: `case when s.type = 'refund' then '남은 잔액 환불'
                  when s.type like '%_cancel' then case when s.type = 'charge_cancel' then '잘못 입력한 충전' else '고객 요청 환불' end
                  when s.type = 'deduct' and ${this.hash(17, 's.g')} % 4 = 0 then ${menu}
                  when s.type = 'charge' and ${this.hash(18, 's.g')} % 3 = 0 then '카드 충전' end`,
      created_at: 's.at',
      // The customer's rows are numbered 1, 2, 3, ... in the order they happen.
      sequence: 'gk + 1',
      bonus_amount: 's.bonus_amount',
      bonus_balance_after: 's.bonus_balance_after',
      promotion_id: `case when s.type = 'bonus' then ${this.id('promotion', 'c.shop_idx')} end`,
      refund_method: `case when s.type = 'refund' then (array['${REFUND_METHODS.join("','")}'])[1 + ${this.hash(21, 's.g')} % ${REFUND_METHODS.length}] end`,
      // Shops keep no fee by default, and 70 % used gives the 60 % right.
      refund_fee: `case when s.type = 'refund' then 0 end`,
      refund_rule: `case when s.type = 'refund' then '60_percent_used' end`,
    };
    return `
      select ${LEDGER_COLUMNS.map((column) => `(${values[column]})::${columnTypes[column]} as ${column}`).join(',\n             ')}
      from gen_customers c
      cross join lateral generate_series(0::bigint, c.n - 1) as gk
      ${this.slot('gk')}`;
  }

  /** Each shop's charge promotion, from before the ledger's first day, which the bonus rows name. */
  insertPromotions(): string {
    return `
      insert into public.promotions (id, shop_id, min_charge, bonus_percent, starts_at, created_at)
      select ${this.id('promotion', 'i')}, ${this.id('shop', 'i')}, ${PROMOTION.minCharge}, ${PROMOTION.bonusPercent},
             to_timestamp(${this.anchorEpoch()}), to_timestamp(${this.anchorEpoch()})
      from generate_series(0, ${this.shape.shops - 1}) as i`;
  }

  /** Customers with the balance their ledger ends at (the closed form of the last row). */
  insertCustomers(): string {
    return `
      insert into public.customers (id, shop_id, name, phone, current_balance, bonus_balance, ledger_sequence, created_at, updated_at)
      select c.id, c.shop_id, c.name, c.phone,
             case when c.n = 0 then 0 else s.balance_after end,
             case when c.n = 0 then 0 else s.bonus_balance_after end,
             c.n,
             ${this.businessClock('c.start_s')},
             case when c.n = 0 then ${this.businessClock('c.start_s')} else s.at end
      from gen_customers c
      ${this.slot('greatest(c.n - 1, 0)')}`;
  }
}
