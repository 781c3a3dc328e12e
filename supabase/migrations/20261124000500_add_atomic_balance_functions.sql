-- Charge, deduct and cancel: each one call, one transaction. The customer row is locked FOR UPDATE
-- before its balance is read, so concurrent calls on one customer queue instead of overwriting each
-- other (the read-modify-write bug of the product's earlier version), and the ledger row and the
-- balance are written together or not at all.
--
-- Called only by the edge functions, with the service role, passing the staff user who acts
-- (docs/contract.md): the functions check membership and role themselves, so the rules hold
-- whatever the caller.

-- Charge and deduct differ only in direction; both public functions are this one.
create function private.move_balance(
  p_type text,
  p_actor_user_id uuid,
  p_customer_id uuid,
  p_amount bigint,
  p_idempotency_key text,
  p_memo text
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_shop_id uuid;
  v_customer public.customers;
  v_replay jsonb;
begin
  perform private.check_amount(p_amount);
  perform private.check_memo(p_memo);
  select c.shop_id into v_shop_id from public.customers c where c.id = p_customer_id;
  if not found then
    perform private.raise_error('customer_not_found', 'no such customer', jsonb_build_object('customer_id', p_customer_id));
  end if;
  perform private.authorize_member(p_actor_user_id, v_shop_id, array['owner', 'manager', 'staff']);

  perform private.lock_idempotency_key(v_shop_id, p_idempotency_key);
  v_replay := private.replay_of(v_shop_id, p_idempotency_key, p_type, p_customer_id, p_amount, null, p_memo, p_actor_user_id, null);
  if v_replay is not null then
    return v_replay;
  end if;

  select c.* into v_customer from public.customers c where c.id = p_customer_id for update;
  return private.record_movement(v_customer, p_type, p_amount, p_idempotency_key, p_actor_user_id, null, p_memo, null);
end;
$$;

create function public.charge_balance(
  p_actor_user_id uuid,
  p_customer_id uuid,
  p_amount bigint,
  p_idempotency_key text,
  p_memo text default null
)
returns jsonb
language sql
security definer
set search_path = ''
as $$
  select private.move_balance('charge', p_actor_user_id, p_customer_id, p_amount, p_idempotency_key, p_memo)
$$;

create function public.deduct_balance(
  p_actor_user_id uuid,
  p_customer_id uuid,
  p_amount bigint,
  p_idempotency_key text,
  p_memo text default null
)
returns jsonb
language sql
security definer
set search_path = ''
as $$
  select private.move_balance('deduct', p_actor_user_id, p_customer_id, p_amount, p_idempotency_key, p_memo)
$$;

-- The reversal of a charge or a deduct: a new ledger row linked to its original, never an edit.
-- Concurrent cancels of one transaction queue on the customer's row lock; the first writes the
-- reversal, the others then see it and answer already_cancelled (and the unique constraint on
-- original_transaction_id would refuse a second one regardless).
create function public.cancel_transaction(
  p_actor_user_id uuid,
  p_transaction_id uuid,
  p_idempotency_key text,
  p_reason text default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_original public.transactions;
  v_reversal_type text;
  v_customer public.customers;
  v_replay jsonb;
  v_existing_reversal uuid;
begin
  perform private.check_memo(p_reason);
  select t.* into v_original from public.transactions t where t.id = p_transaction_id;
  if not found then
    perform private.raise_error('transaction_not_found', 'no such transaction',
      jsonb_build_object('transaction_id', p_transaction_id));
  end if;
  perform private.authorize_member(p_actor_user_id, v_original.shop_id, array['owner', 'manager']);

  v_reversal_type := case v_original.type when 'charge' then 'charge_cancel' when 'deduct' then 'deduct_cancel' end;
  -- The replay comes before the other refusals: a retried successful cancel must answer its
  -- reversal, not already_cancelled.
  perform private.lock_idempotency_key(v_original.shop_id, p_idempotency_key);
  v_replay := private.replay_of(v_original.shop_id, p_idempotency_key, v_reversal_type, v_original.customer_id,
    v_original.amount, v_original.id, p_reason, p_actor_user_id, null);
  if v_replay is not null then
    return v_replay;
  end if;
  if v_reversal_type is null then
    perform private.raise_error('cannot_cancel_reversal', 'a reversal cannot itself be cancelled',
      jsonb_build_object('transaction_id', v_original.id, 'type', v_original.type));
  end if;

  select c.* into v_customer from public.customers c where c.id = v_original.customer_id for update;
  select t.id into v_existing_reversal from public.transactions t where t.original_transaction_id = v_original.id;
  if found then
    perform private.raise_error('already_cancelled', 'this transaction was already cancelled',
      jsonb_build_object('transaction_id', v_original.id, 'reversal_id', v_existing_reversal));
  end if;
  return private.record_movement(v_customer, v_reversal_type, v_original.amount, p_idempotency_key,
    p_actor_user_id, null, p_reason, v_original.id);
end;
$$;

revoke all on function private.move_balance(text, uuid, uuid, bigint, text, text)
  from public, anon, authenticated, service_role;

-- The edge functions call these with the service role; browsers (anon, authenticated) never can.
revoke all on function
  public.charge_balance(uuid, uuid, bigint, text, text),
  public.deduct_balance(uuid, uuid, bigint, text, text),
  public.cancel_transaction(uuid, uuid, text, text)
from public, anon, authenticated;
grant execute on function
  public.charge_balance(uuid, uuid, bigint, text, text),
  public.deduct_balance(uuid, uuid, bigint, text, text),
  public.cancel_transaction(uuid, uuid, text, text)
to service_role;
