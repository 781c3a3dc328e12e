-- A customer's statement for a period [p_from, p_to): the balance (paid, bonus) at the start, every
-- movement in ledger order, the balance at the end. Called by the shop's staff through PostgREST
-- (POST /rest/v1/rpc/customer_statement) with their own JWT: security invoker, so RLS decides what
-- they see, and another shop's customer is not found. p_from = p_to gives the balance at that moment.
--
-- A moment's balance is the balance after the last row written before it: record_movement writes
-- created_at from the clock under the customer's row lock, so one customer's rows have increasing
-- times in sequence order.

-- The statement raises its refusal in the error contract as the caller (a member, through RLS).
grant execute on function private.raise_error(text, text, jsonb) to authenticated;

create function public.customer_statement(
  p_customer_id uuid,
  p_from timestamptz default '-infinity',
  p_to timestamptz default 'infinity'
)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_opening jsonb;
  v_closing jsonb;
  v_movements jsonb;
  v_zero constant jsonb := jsonb_build_object('balance', 0, 'paid_balance', 0, 'bonus_balance', 0, 'sequence', 0);
begin
  if p_from is null or p_to is null or p_to < p_from then
    perform private.raise_error('validation_failed', 'the period needs from <= to',
      jsonb_build_object('field', 'p_to'));
  end if;
  if not exists (select 1 from public.customers c where c.id = p_customer_id) then
    perform private.raise_error('customer_not_found', 'no such customer', jsonb_build_object('customer_id', p_customer_id));
  end if;
  select jsonb_build_object('balance', t.balance_after, 'paid_balance', t.paid_balance_after,
           'bonus_balance', t.bonus_balance_after, 'sequence', t.sequence)
    into v_opening
  from public.transactions t
  where t.customer_id = p_customer_id and t.created_at < p_from
  order by t.created_at desc, t.sequence desc
  limit 1;
  select jsonb_build_object('balance', t.balance_after, 'paid_balance', t.paid_balance_after,
           'bonus_balance', t.bonus_balance_after, 'sequence', t.sequence)
    into v_closing
  from public.transactions t
  where t.customer_id = p_customer_id and t.created_at < p_to
  order by t.created_at desc, t.sequence desc
  limit 1;
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', t.id, 'sequence', t.sequence, 'type', t.type, 'amount', t.amount,
           'paid_amount', t.paid_amount, 'bonus_amount', t.bonus_amount,
           'balance_after', t.balance_after, 'paid_balance_after', t.paid_balance_after,
           'bonus_balance_after', t.bonus_balance_after, 'original_transaction_id', t.original_transaction_id,
           'promotion_id', t.promotion_id, 'refund_fee', t.refund_fee, 'memo', t.memo, 'created_at', t.created_at
         ) order by t.sequence), '[]'::jsonb)
    into v_movements
  from public.transactions t
  where t.customer_id = p_customer_id and t.created_at >= p_from and t.created_at < p_to;
  return jsonb_build_object(
    'customer_id', p_customer_id,
    'from', p_from,
    'to', p_to,
    'opening', coalesce(v_opening, v_zero),
    'movements', v_movements,
    'closing', coalesce(v_closing, v_zero)
  );
end;
$$;

revoke all on function public.customer_statement(uuid, timestamptz, timestamptz) from public, anon;
grant execute on function public.customer_statement(uuid, timestamptz, timestamptz) to authenticated, service_role;
