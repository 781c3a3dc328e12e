-- The new refusals of self-run shops get their statuses in the one error table, and a closed
-- customer's balance never moves again: private.record_movement, the one place a balance changes,
-- calls the refusal below (from redefine_money_functions_for_paid_and_bonus on; streamline_money_path
-- inlines it), so charge, deduct, cancel, refund and kiosk_pay all inherit it.

-- Redefined from create_shared_function_helpers with the codes of shops, members and closing.
create or replace function private.raise_error(p_code text, p_message text, p_details jsonb default null)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_status integer := case p_code
    when 'validation_failed' then 400
    when 'idempotency_key_required' then 400
    when 'invalid_amount' then 400
    when 'invalid_pin_format' then 400
    when 'invalid_phone' then 400
    when 'invalid_name' then 400
    when 'not_authenticated' then 401
    when 'invalid_kiosk_key' then 401
    when 'pin_invalid' then 401
    when 'kiosk_deactivated' then 403
    when 'not_shop_member' then 403
    when 'insufficient_role' then 403
    when 'customer_not_found' then 404
    when 'transaction_not_found' then 404
    when 'kiosk_not_found' then 404
    when 'shop_not_found' then 404
    when 'member_not_found' then 404
    when 'user_not_found' then 404
    when 'insufficient_balance' then 409
    when 'balance_ceiling_exceeded' then 409
    when 'already_cancelled' then 409
    when 'cannot_cancel_reversal' then 409
    when 'idempotency_key_reused' then 409
    when 'phone_taken' then 409
    when 'pin_not_set' then 409
    when 'already_member' then 409
    when 'last_owner' then 409
    when 'balance_not_zero' then 409
    when 'customer_closed' then 409
    when 'customer_not_closed' then 409
    when 'pin_locked' then 423
    else 500
  end;
begin
  raise sqlstate 'PGRST' using
    message = jsonb_build_object('code', p_code, 'message', p_message, 'details', p_details::text, 'hint', null)::text,
    detail = jsonb_build_object('status', v_status, 'headers', '{}'::jsonb)::text;
end;
$$;

-- A closed customer keeps their history and can still be read, but takes no money, pays nothing,
-- gets no new PIN and no new name. Callers pass a row they have locked, so a close that commits
-- first is seen.
create function private.refuse_closed_customer(p_customer public.customers)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_customer.closed_at is not null then
    perform private.raise_error('customer_closed', 'this customer was closed',
      jsonb_build_object('customer_id', p_customer.id, 'closed_at', p_customer.closed_at));
  end if;
end;
$$;

revoke all on function private.refuse_closed_customer(public.customers)
  from public, anon, authenticated, service_role;
