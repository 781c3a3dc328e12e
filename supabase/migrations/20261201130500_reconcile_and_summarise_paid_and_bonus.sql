-- Reconciliation and the shops' liability with paid and bonus apart (issue 12). Paid money is the
-- shop's debt to its customers; bonus is not.
--
-- Signed effect of a row on each part: charge, bonus and deduct_cancel add; deduct, charge_cancel
-- and refund take away. The paid part of a row is amount - bonus_amount.

-- Now also the bonus part (the paid part is then right too: both add up to the total by the
-- customers' generated column) and the sequence: the customer's counter must equal their number of
-- rows, so a missing or extra row shows. One statement, one snapshot, as before.
drop function public.reconcile_balances();
create function public.reconcile_balances()
returns table (
  customer_id uuid,
  shop_id uuid,
  current_balance bigint,
  ledger_balance bigint,
  paid_balance bigint,
  ledger_paid_balance bigint,
  bonus_balance bigint,
  ledger_bonus_balance bigint,
  ledger_sequence bigint,
  ledger_rows bigint
)
language sql
stable
set search_path = ''
set default_transaction_isolation = 'repeatable read'
as $$
  select c.id, c.shop_id,
         c.current_balance, coalesce(l.balance, 0)::bigint,
         c.paid_balance, coalesce(l.balance - l.bonus, 0)::bigint,
         c.bonus_balance, coalesce(l.bonus, 0)::bigint,
         c.ledger_sequence, coalesce(l.rows, 0)::bigint
  from public.customers c
  left join (
    select t.customer_id,
           sum(case when t.type in ('charge', 'bonus', 'deduct_cancel') then t.amount else -t.amount end) as balance,
           sum(case when t.type in ('charge', 'bonus', 'deduct_cancel') then t.bonus_amount else -t.bonus_amount end) as bonus,
           count(*) as rows
    from public.transactions t
    group by t.customer_id
  ) l on l.customer_id = c.id
  where c.current_balance <> coalesce(l.balance, 0)
     or c.bonus_balance <> coalesce(l.bonus, 0)
     or c.ledger_sequence <> coalesce(l.rows, 0)
  order by c.shop_id, c.id
$$;

revoke all on function public.reconcile_balances() from public, anon, authenticated;
grant execute on function public.reconcile_balances() to service_role;

-- New columns at the end (create or replace view keeps the existing ones as they were): the day's
-- bonus granted, refunds (the paid money paid out, the fees kept, the bonus forfeited), and the
-- outstanding paid and bonus balances at the day's end.
create or replace view public.shop_daily_summaries
with (security_invoker = true)
as
select
  d.shop_id,
  d.day,
  d.charged,
  d.deducted,
  d.reversed,
  d.transaction_count,
  sum(d.net) over (partition by d.shop_id order by d.day) as outstanding_balance,
  d.bonus_granted,
  d.refunds_paid,
  d.refund_fees,
  d.bonus_forfeited,
  sum(d.net - d.net_bonus) over (partition by d.shop_id order by d.day) as outstanding_paid_balance,
  sum(d.net_bonus) over (partition by d.shop_id order by d.day) as outstanding_bonus_balance
from (
  select
    t.shop_id,
    (t.created_at at time zone 'Asia/Seoul')::date as day,
    coalesce(sum(t.amount) filter (where t.type = 'charge'), 0)::bigint as charged,
    coalesce(sum(t.amount) filter (where t.type = 'deduct'), 0)::bigint as deducted,
    coalesce(sum(t.amount) filter (where t.type in ('charge_cancel', 'deduct_cancel')), 0)::bigint as reversed,
    count(*) as transaction_count,
    sum(case when t.type in ('charge', 'bonus', 'deduct_cancel') then t.amount else -t.amount end) as net,
    coalesce(sum(t.amount) filter (where t.type = 'bonus'), 0)::bigint as bonus_granted,
    coalesce(sum(t.paid_amount - t.refund_fee) filter (where t.type = 'refund'), 0)::bigint as refunds_paid,
    coalesce(sum(t.refund_fee) filter (where t.type = 'refund'), 0)::bigint as refund_fees,
    coalesce(sum(t.bonus_amount) filter (where t.type = 'refund'), 0)::bigint as bonus_forfeited,
    sum(case when t.type in ('charge', 'bonus', 'deduct_cancel') then t.bonus_amount else -t.bonus_amount end) as net_bonus
  from public.transactions t
  group by t.shop_id, (t.created_at at time zone 'Asia/Seoul')::date
) d;

create or replace view public.shop_outstanding_balances
with (security_invoker = true)
as
select
  s.id as shop_id,
  count(c.id) as customer_count,
  coalesce(sum(c.current_balance), 0)::bigint as outstanding_balance,
  coalesce(sum(c.paid_balance), 0)::bigint as outstanding_paid_balance,
  coalesce(sum(c.bonus_balance), 0)::bigint as outstanding_bonus_balance
from public.shops s
left join public.customers c on c.shop_id = s.id
group by s.id;
