-- Prepaid money in two parts (issue 12). What a customer paid is the shop's debt to them and may be
-- refunded; bonus given free by a promotion is not. Every balance and every ledger row keeps the two
-- apart, and every ledger row gets a per-customer sequence number, so that a history, a statement and
-- a live screen have one order and a gap would show.
--
-- Only the bonus part is stored; the paid part is a generated column (the total less the bonus). So
-- the total columns keep their meaning for every reader, a writer that knows nothing of bonus (the
-- bulk generator, old scripts) writes all-paid rows that are still right, and the two parts can
-- never fail to add up to the total.

alter table public.shops
  -- Spending order: paid money first (the dispute standard re-prices what was used at the paid
  -- price), unless the shop chooses to spend the bonus first.
  add column spend_bonus_first boolean not null default false,
  -- The fee kept on a refund of the remaining balance: the dispute standard allows at most 10 %.
  add column refund_fee_percent integer not null default 0,
  -- Whether a refund may be made when the customer has no statutory right to it (yet).
  add column allow_refunds_outside_right boolean not null default true,
  add constraint shops_refund_fee_percent_range check (refund_fee_percent between 0 and 10);

alter table public.customers
  add column bonus_balance bigint not null default 0,
  -- The last ledger sequence number given to this customer; the next row gets this plus one.
  add column ledger_sequence bigint not null default 0,
  add constraint customers_bonus_balance_range check (bonus_balance >= 0 and bonus_balance <= current_balance),
  add constraint customers_ledger_sequence_not_negative check (ledger_sequence >= 0);
alter table public.customers
  add column paid_balance bigint generated always as (current_balance - bonus_balance) stored;

alter table public.transactions
  add column bonus_amount bigint not null default 0,
  add column bonus_balance_after bigint not null default 0,
  add column sequence bigint,
  -- The promotion a bonus row was granted under.
  add column promotion_id uuid,
  -- A refund's payout method, the fee the shop kept and the statutory rule it was made under (null
  -- when it was made outside the right, as the shop allowed).
  add column refund_method text,
  add column refund_fee bigint,
  add column refund_rule text;
alter table public.transactions
  add column paid_amount bigint generated always as (amount - bonus_amount) stored,
  add column paid_balance_after bigint generated always as (balance_after - bonus_balance_after) stored;

-- Number the ledger that exists: per customer in time order; rows of one transaction share their
-- created_at, so the original comes before its reversal and a charge before a deduct.
alter table public.transactions disable trigger transactions_are_immutable;
update public.transactions t
set sequence = n.sequence
from (
  select x.id, row_number() over (
    partition by x.customer_id
    order by x.created_at, case x.type when 'charge' then 0 when 'deduct' then 1 else 2 end, x.id
  ) as sequence
  from public.transactions x
) n
where n.id = t.id;
alter table public.transactions enable trigger transactions_are_immutable;

update public.customers c
set ledger_sequence = l.last_sequence
from (select t.customer_id, max(t.sequence) as last_sequence from public.transactions t group by t.customer_id) l
where l.customer_id = c.id;

alter table public.transactions
  alter column sequence set not null,
  -- A promotion's bonus is written with its charge, under the charge's idempotency key.
  alter column idempotency_key drop not null,
  drop constraint transactions_type_known,
  drop constraint transactions_amount_range,
  drop constraint transactions_reversal_has_original,
  -- A deduct may now be cancelled in several parts (the rule "never more than its amount in total"
  -- is checked under the customer's row lock); charges keep one whole reversal, below.
  drop constraint transactions_one_reversal_per_original,
  add constraint transactions_type_known
    check (type in ('charge', 'deduct', 'charge_cancel', 'deduct_cancel', 'bonus', 'refund')),
  -- 10,000,000 KRW is the ceiling of a request. A charge's cancel also takes back its bonus, and a
  -- refund takes the whole balance, so those two may be larger.
  add constraint transactions_amount_range
    check (amount > 0 and (amount <= 10000000 or type in ('charge_cancel', 'refund'))),
  -- A bonus row points at its charge; a reversal at its original.
  add constraint transactions_reversal_has_original
    check ((type in ('charge_cancel', 'deduct_cancel', 'bonus')) = (original_transaction_id is not null)),
  add constraint transactions_idempotency_key_only_for_requests
    check ((idempotency_key is null) = (type = 'bonus')),
  add constraint transactions_bonus_amount_range check (bonus_amount >= 0 and bonus_amount <= amount),
  add constraint transactions_bonus_balance_after_range
    check (bonus_balance_after >= 0 and bonus_balance_after <= balance_after),
  -- A charge moves paid money only; a bonus row bonus only.
  add constraint transactions_charge_is_paid check (type <> 'charge' or bonus_amount = 0),
  add constraint transactions_bonus_is_bonus check (type <> 'bonus' or bonus_amount = amount),
  add constraint transactions_sequence_positive check (sequence > 0),
  -- Also the index of a customer's history, newest first in their own order (order by sequence desc
  -- limit 20 reads the 20 rows it returns). transactions_customer_id_created_at_idx stays for a
  -- customer's rows in a period of time (statements, the balance at a moment).
  add constraint transactions_sequence_unique_per_customer unique (customer_id, sequence),
  add constraint transactions_promotion_only_on_bonus check ((type = 'bonus') = (promotion_id is not null)),
  add constraint transactions_refund_fields check (
    (type = 'refund') = (refund_method is not null)
    and (type = 'refund') = (refund_fee is not null)
    and (refund_rule is null or type = 'refund')),
  add constraint transactions_refund_method_known check (refund_method in ('cash', 'card_cancel', 'transfer')),
  add constraint transactions_refund_fee_range check (refund_fee >= 0 and refund_fee <= amount - bonus_amount),
  add constraint transactions_refund_rule_known
    check (refund_rule in ('7_days_unused', '60_percent_used', '80_percent_used'));

-- A charge has at most one bonus and at most one (whole) cancel.
create unique index transactions_one_bonus_and_one_cancel_per_charge
  on public.transactions (original_transaction_id, type) where type in ('charge_cancel', 'bonus');

-- The reversals of one original: the parts of a deduct already cancelled, a charge's bonus and
-- cancel. Also covers the reversal's foreign key (original_transaction_id, customer_id), which the
-- dropped unique constraint used to cover.
create index transactions_original_transaction_id_idx on public.transactions (original_transaction_id, customer_id);

comment on column public.customers.paid_balance is 'What the customer paid and has not spent: the shop''s debt, refundable.';
comment on column public.customers.bonus_balance is 'Bonus given by promotions and not spent: not refundable.';
comment on column public.transactions.sequence is 'Per customer 1, 2, 3, ... in the order the rows were written under the customer''s row lock.';
