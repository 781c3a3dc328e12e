-- The money functions with paid and bonus parts (issue 12): record_movement stays the one place a
-- balance changes, now numbering each row and splitting it into its parts; a charge takes the best
-- active promotion's bonus in the same transaction; a deduct spends in the shop's order; a deduct may
-- be cancelled in parts and a charge's cancel takes its bonus with it.

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
    when 'promotion_not_found' then 404
    when 'insufficient_balance' then 409
    when 'balance_ceiling_exceeded' then 409
    when 'already_cancelled' then 409
    when 'cannot_cancel_reversal' then 409
    when 'not_cancellable' then 409
    when 'partial_cancel_not_allowed' then 409
    when 'cancel_exceeds_remaining' then 409
    when 'nothing_to_refund' then 409
    when 'refund_not_allowed' then 409
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

-- The money result, now with both parts. A charge's answer includes its bonus (the bonus row is
-- found by its link, so a replay answers the same bonus and never grants another), and `balance` is
-- the balance right after the whole movement, bonus included; a refund's answer carries the payout.
create or replace function private.money_result(p_transaction public.transactions, p_replayed boolean)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_last public.transactions := p_transaction;
  v_bonus public.transactions;
  v_result jsonb;
begin
  if p_transaction.type = 'charge' then
    select t.* into v_bonus
    from public.transactions t
    where t.original_transaction_id = p_transaction.id and t.customer_id = p_transaction.customer_id
      and t.type = 'bonus';
    if found then
      v_last := v_bonus;
    end if;
  end if;
  v_result := jsonb_build_object(
    'transaction', jsonb_build_object(
      'id', p_transaction.id,
      'type', p_transaction.type,
      'amount', p_transaction.amount,
      'paid_amount', p_transaction.paid_amount,
      'bonus_amount', p_transaction.bonus_amount,
      'balance_after', p_transaction.balance_after,
      'paid_balance_after', p_transaction.paid_balance_after,
      'bonus_balance_after', p_transaction.bonus_balance_after,
      'sequence', p_transaction.sequence,
      'created_at', p_transaction.created_at,
      'customer_id', p_transaction.customer_id,
      'original_transaction_id', p_transaction.original_transaction_id
    ),
    'balance', v_last.balance_after,
    'paid_balance', v_last.paid_balance_after,
    'bonus_balance', v_last.bonus_balance_after,
    'replayed', p_replayed
  );
  if p_transaction.type = 'charge' then
    v_result := v_result || jsonb_build_object(
      'bonus', coalesce(v_bonus.amount, 0),
      'promotion_id', v_bonus.promotion_id,
      'bonus_transaction_id', v_bonus.id);
  elsif p_transaction.type = 'refund' then
    v_result := v_result || jsonb_build_object('refund', jsonb_build_object(
      'method', p_transaction.refund_method,
      'paid_amount', p_transaction.paid_amount,
      'bonus_forfeited', p_transaction.bonus_amount,
      'fee', p_transaction.refund_fee,
      'payout', p_transaction.paid_amount - p_transaction.refund_fee,
      'rule', p_transaction.refund_rule));
  end if;
  return v_result;
end;
$$;

-- As before; a null p_amount matches any earlier amount: a cancel without an amount (the whole
-- remainder) and a refund (the whole balance) cannot recompute on a retry what they moved the first
-- time, since the first time changed it.
create or replace function private.replay_of(
  p_shop_id uuid,
  p_idempotency_key text,
  p_type text,
  p_customer_id uuid,
  p_amount bigint,
  p_original_transaction_id uuid,
  p_memo text,
  p_actor_user_id uuid,
  p_actor_kiosk_id uuid
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_earlier public.transactions;
begin
  select t.* into v_earlier
  from public.transactions t
  where t.shop_id = p_shop_id and t.idempotency_key = p_idempotency_key;
  if not found then
    return null;
  end if;
  if v_earlier.type is not distinct from p_type
    and v_earlier.customer_id = p_customer_id
    and (p_amount is null or v_earlier.amount = p_amount)
    and v_earlier.original_transaction_id is not distinct from p_original_transaction_id
    and v_earlier.memo is not distinct from p_memo
    and v_earlier.actor_user_id is not distinct from p_actor_user_id
    and v_earlier.actor_kiosk_id is not distinct from p_actor_kiosk_id
  then
    return private.money_result(v_earlier, true);
  end if;
  perform private.raise_error('idempotency_key_reused',
    'this idempotency key was already used in this shop for another request',
    jsonb_build_object('transaction_id', v_earlier.id));
  return null;
end;
$$;

drop function private.record_movement(public.customers, text, bigint, text, uuid, uuid, text, uuid);

-- The one place a balance changes. Locks the customer's row (callers have usually locked it
-- already) and refuses a closed customer (refuse_closed_customers_in_movements); splits the movement
-- into its paid and bonus parts, checks that neither part goes below zero and the total stays under
-- the shop's ceiling, gives the row the customer's next sequence number, writes it with the balances
-- after it, then the balances, and sends it to the shop's live screens (create_movement_broadcast).
--
-- p_bonus_amount is the bonus part of p_amount; null lets the type decide: a charge is all paid, a
-- deduct spends in the shop's order (paid first unless spend_bonus_first). created_at is the clock
-- at the write, under the lock, so one customer's rows also have increasing times.
create function private.record_movement(
  p_customer_id uuid,
  p_type text,
  p_amount bigint,
  p_bonus_amount bigint,
  p_idempotency_key text,
  p_actor_user_id uuid,
  p_actor_kiosk_id uuid,
  p_memo text,
  p_original_transaction_id uuid,
  p_promotion_id uuid default null,
  p_refund_method text default null,
  p_refund_fee bigint default null,
  p_refund_rule text default null
)
returns public.transactions
language plpgsql
set search_path = ''
as $$
declare
  v_customer public.customers;
  v_shop public.shops;
  v_sign integer := case when p_type in ('charge', 'bonus', 'deduct_cancel') then 1 else -1 end;
  v_bonus bigint := p_bonus_amount;
  v_paid_after bigint;
  v_bonus_after bigint;
  v_transaction public.transactions;
begin
  select c.* into v_customer from public.customers c where c.id = p_customer_id for update;
  perform private.refuse_closed_customer(v_customer);
  select s.* into v_shop from public.shops s where s.id = v_customer.shop_id;
  if v_bonus is null then
    v_bonus := case
      when p_type = 'deduct' and v_shop.spend_bonus_first then least(p_amount, v_customer.bonus_balance)
      when p_type = 'deduct' then greatest(p_amount - v_customer.paid_balance, 0)
      else 0
    end;
  end if;
  v_paid_after := v_customer.paid_balance + v_sign * (p_amount - v_bonus);
  v_bonus_after := v_customer.bonus_balance + v_sign * v_bonus;

  if v_paid_after < 0 or v_bonus_after < 0 then
    perform private.raise_error('insufficient_balance', 'the balance is too low for this',
      jsonb_build_object('balance', v_customer.current_balance, 'paid_balance', v_customer.paid_balance,
        'bonus_balance', v_customer.bonus_balance, 'amount', p_amount));
  end if;
  if v_sign > 0 and v_paid_after + v_bonus_after > v_shop.max_balance then
    perform private.raise_error('balance_ceiling_exceeded', 'the balance would exceed the shop''s ceiling',
      jsonb_build_object('balance', v_customer.current_balance, 'amount', p_amount, 'max_balance', v_shop.max_balance));
  end if;

  insert into public.transactions (
    shop_id, customer_id, type, amount, bonus_amount, balance_after, bonus_balance_after, sequence,
    original_transaction_id, idempotency_key, actor_user_id, actor_kiosk_id, memo, promotion_id,
    refund_method, refund_fee, refund_rule, created_at
  ) values (
    v_customer.shop_id, v_customer.id, p_type, p_amount, v_bonus, v_paid_after + v_bonus_after, v_bonus_after,
    v_customer.ledger_sequence + 1, p_original_transaction_id, p_idempotency_key, p_actor_user_id,
    p_actor_kiosk_id, p_memo, p_promotion_id, p_refund_method, p_refund_fee, p_refund_rule, clock_timestamp()
  )
  returning * into v_transaction;

  update public.customers c
  set current_balance = v_paid_after + v_bonus_after,
      bonus_balance = v_bonus_after,
      ledger_sequence = v_transaction.sequence,
      updated_at = now()
  where c.id = v_customer.id
  returning c.* into v_customer;

  perform private.broadcast_movement(v_transaction, v_customer);
  return v_transaction;
end;
$$;

-- Charge and deduct. A charge then takes the best active promotion's bonus as a second row, linked
-- to the charge, in the same transaction: a replay finds the charge by its key and answers its bonus.
create or replace function private.move_balance(
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
  v_replay jsonb;
  v_movement public.transactions;
  v_promotion record;
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

  perform 1 from public.customers c where c.id = p_customer_id for update;
  v_movement := private.record_movement(p_customer_id, p_type, p_amount, null, p_idempotency_key, p_actor_user_id, null, p_memo, null);
  if p_type = 'charge' then
    select * into v_promotion from private.best_promotion(v_shop_id, p_amount);
    if v_promotion.bonus > 0 then
      perform private.record_movement(p_customer_id, 'bonus', v_promotion.bonus, v_promotion.bonus, null,
        p_actor_user_id, null, null, v_movement.id, v_promotion.promotion_id);
    end if;
  end if;
  return private.money_result(v_movement, false);
end;
$$;

-- The reversal of a charge or a deduct: a new ledger row linked to its original, never an edit.
-- A charge is cancelled whole, its bonus with it (insufficient_balance if that money was spent). A
-- deduct may be cancelled in parts (p_amount; without it, whatever remains): under the customer's
-- row lock the parts already cancelled are summed, so concurrent partial cancels never return more
-- than the deduct took. Each part goes back pro rata to the paid and bonus parts the deduct took
-- (rounded in favour of the paid part), and the last part returns exactly what remains of each.
drop function public.cancel_transaction(uuid, uuid, text, text);
create function public.cancel_transaction(
  p_actor_user_id uuid,
  p_transaction_id uuid,
  p_idempotency_key text,
  p_reason text default null,
  p_amount bigint default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_original public.transactions;
  v_reversal_type text;
  v_replay jsonb;
  v_existing_reversal uuid;
  v_bonus public.transactions;
  v_cancelled bigint;
  v_cancelled_bonus bigint;
  v_remaining bigint;
  v_amount bigint;
  v_bonus_part bigint;
  v_reversal public.transactions;
begin
  perform private.check_memo(p_reason);
  if p_amount is not null then
    perform private.check_amount(p_amount);
  end if;
  select t.* into v_original from public.transactions t where t.id = p_transaction_id;
  if not found then
    perform private.raise_error('transaction_not_found', 'no such transaction',
      jsonb_build_object('transaction_id', p_transaction_id));
  end if;
  perform private.authorize_member(p_actor_user_id, v_original.shop_id, array['owner', 'manager']);

  v_reversal_type := case v_original.type when 'charge' then 'charge_cancel' when 'deduct' then 'deduct_cancel' end;
  if v_original.type = 'charge' and p_amount is not null and p_amount <> v_original.amount then
    perform private.raise_error('partial_cancel_not_allowed', 'a charge is cancelled whole, with its bonus',
      jsonb_build_object('transaction_id', v_original.id, 'amount', v_original.amount));
  end if;
  -- The replay comes before the other refusals: a retried successful cancel must answer its
  -- reversal, not already_cancelled.
  perform private.lock_idempotency_key(v_original.shop_id, p_idempotency_key);
  v_replay := private.replay_of(v_original.shop_id, p_idempotency_key, v_reversal_type, v_original.customer_id,
    case when v_original.type = 'deduct' then p_amount end, v_original.id, p_reason, p_actor_user_id, null);
  if v_replay is not null then
    return v_replay;
  end if;
  if v_original.type in ('charge_cancel', 'deduct_cancel') then
    perform private.raise_error('cannot_cancel_reversal', 'a reversal cannot itself be cancelled',
      jsonb_build_object('transaction_id', v_original.id, 'type', v_original.type));
  elsif v_reversal_type is null then
    perform private.raise_error('not_cancellable',
      'a bonus is cancelled with its charge, and a refund cannot be cancelled',
      jsonb_build_object('transaction_id', v_original.id, 'type', v_original.type));
  end if;

  perform 1 from public.customers c where c.id = v_original.customer_id for update;
  if v_original.type = 'charge' then
    select t.id into v_existing_reversal from public.transactions t
    where t.original_transaction_id = v_original.id and t.customer_id = v_original.customer_id
      and t.type = 'charge_cancel';
    if found then
      perform private.raise_error('already_cancelled', 'this transaction was already cancelled',
        jsonb_build_object('transaction_id', v_original.id, 'reversal_id', v_existing_reversal));
    end if;
    select t.* into v_bonus from public.transactions t
    where t.original_transaction_id = v_original.id and t.customer_id = v_original.customer_id and t.type = 'bonus';
    v_reversal := private.record_movement(v_original.customer_id, 'charge_cancel',
      v_original.amount + coalesce(v_bonus.amount, 0), coalesce(v_bonus.amount, 0), p_idempotency_key,
      p_actor_user_id, null, p_reason, v_original.id);
  else
    select coalesce(sum(t.amount), 0), coalesce(sum(t.bonus_amount), 0), (array_agg(t.id order by t.sequence desc))[1]
      into v_cancelled, v_cancelled_bonus, v_existing_reversal
    from public.transactions t
    where t.original_transaction_id = v_original.id and t.customer_id = v_original.customer_id;
    v_remaining := v_original.amount - v_cancelled;
    if v_remaining = 0 then
      perform private.raise_error('already_cancelled', 'this transaction was already cancelled in full',
        jsonb_build_object('transaction_id', v_original.id, 'reversal_id', v_existing_reversal));
    end if;
    v_amount := coalesce(p_amount, v_remaining);
    if v_amount > v_remaining then
      perform private.raise_error('cancel_exceeds_remaining', 'that is more than what remains to cancel of this deduct',
        jsonb_build_object('transaction_id', v_original.id, 'amount', v_amount, 'cancelled', v_cancelled,
          'remaining', v_remaining));
    end if;
    v_bonus_part := v_amount * (v_original.bonus_amount - v_cancelled_bonus) / v_remaining;
    v_reversal := private.record_movement(v_original.customer_id, 'deduct_cancel', v_amount, v_bonus_part,
      p_idempotency_key, p_actor_user_id, null, p_reason, v_original.id);
  end if;
  return private.money_result(v_reversal, false);
end;
$$;

-- As before, with the deduct split in the shop's spending order by record_movement.
create or replace function public.kiosk_pay(
  p_kiosk_key text,
  p_phone text,
  p_pin text,
  p_amount bigint,
  p_idempotency_key text
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_kiosk public.kiosks := private.authorize_kiosk(p_kiosk_key);
  v_customer public.customers;
  v_shop public.shops;
  v_pin_result jsonb;
  v_replay jsonb;
begin
  v_customer := private.kiosk_customer(v_kiosk, p_phone, p_pin);
  perform private.check_amount(p_amount);
  perform private.lock_idempotency_key(v_kiosk.shop_id, p_idempotency_key);
  select c.* into v_customer from public.customers c where c.id = v_customer.id for update;

  select s.* into v_shop from public.shops s where s.id = v_kiosk.shop_id;
  v_pin_result := private.verify_pin(v_customer.id, p_pin, v_shop);
  if not (v_pin_result ->> 'ok')::boolean then
    return v_pin_result;
  end if;

  v_replay := private.replay_of(v_kiosk.shop_id, p_idempotency_key, 'deduct', v_customer.id, p_amount, null, null, null, v_kiosk.id);
  if v_replay is not null then
    return v_replay;
  end if;
  return private.money_result(
    private.record_movement(v_customer.id, 'deduct', p_amount, null, p_idempotency_key, null, v_kiosk.id, null, null),
    false);
end;
$$;

create or replace function public.kiosk_balance(p_kiosk_key text, p_phone text, p_pin text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_kiosk public.kiosks := private.authorize_kiosk(p_kiosk_key);
  v_customer public.customers := private.kiosk_customer(v_kiosk, p_phone, p_pin);
  v_shop public.shops;
  v_pin_result jsonb;
begin
  select s.* into v_shop from public.shops s where s.id = v_kiosk.shop_id;
  v_pin_result := private.verify_pin(v_customer.id, p_pin, v_shop);
  if not (v_pin_result ->> 'ok')::boolean then
    return v_pin_result;
  end if;
  -- Read after the PIN row's lock, so the balance is as of this moment, not of the lookup.
  select c.* into v_customer from public.customers c where c.id = v_customer.id;
  return jsonb_build_object('customer', jsonb_build_object('id', v_customer.id, 'name', v_customer.name),
    'balance', v_customer.current_balance, 'paid_balance', v_customer.paid_balance,
    'bonus_balance', v_customer.bonus_balance);
end;
$$;

revoke all on function
  private.record_movement(uuid, text, bigint, bigint, text, uuid, uuid, text, uuid, uuid, text, bigint, text)
from public, anon, authenticated, service_role;
revoke all on function public.cancel_transaction(uuid, uuid, text, text, bigint) from public, anon, authenticated;
grant execute on function public.cancel_transaction(uuid, uuid, text, text, bigint) to service_role;
