-- The reconciliation the tests, k6 and the dashboard run: every customer whose current_balance is
-- not the signed sum of their ledger (charge +, deduct -, charge_cancel -, deduct_cancel +).
-- An empty answer is "balance mismatches: 0".
--
-- Balances and ledger must be read from one snapshot, or a movement committing between the two
-- reads would show as a false mismatch. PostgREST runs each request at READ COMMITTED, where each
-- statement sees one snapshot; so the comparison is a single SQL statement, which holds for every
-- caller (PostgREST, the tests' pg pool, psql). Through PostgREST the whole call also runs at
-- REPEATABLE READ: PostgREST (12.0.2, checked here) starts the transaction with a function's own
-- default_transaction_isolation. A plain SQL caller's transaction is already open, and the single
-- statement is what protects it.
-- security invoker: only service_role may execute it, and service_role reads past RLS anyway.
create function public.reconcile_balances()
returns table (customer_id uuid, shop_id uuid, current_balance bigint, ledger_balance bigint)
language sql
stable
set search_path = ''
set default_transaction_isolation = 'repeatable read'
as $$
  select c.id, c.shop_id, c.current_balance, coalesce(l.balance, 0)::bigint
  from public.customers c
  left join (
    select t.customer_id,
           sum(case when t.type in ('charge', 'deduct_cancel') then t.amount else -t.amount end) as balance
    from public.transactions t
    group by t.customer_id
  ) l on l.customer_id = c.id
  where c.current_balance <> coalesce(l.balance, 0)
  order by c.shop_id, c.id
$$;

revoke all on function public.reconcile_balances() from public, anon, authenticated;
grant execute on function public.reconcile_balances() to service_role;
