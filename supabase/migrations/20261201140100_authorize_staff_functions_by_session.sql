-- Every staff RPC (each public function taking p_actor_user_id) gains a last parameter,
-- p_actor_session_id: the `session_id` claim of the access token the edge function verified. Its
-- first statement says who may call it, through the authorize_for_* helpers (migration
-- 20261201140000): a signed-out session or a banned or deleted user moves no money and changes
-- nothing (`not_authenticated`), and another shop's ids answer exactly like unknown ids. A null
-- session (a token without the claim) is judged by the user alone, as RLS does.
--
-- Charge, deduct and kiosk_pay are plpgsql (a language sql wrapper that cannot be inlined is planned
-- anew on every call), and their amount and memo checks are plain conditions that call the raising
-- helper only to refuse: this is the money path's hot end (issue 13, README "Where the time goes").
--
-- The signatures change, so each function is dropped and created again, with the grants it had:
-- execute for service_role only (the edge functions), never for public, anon or authenticated.
-- Calls that pass the two actor uuids (user, kiosk) side by side name their arguments, so that the
-- two cannot be swapped silently.

drop function public.charge_balance(uuid, uuid, bigint, text, text);
drop function public.deduct_balance(uuid, uuid, bigint, text, text);
drop function private.move_balance(text, uuid, uuid, bigint, text, text);
drop function public.cancel_transaction(uuid, uuid, text, text, bigint);
drop function public.refund_balance(uuid, uuid, text, text, text);
drop function public.quote_refund(uuid, uuid);
drop function public.set_pin(uuid, uuid, text);
drop function public.verify_pin_atomic(uuid, text, uuid, text);
drop function public.unlock_pin(uuid, uuid);
drop function public.create_customer(uuid, uuid, text, text, text);
drop function public.update_customer(uuid, uuid, text, text);
drop function public.close_customer(uuid, uuid);
drop function public.erase_customer(uuid, uuid);
drop function public.register_kiosk(uuid, uuid, text);
drop function public.deactivate_kiosk(uuid, uuid);
drop function public.create_promotion(uuid, uuid, bigint, bigint, integer, timestamptz, timestamptz);
drop function public.end_promotion(uuid, uuid);
drop function public.create_shop(uuid, text);
drop function public.update_shop(uuid, uuid, text, bigint, integer, integer, boolean, integer, boolean);
drop function public.add_shop_member(uuid, uuid, text, text);
drop function public.update_shop_member(uuid, uuid, uuid, text);
drop function public.remove_shop_member(uuid, uuid, uuid);
drop function public.list_shop_members(uuid, uuid);
-- Replaced by the authorize_for_* helpers; nothing calls them any more.
drop function private.authorize_member(uuid, uuid, text[]);
drop function private.authorize_user(uuid);
drop function private.lock_customer_for_member(uuid, uuid, text[]);
drop function private.lock_shop(uuid);

-- ---------------------------------------------------------------------------------------------
-- Money
-- ---------------------------------------------------------------------------------------------

create function private.move_balance(
  p_type text,
  p_actor_user_id uuid,
  p_actor_session_id uuid,
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
  -- Authorization: who acts, on which shop's customer (create_actor_and_target_checks).
  v_shop_id uuid := (private.authorize_for_customer(p_actor_user_id, p_actor_session_id, p_customer_id,
    array['owner', 'manager', 'staff'])).shop_id;
  v_replay jsonb;
  v_movement public.transactions;
  v_promotion record;
begin
  if p_amount is null or p_amount < 1 or p_amount > 10000000 then
    perform private.check_amount(p_amount);
  end if;
  if char_length(p_memo) > 500 then
    perform private.check_memo(p_memo);
  end if;

  perform private.lock_idempotency_key(v_shop_id, p_idempotency_key);
  v_replay := private.replay_of(p_shop_id => v_shop_id, p_idempotency_key => p_idempotency_key, p_type => p_type,
    p_customer_id => p_customer_id, p_amount => p_amount, p_original_transaction_id => null, p_memo => p_memo,
    p_actor_user_id => p_actor_user_id, p_actor_kiosk_id => null);
  if v_replay is not null then
    return v_replay;
  end if;

  v_movement := private.record_movement(p_customer_id => p_customer_id, p_type => p_type, p_amount => p_amount,
    p_bonus_amount => null, p_idempotency_key => p_idempotency_key, p_actor_user_id => p_actor_user_id,
    p_actor_kiosk_id => null, p_memo => p_memo, p_original_transaction_id => null);
  if p_type = 'charge' then
    select * into v_promotion from private.best_promotion(v_shop_id, p_amount);
    if v_promotion.bonus > 0 then
      perform private.record_movement(p_customer_id => p_customer_id, p_type => 'bonus', p_amount => v_promotion.bonus,
        p_bonus_amount => v_promotion.bonus, p_idempotency_key => null, p_actor_user_id => p_actor_user_id,
        p_actor_kiosk_id => null, p_memo => null, p_original_transaction_id => v_movement.id,
        p_promotion_id => v_promotion.promotion_id);
    end if;
  end if;
  return private.money_result(v_movement, false);
end;
$$;

create function public.charge_balance(
  p_actor_user_id uuid,
  p_customer_id uuid,
  p_amount bigint,
  p_idempotency_key text,
  p_memo text default null,
  p_actor_session_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  return private.move_balance(p_type => 'charge', p_actor_user_id => p_actor_user_id, p_actor_session_id => p_actor_session_id,
    p_customer_id => p_customer_id, p_amount => p_amount, p_idempotency_key => p_idempotency_key, p_memo => p_memo);
end;
$$;

create function public.deduct_balance(
  p_actor_user_id uuid,
  p_customer_id uuid,
  p_amount bigint,
  p_idempotency_key text,
  p_memo text default null,
  p_actor_session_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  return private.move_balance(p_type => 'deduct', p_actor_user_id => p_actor_user_id, p_actor_session_id => p_actor_session_id,
    p_customer_id => p_customer_id, p_amount => p_amount, p_idempotency_key => p_idempotency_key, p_memo => p_memo);
end;
$$;

create function public.cancel_transaction(
  p_actor_user_id uuid,
  p_transaction_id uuid,
  p_idempotency_key text,
  p_reason text default null,
  p_amount bigint default null,
  p_actor_session_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_original public.transactions := private.authorize_for_transaction(p_actor_user_id, p_actor_session_id,
    p_transaction_id, array['owner', 'manager']);
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

  v_reversal_type := case v_original.type when 'charge' then 'charge_cancel' when 'deduct' then 'deduct_cancel' end;
  if v_original.type = 'charge' and p_amount is not null and p_amount <> v_original.amount then
    perform private.raise_error('partial_cancel_not_allowed', 'a charge is cancelled whole, with its bonus',
      jsonb_build_object('transaction_id', v_original.id, 'amount', v_original.amount));
  end if;
  -- The replay comes before the other refusals: a retried successful cancel must answer its
  -- reversal, not already_cancelled.
  perform private.lock_idempotency_key(v_original.shop_id, p_idempotency_key);
  v_replay := private.replay_of(p_shop_id => v_original.shop_id, p_idempotency_key => p_idempotency_key,
    p_type => v_reversal_type, p_customer_id => v_original.customer_id,
    p_amount => case when v_original.type = 'deduct' then p_amount end, p_original_transaction_id => v_original.id,
    p_memo => p_reason, p_actor_user_id => p_actor_user_id, p_actor_kiosk_id => null);
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
    v_reversal := private.record_movement(p_customer_id => v_original.customer_id, p_type => 'charge_cancel',
      p_amount => v_original.amount + coalesce(v_bonus.amount, 0), p_bonus_amount => coalesce(v_bonus.amount, 0),
      p_idempotency_key => p_idempotency_key, p_actor_user_id => p_actor_user_id, p_actor_kiosk_id => null,
      p_memo => p_reason, p_original_transaction_id => v_original.id);
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
    v_reversal := private.record_movement(p_customer_id => v_original.customer_id, p_type => 'deduct_cancel',
      p_amount => v_amount, p_bonus_amount => v_bonus_part, p_idempotency_key => p_idempotency_key,
      p_actor_user_id => p_actor_user_id, p_actor_kiosk_id => null, p_memo => p_reason,
      p_original_transaction_id => v_original.id);
  end if;
  return private.money_result(v_reversal, false);
end;
$$;

create function public.quote_refund(p_actor_user_id uuid, p_customer_id uuid, p_actor_session_id uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_customer public.customers := private.authorize_for_customer(p_actor_user_id, p_actor_session_id, p_customer_id,
    array['owner', 'manager']);
  v_shop public.shops;
begin
  select s.* into v_shop from public.shops s where s.id = v_customer.shop_id;
  return private.refund_terms(v_customer, v_shop);
end;
$$;

create function public.refund_balance(
  p_actor_user_id uuid,
  p_customer_id uuid,
  p_method text,
  p_idempotency_key text,
  p_memo text default null,
  p_actor_session_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_customer public.customers := private.authorize_for_customer(p_actor_user_id, p_actor_session_id, p_customer_id,
    array['owner', 'manager']);
  v_shop public.shops;
  v_replay jsonb;
  v_terms jsonb;
  v_refund public.transactions;
begin
  perform private.check_memo(p_memo);
  if p_method is null or p_method not in ('cash', 'card_cancel', 'transfer') then
    perform private.raise_error('validation_failed', 'the method is cash, card_cancel or transfer',
      jsonb_build_object('field', 'method'));
  end if;

  perform private.lock_idempotency_key(v_customer.shop_id, p_idempotency_key);
  v_replay := private.replay_of(p_shop_id => v_customer.shop_id, p_idempotency_key => p_idempotency_key,
    p_type => 'refund', p_customer_id => p_customer_id, p_amount => null, p_original_transaction_id => null,
    p_memo => p_memo, p_actor_user_id => p_actor_user_id, p_actor_kiosk_id => null);
  if v_replay is not null then
    if v_replay -> 'refund' ->> 'method' <> p_method then
      perform private.raise_error('idempotency_key_reused',
        'this idempotency key was already used in this shop for another request',
        jsonb_build_object('transaction_id', v_replay -> 'transaction' -> 'id'));
    end if;
    return v_replay;
  end if;

  select c.* into v_customer from public.customers c where c.id = p_customer_id for update;
  select s.* into v_shop from public.shops s where s.id = v_customer.shop_id;
  v_terms := private.refund_terms(v_customer, v_shop);
  if v_customer.current_balance = 0 then
    perform private.raise_error('nothing_to_refund', 'the balance is zero', v_terms);
  end if;
  if not (v_terms ->> 'allowed')::boolean then
    perform private.raise_error('refund_not_allowed',
      'the customer has no statutory right to a refund now, and this shop refunds only then', v_terms);
  end if;
  v_refund := private.record_movement(p_customer_id => v_customer.id, p_type => 'refund',
    p_amount => v_customer.current_balance, p_bonus_amount => v_customer.bonus_balance,
    p_idempotency_key => p_idempotency_key, p_actor_user_id => p_actor_user_id, p_actor_kiosk_id => null,
    p_memo => p_memo, p_original_transaction_id => null, p_promotion_id => null, p_refund_method => p_method,
    p_refund_fee => (v_terms ->> 'fee')::bigint, p_refund_rule => v_terms ->> 'rule');
  return private.money_result(v_refund, false);
end;
$$;

-- Kiosk payments keep their signature; the calls that pass the two actor ids are named, and the
-- amount's check is a plain condition.
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
  -- Authorization: the kiosk's customer by phone, within the kiosk's shop.
  v_customer := private.kiosk_customer(v_kiosk, p_phone, p_pin);

  if p_amount is null or p_amount < 1 or p_amount > 10000000 then
    perform private.check_amount(p_amount);
  end if;
  perform private.lock_idempotency_key(v_kiosk.shop_id, p_idempotency_key);
  select c.* into v_customer from public.customers c where c.id = v_customer.id for update;

  select s.* into v_shop from public.shops s where s.id = v_kiosk.shop_id;
  v_pin_result := private.verify_pin(v_customer.id, p_pin, v_shop);
  if not (v_pin_result ->> 'ok')::boolean then
    return v_pin_result;
  end if;

  v_replay := private.replay_of(p_shop_id => v_kiosk.shop_id, p_idempotency_key => p_idempotency_key,
    p_type => 'deduct', p_customer_id => v_customer.id, p_amount => p_amount, p_original_transaction_id => null,
    p_memo => null, p_actor_user_id => null, p_actor_kiosk_id => v_kiosk.id);
  if v_replay is not null then
    return v_replay;
  end if;
  return private.money_result(
    private.record_movement(p_customer_id => v_customer.id, p_type => 'deduct', p_amount => p_amount,
      p_bonus_amount => null, p_idempotency_key => p_idempotency_key, p_actor_user_id => null,
      p_actor_kiosk_id => v_kiosk.id, p_memo => null, p_original_transaction_id => null),
    false);
end;
$$;
-- ---------------------------------------------------------------------------------------------
-- PINs
-- ---------------------------------------------------------------------------------------------

create function public.set_pin(p_actor_user_id uuid, p_customer_id uuid, p_pin text, p_actor_session_id uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_customer public.customers := private.authorize_for_customer(p_actor_user_id, p_actor_session_id, p_customer_id,
    array['owner', 'manager', 'staff'], p_lock => true);
  v_locked_until timestamptz;
begin
  perform private.check_pin_format(p_pin);
  perform private.refuse_closed_customer(v_customer);
  -- Setting a new PIN must not be a way around a lock-out: only an owner unlocks.
  select p.locked_until into v_locked_until
  from private.customer_pins p where p.customer_id = p_customer_id for update;
  if v_locked_until > now() then
    perform private.raise_error('pin_locked', 'the PIN is locked; an owner must unlock it first',
      jsonb_build_object('locked_until', v_locked_until));
  end if;
  insert into private.customer_pins (customer_id, pin_hash)
  values (p_customer_id, private.hash_pin(p_pin))
  on conflict (customer_id) do update
  set pin_hash = excluded.pin_hash, failed_attempts = 0, locked_until = null, updated_at = now();
  return jsonb_build_object('customer_id', p_customer_id, 'pin_set', true);
end;
$$;

-- A kiosk, or a signed-in member of the customer's shop. A kiosk naming another shop's customer gets
-- what an unknown customer gets.
create function public.verify_pin_atomic(
  p_customer_id uuid,
  p_pin text,
  p_actor_user_id uuid default null,
  p_kiosk_key text default null,
  p_actor_session_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_kiosk public.kiosks;
  v_customer public.customers;
  v_shop public.shops;
begin
  if p_actor_user_id is not null and p_kiosk_key is not null then
    perform private.raise_error('validation_failed', 'give either the acting user or the kiosk key, not both');
  end if;
  if p_kiosk_key is not null then
    v_kiosk := private.authorize_kiosk(p_kiosk_key);
    select c.* into v_customer from public.customers c where c.id = p_customer_id and c.shop_id = v_kiosk.shop_id;
    if not found then
      perform private.raise_error('customer_not_found', 'no such customer', jsonb_build_object('customer_id', p_customer_id));
    end if;
  else
    v_customer := private.authorize_for_customer(p_actor_user_id, p_actor_session_id, p_customer_id,
      array['owner', 'manager', 'staff']);
  end if;
  perform private.check_pin_format(p_pin);
  select s.* into v_shop from public.shops s where s.id = v_customer.shop_id;
  return private.verify_pin(v_customer.id, p_pin, v_shop);
end;
$$;

create function public.unlock_pin(p_actor_user_id uuid, p_customer_id uuid, p_actor_session_id uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.authorize_for_customer(p_actor_user_id, p_actor_session_id, p_customer_id, array['owner']);
  update private.customer_pins p
  set failed_attempts = 0, locked_until = null, updated_at = now()
  where p.customer_id = p_customer_id;
  if not found then
    perform private.raise_error('pin_not_set', 'this customer has no PIN');
  end if;
  return jsonb_build_object('customer_id', p_customer_id, 'unlocked', true);
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Customers
-- ---------------------------------------------------------------------------------------------

create function public.create_customer(
  p_actor_user_id uuid,
  p_shop_id uuid,
  p_name text,
  p_phone text,
  p_pin text default null,
  p_actor_session_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_name text;
  v_customer public.customers;
begin
  perform private.authorize_for_shop(p_actor_user_id, p_actor_session_id, p_shop_id, array['owner', 'manager', 'staff']);
  v_name := private.check_name(p_name);
  perform private.check_phone(p_phone);
  if p_pin is not null then
    perform private.check_pin_format(p_pin);
  end if;

  insert into public.customers (shop_id, name, phone)
  values (p_shop_id, v_name, p_phone)
  on conflict (shop_id, phone) do nothing
  returning * into v_customer;
  if not found then
    perform private.raise_error('phone_taken', 'another customer of this shop has this phone',
      jsonb_build_object('phone', p_phone));
  end if;
  if p_pin is not null then
    insert into private.customer_pins (customer_id, pin_hash) values (v_customer.id, private.hash_pin(p_pin));
  end if;
  return jsonb_build_object('customer', to_jsonb(v_customer));
end;
$$;

create function public.update_customer(
  p_actor_user_id uuid,
  p_customer_id uuid,
  p_name text default null,
  p_phone text default null,
  p_actor_session_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_customer public.customers := private.authorize_for_customer(p_actor_user_id, p_actor_session_id, p_customer_id,
    array['owner', 'manager', 'staff'], p_lock => true);
  v_name text;
begin
  perform private.refuse_closed_customer(v_customer);
  if p_name is not null then
    v_name := private.check_name(p_name);
  end if;
  if p_phone is not null then
    perform private.check_phone(p_phone);
  end if;

  begin
    update public.customers c
    set name = coalesce(v_name, c.name), phone = coalesce(p_phone, c.phone), updated_at = now()
    where c.id = p_customer_id
    returning c.* into v_customer;
  exception when unique_violation then
    perform private.raise_error('phone_taken', 'another customer of this shop has this phone',
      jsonb_build_object('phone', p_phone));
  end;
  return jsonb_build_object('customer', to_jsonb(v_customer));
end;
$$;

create function public.close_customer(p_actor_user_id uuid, p_customer_id uuid, p_actor_session_id uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_customer public.customers := private.authorize_for_customer(p_actor_user_id, p_actor_session_id, p_customer_id,
    array['owner', 'manager'], p_lock => true);
begin
  perform private.refuse_closed_customer(v_customer);
  if v_customer.current_balance <> 0 then
    perform private.raise_error('balance_not_zero', 'refund the balance before closing this customer',
      jsonb_build_object('customer_id', v_customer.id, 'balance', v_customer.current_balance));
  end if;
  -- The moment the close took effect, under the row lock: now() would be when this transaction
  -- began, possibly before a payment that committed while the close waited for the lock.
  update public.customers c set closed_at = clock_timestamp(), updated_at = now()
  where c.id = p_customer_id
  returning c.* into v_customer;
  return jsonb_build_object('customer', to_jsonb(v_customer));
end;
$$;

create function public.erase_customer(p_actor_user_id uuid, p_customer_id uuid, p_actor_session_id uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_customer public.customers := private.authorize_for_customer(p_actor_user_id, p_actor_session_id, p_customer_id,
    array['owner'], p_lock => true);
begin
  if v_customer.closed_at is null then
    perform private.raise_error('customer_not_closed', 'close this customer before erasing their data',
      jsonb_build_object('customer_id', v_customer.id));
  end if;
  if v_customer.erased_at is null then
    update public.customers c set name = null, phone = null, erased_at = now(), updated_at = now()
    where c.id = p_customer_id
    returning c.* into v_customer;
    delete from private.customer_pins p where p.customer_id = p_customer_id;
  end if;
  return jsonb_build_object('customer', to_jsonb(v_customer));
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Kiosks and promotions
-- ---------------------------------------------------------------------------------------------

create function public.register_kiosk(p_actor_user_id uuid, p_shop_id uuid, p_name text, p_actor_session_id uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_name text;
  v_device_key text := encode(extensions.gen_random_bytes(32), 'hex');
  v_kiosk public.kiosks;
begin
  perform private.authorize_for_shop(p_actor_user_id, p_actor_session_id, p_shop_id, array['owner']);
  v_name := private.check_name(p_name);
  insert into public.kiosks (shop_id, name) values (p_shop_id, v_name) returning * into v_kiosk;
  -- Only the key's hash is kept: the key itself is in this answer and nowhere else.
  insert into private.kiosk_credentials (kiosk_id, key_hash)
  values (v_kiosk.id, encode(extensions.digest(v_device_key, 'sha256'), 'hex'));
  return jsonb_build_object('kiosk', to_jsonb(v_kiosk), 'device_key', v_device_key);
end;
$$;

create function public.deactivate_kiosk(p_actor_user_id uuid, p_kiosk_id uuid, p_actor_session_id uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_kiosk public.kiosks;
begin
  perform private.authorize_for_kiosk(p_actor_user_id, p_actor_session_id, p_kiosk_id, array['owner']);
  update public.kiosks k set active = false where k.id = p_kiosk_id returning k.* into v_kiosk;
  return jsonb_build_object('kiosk', to_jsonb(v_kiosk));
end;
$$;

create function public.create_promotion(
  p_actor_user_id uuid,
  p_shop_id uuid,
  p_min_charge bigint,
  p_bonus_amount bigint default null,
  p_bonus_percent integer default null,
  p_starts_at timestamptz default null,
  p_ends_at timestamptz default null,
  p_actor_session_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_starts_at timestamptz := coalesce(p_starts_at, now());
  v_promotion public.promotions;
begin
  perform private.authorize_for_shop(p_actor_user_id, p_actor_session_id, p_shop_id, array['owner']);
  if p_min_charge is null or p_min_charge not between 1 and 10000000 then
    perform private.raise_error('validation_failed', 'min_charge must be 1 to 10,000,000 won',
      jsonb_build_object('field', 'min_charge'));
  end if;
  if num_nonnulls(p_bonus_amount, p_bonus_percent) <> 1 then
    perform private.raise_error('validation_failed', 'give either bonus_amount or bonus_percent',
      jsonb_build_object('field', 'bonus_amount'));
  end if;
  if p_bonus_amount is not null and p_bonus_amount not between 1 and 10000000 then
    perform private.raise_error('validation_failed', 'bonus_amount must be 1 to 10,000,000 won',
      jsonb_build_object('field', 'bonus_amount'));
  end if;
  if p_bonus_percent is not null and p_bonus_percent not between 1 and 100 then
    perform private.raise_error('validation_failed', 'bonus_percent must be 1 to 100',
      jsonb_build_object('field', 'bonus_percent'));
  end if;
  if p_ends_at is not null and p_ends_at <= v_starts_at then
    perform private.raise_error('validation_failed', 'ends_at must be after starts_at',
      jsonb_build_object('field', 'ends_at'));
  end if;
  insert into public.promotions (shop_id, min_charge, bonus_amount, bonus_percent, starts_at, ends_at)
  values (p_shop_id, p_min_charge, p_bonus_amount, p_bonus_percent, v_starts_at, p_ends_at)
  returning * into v_promotion;
  return jsonb_build_object('promotion', to_jsonb(v_promotion));
end;
$$;

create function public.end_promotion(p_actor_user_id uuid, p_promotion_id uuid, p_actor_session_id uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_promotion public.promotions;
begin
  perform private.authorize_for_promotion(p_actor_user_id, p_actor_session_id, p_promotion_id, array['owner']);
  select p.* into v_promotion from public.promotions p where p.id = p_promotion_id for update;
  -- Ending an ended promotion changes nothing and answers it as it is.
  if v_promotion.ends_at is null or v_promotion.ends_at > clock_timestamp() then
    update public.promotions p
    set ends_at = greatest(p.starts_at, clock_timestamp())
    where p.id = p_promotion_id
    returning p.* into v_promotion;
  end if;
  return jsonb_build_object('promotion', to_jsonb(v_promotion));
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Shops and their teams. Every team change locks the shop row before reading the actor's role.
-- ---------------------------------------------------------------------------------------------

create function public.create_shop(p_actor_user_id uuid, p_name text, p_actor_session_id uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_name text;
  v_shop public.shops;
begin
  -- Any signed-in user opens a shop and becomes its first owner.
  perform private.authorize_actor(p_actor_user_id, p_actor_session_id);
  v_name := private.check_name(p_name);
  insert into public.shops (name) values (v_name) returning * into v_shop;
  insert into public.shop_members (shop_id, user_id, role) values (v_shop.id, p_actor_user_id, 'owner');
  return jsonb_build_object('shop', private.shop_json(v_shop));
end;
$$;

create function public.update_shop(
  p_actor_user_id uuid,
  p_shop_id uuid,
  p_name text default null,
  p_max_balance bigint default null,
  p_pin_max_attempts integer default null,
  p_pin_lock_minutes integer default null,
  p_spend_bonus_first boolean default null,
  p_refund_fee_percent integer default null,
  p_allow_refunds_outside_right boolean default null,
  p_actor_session_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_name text;
  v_shop public.shops;
begin
  perform private.authorize_for_shop(p_actor_user_id, p_actor_session_id, p_shop_id, array['owner'], p_lock => true);
  if p_name is not null then
    v_name := private.check_name(p_name);
  end if;
  if p_max_balance is not null and p_max_balance not between 1 and 1000000000 then
    perform private.raise_error('validation_failed', 'the balance ceiling is 1 to 1,000,000,000 won',
      jsonb_build_object('field', 'max_balance', 'min', 1, 'max', 1000000000));
  end if;
  if p_pin_max_attempts is not null and p_pin_max_attempts not between 1 and 20 then
    perform private.raise_error('validation_failed', 'a PIN locks after 1 to 20 wrong attempts',
      jsonb_build_object('field', 'pin_max_attempts', 'min', 1, 'max', 20));
  end if;
  if p_pin_lock_minutes is not null and p_pin_lock_minutes not between 1 and 1440 then
    perform private.raise_error('validation_failed', 'a PIN lock lasts 1 to 1,440 minutes',
      jsonb_build_object('field', 'pin_lock_minutes', 'min', 1, 'max', 1440));
  end if;
  if p_refund_fee_percent is not null and p_refund_fee_percent not between 0 and 10 then
    perform private.raise_error('validation_failed', 'the refund fee is 0 to 10 percent',
      jsonb_build_object('field', 'refund_fee_percent', 'min', 0, 'max', 10));
  end if;
  update public.shops s
  set name = coalesce(v_name, s.name),
      max_balance = coalesce(p_max_balance, s.max_balance),
      pin_max_attempts = coalesce(p_pin_max_attempts, s.pin_max_attempts),
      pin_lock_minutes = coalesce(p_pin_lock_minutes, s.pin_lock_minutes),
      spend_bonus_first = coalesce(p_spend_bonus_first, s.spend_bonus_first),
      refund_fee_percent = coalesce(p_refund_fee_percent, s.refund_fee_percent),
      allow_refunds_outside_right = coalesce(p_allow_refunds_outside_right, s.allow_refunds_outside_right)
  where s.id = p_shop_id
  returning s.* into v_shop;
  return jsonb_build_object('shop', private.shop_json(v_shop));
end;
$$;

create function public.list_shop_members(p_actor_user_id uuid, p_shop_id uuid, p_actor_session_id uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.authorize_for_shop(p_actor_user_id, p_actor_session_id, p_shop_id, array['owner', 'manager', 'staff']);
  return jsonb_build_object('members', coalesce((
    select jsonb_agg(private.member_json(m) order by m.created_at, m.user_id)
    from public.shop_members m
    where m.shop_id = p_shop_id
  ), '[]'::jsonb));
end;
$$;

create function public.add_shop_member(
  p_actor_user_id uuid,
  p_shop_id uuid,
  p_email text,
  p_role text,
  p_actor_session_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_actor_role text := private.authorize_for_shop(p_actor_user_id, p_actor_session_id, p_shop_id,
    array['owner', 'manager'], p_lock => true);
  v_user_id uuid;
  v_member public.shop_members;
begin
  perform private.check_role(p_role);
  if v_actor_role = 'manager' and p_role <> 'staff' then
    perform private.raise_error('insufficient_role', 'a manager adds staff only',
      jsonb_build_object('role', v_actor_role, 'allowed_roles', jsonb_build_array('staff')));
  end if;
  if p_email is null or char_length(p_email) > 255 or p_email !~ '^[^\s@]+@[^\s@]+\.[^\s@]+$' then
    perform private.raise_error('validation_failed', 'give the email address of the new member',
      jsonb_build_object('field', 'email'));
  end if;
  -- GoTrue stores emails in lower case; comparing so keeps the lookup on its unique index.
  select u.id into v_user_id from auth.users u where u.email = lower(btrim(p_email));
  if not found then
    perform private.raise_error('user_not_found', 'no user has this email yet; invite them first',
      jsonb_build_object('email', lower(btrim(p_email))));
  end if;
  insert into public.shop_members (shop_id, user_id, role)
  values (p_shop_id, v_user_id, p_role)
  on conflict (shop_id, user_id) do nothing
  returning * into v_member;
  if not found then
    perform private.raise_error('already_member', 'this user is already a member of the shop',
      jsonb_build_object('user_id', v_user_id));
  end if;
  return jsonb_build_object('member', private.member_json(v_member));
end;
$$;

create function public.update_shop_member(
  p_actor_user_id uuid,
  p_shop_id uuid,
  p_user_id uuid,
  p_role text,
  p_actor_session_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_member public.shop_members;
begin
  perform private.authorize_for_shop(p_actor_user_id, p_actor_session_id, p_shop_id, array['owner'], p_lock => true);
  perform private.check_role(p_role);
  v_member := private.member_of(p_shop_id, p_user_id);
  if v_member.role = 'owner' and p_role <> 'owner' then
    perform private.refuse_last_owner(p_shop_id, p_user_id);
  end if;
  update public.shop_members m set role = p_role
  where m.shop_id = p_shop_id and m.user_id = p_user_id
  returning m.* into v_member;
  return jsonb_build_object('member', private.member_json(v_member));
end;
$$;

-- Anyone may leave (never the last owner); an owner removes anyone, a manager removes staff.
create function public.remove_shop_member(
  p_actor_user_id uuid,
  p_shop_id uuid,
  p_user_id uuid,
  p_actor_session_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_actor_role text := private.authorize_for_shop(p_actor_user_id, p_actor_session_id, p_shop_id,
    array['owner', 'manager', 'staff'], p_lock => true);
  v_member public.shop_members;
begin
  v_member := private.member_of(p_shop_id, p_user_id);
  if p_user_id <> p_actor_user_id and not (
    v_actor_role = 'owner' or (v_actor_role = 'manager' and v_member.role = 'staff')
  ) then
    perform private.raise_error('insufficient_role', format('a %s may not remove a %s', v_actor_role, v_member.role),
      jsonb_build_object('role', v_actor_role, 'member_role', v_member.role));
  end if;
  if v_member.role = 'owner' then
    perform private.refuse_last_owner(p_shop_id, p_user_id);
  end if;
  delete from public.shop_members m where m.shop_id = p_shop_id and m.user_id = p_user_id;
  return jsonb_build_object('removed', private.member_json(v_member));
end;
$$;

revoke all on function private.move_balance(text, uuid, uuid, uuid, bigint, text, text)
from public, anon, authenticated, service_role;

-- The grants each had: every public function with the new parameter, and nothing else, is executable
-- by service_role only.
do $$
declare
  v_function regprocedure;
begin
  for v_function in
    select p.oid::regprocedure from pg_catalog.pg_proc p
    where p.pronamespace = 'public'::regnamespace and 'p_actor_session_id' = any (p.proargnames)
  loop
    execute format('revoke all on function %s from public, anon, authenticated', v_function);
    execute format('grant execute on function %s to service_role', v_function);
  end loop;
end;
$$;
