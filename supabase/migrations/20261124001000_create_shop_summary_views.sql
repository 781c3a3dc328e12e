-- What the shops' frontend shows that the tables alone do not give. security_invoker, so each view
-- reads with the caller's rights and the tables' RLS: a member sees only their own shops' figures.

-- Per shop and per day (Asia/Seoul): money charged, deducted and reversed, how many movements, and
-- the shop's outstanding prepaid balance at that day's end (the running sum of its ledger).
create view public.shop_daily_summaries
with (security_invoker = true)
as
select
  d.shop_id,
  d.day,
  d.charged,
  d.deducted,
  d.reversed,
  d.transaction_count,
  sum(d.net) over (partition by d.shop_id order by d.day) as outstanding_balance
from (
  select
    t.shop_id,
    (t.created_at at time zone 'Asia/Seoul')::date as day,
    coalesce(sum(t.amount) filter (where t.type = 'charge'), 0)::bigint as charged,
    coalesce(sum(t.amount) filter (where t.type = 'deduct'), 0)::bigint as deducted,
    coalesce(sum(t.amount) filter (where t.type in ('charge_cancel', 'deduct_cancel')), 0)::bigint as reversed,
    count(*) as transaction_count,
    sum(case when t.type in ('charge', 'deduct_cancel') then t.amount else -t.amount end) as net
  from public.transactions t
  group by t.shop_id, (t.created_at at time zone 'Asia/Seoul')::date
) d;

-- Per shop: how many customers and the total of their balances (the shop's prepaid liability).
create view public.shop_outstanding_balances
with (security_invoker = true)
as
select
  s.id as shop_id,
  count(c.id) as customer_count,
  coalesce(sum(c.current_balance), 0)::bigint as outstanding_balance
from public.shops s
left join public.customers c on c.shop_id = s.id
group by s.id;

revoke all on public.shop_daily_summaries, public.shop_outstanding_balances from anon, authenticated, service_role;
grant select on public.shop_daily_summaries, public.shop_outstanding_balances to authenticated, service_role;
