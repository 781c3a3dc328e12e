-- Fewer statements on the way to a money movement (issue 13), the same rules and the same answers.
-- Each statement a plpgsql function runs (a `perform`, a `select ... into`) starts an executor of its
-- own; `npm run bench:profile` and perf on a backend put executor start-up, not the lookups
-- themselves, at most of what the checks before the ledger write cost.
--
-- 1. private.authorize_for_customer: the customer and the actor's role in the customer's shop in one
--    query (the customer's key, then the member's (shop_id, user_id) key), and the session through
--    private.is_signed_in as a plain condition. authorize_actor and authorize_member, which raise the
--    refusals, are called only to refuse, so that the refusals, their order (not_authenticated before
--    anything about the customer) and their bodies stay in one place each. Their own lookups decide:
--    a membership changed between the two reads is judged as it is when authorize_member reads it.
-- 2. private.kiosk_customer: the phone and PIN formats as plain conditions that call the raising
--    helpers only to refuse (as the amount and memo checks of move_balance do).
-- 3. public.kiosk_pay: the customer's row lock and the shop's PIN settings in one statement.

create or replace function private.authorize_for_customer(
  p_actor_user_id uuid,
  p_actor_session_id uuid,
  p_customer_id uuid,
  p_roles text[],
  p_lock boolean default false,
  p_shop_id uuid default null
)
returns public.customers
language plpgsql
set search_path = ''
as $$
declare
  v_found record;
  v_customer public.customers;
begin
  if p_actor_user_id is null or not private.is_signed_in(p_actor_user_id, p_actor_session_id) then
    perform private.authorize_actor(p_actor_user_id, p_actor_session_id);
  end if;
  if p_shop_id is null then
    select c as customer, m.role into v_found
    from public.customers c
    left join public.shop_members m on m.shop_id = c.shop_id and m.user_id = p_actor_user_id
    where c.id = p_customer_id;
  else
    select c as customer, m.role into v_found
    from public.customers c
    left join public.shop_members m on m.shop_id = c.shop_id and m.user_id = p_actor_user_id
    where c.shop_id = p_shop_id and c.id = p_customer_id;
  end if;
  v_customer := v_found.customer;
  -- A customer of another shop than p_shop_id, or of a shop the actor is not a member of, was not
  -- found: the same 404 as an unknown id.
  if v_found.role is null or not (v_found.role = any (p_roles)) then
    perform private.authorize_member(p_actor_user_id, v_customer.shop_id, p_roles, 'customer_not_found', p_customer_id);
  end if;
  if p_lock then
    select c.* into v_customer from public.customers c
    where c.shop_id = v_customer.shop_id and c.id = p_customer_id
    for update;
  end if;
  return v_customer;
end;
$$;

create or replace function private.kiosk_customer(p_kiosk public.kiosks, p_phone text, p_pin text)
returns public.customers
language plpgsql
stable
set search_path = ''
as $$
declare
  v_customer public.customers;
begin
  if p_phone is null or p_phone !~ '^010-[0-9]{4}-[0-9]{4}$' then
    perform private.check_phone(p_phone);
  end if;
  if p_pin is null or p_pin !~ '^[0-9]{4,6}$' then
    perform private.check_pin_format(p_pin);
  end if;
  select c.* into v_customer from public.customers c where c.shop_id = p_kiosk.shop_id and c.phone = p_phone;
  if not found then
    perform private.raise_error('customer_not_found', 'no customer of this shop has this phone');
  end if;
  return v_customer;
end;
$$;

-- PIN and deduct in one transaction. Lock order as everywhere: idempotency key, customer row, PIN
-- row. A wrong PIN returns its refusal (the failure commits, nothing is paid); a replay still needs
-- the right PIN, so a stolen idempotency key reveals nothing.
create or replace function public.kiosk_pay(p_kiosk_key text, p_phone text, p_pin text, p_amount bigint, p_idempotency_key text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_kiosk public.kiosks := private.authorize_kiosk(p_kiosk_key);
  v_customer public.customers;
  v_locked record;
  v_pin_result jsonb;
  v_replay jsonb;
begin
  -- Authorization: the kiosk's customer by phone, within the kiosk's shop.
  v_customer := private.kiosk_customer(v_kiosk, p_phone, p_pin);

  if p_amount is null or p_amount < 1 or p_amount > 10000000 then
    perform private.check_amount(p_amount);
  end if;
  perform private.lock_idempotency_key(v_kiosk.shop_id, p_idempotency_key);
  select c.id, s as shop into v_locked
  from public.customers c
  join public.shops s on s.id = c.shop_id
  where c.shop_id = v_kiosk.shop_id and c.id = v_customer.id
  for update of c;

  v_pin_result := private.verify_pin(v_locked.id, p_pin, v_locked.shop);
  if not (v_pin_result ->> 'ok')::boolean then
    return v_pin_result;
  end if;

  v_replay := private.replay_of(p_shop_id => v_kiosk.shop_id, p_idempotency_key => p_idempotency_key,
    p_type => 'deduct', p_customer_id => v_locked.id, p_amount => p_amount, p_original_transaction_id => null,
    p_memo => null, p_actor_user_id => null, p_actor_kiosk_id => v_kiosk.id);
  if v_replay is not null then
    return v_replay;
  end if;
  return private.money_result(
    private.record_movement(p_shop_id => v_kiosk.shop_id, p_customer_id => v_locked.id, p_type => 'deduct',
      p_amount => p_amount, p_bonus_amount => null, p_idempotency_key => p_idempotency_key, p_actor_user_id => null,
      p_actor_kiosk_id => v_kiosk.id, p_memo => null, p_original_transaction_id => null),
    false);
end;
$$;
