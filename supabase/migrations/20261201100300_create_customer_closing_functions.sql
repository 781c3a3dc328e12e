-- Closing a customer who moved away, and erasing their personal data (개인정보 파기). A close
-- needs a zero balance (the refund empties it first), is taken under the customer's row lock, so a
-- payment or charge in flight either lands before it (and the close is refused while money is
-- left) or finds the customer closed. An erase keeps every ledger row as it is.

-- The customer an acting member names, locked for the change: found (else customer_not_found), the
-- actor authorized for its shop through private.authorize_member, then the row locked FOR UPDATE and
-- read again, so a close, erase or payment that committed meanwhile is seen.
create function private.lock_customer_for_member(p_actor_user_id uuid, p_customer_id uuid, p_roles text[])
returns public.customers
language plpgsql
set search_path = ''
as $$
declare
  v_shop_id uuid;
  v_customer public.customers;
begin
  select c.shop_id into v_shop_id from public.customers c where c.id = p_customer_id;
  if not found then
    perform private.raise_error('customer_not_found', 'no such customer', jsonb_build_object('customer_id', p_customer_id));
  end if;
  perform private.authorize_member(p_actor_user_id, v_shop_id, p_roles);
  select c.* into v_customer from public.customers c where c.id = p_customer_id for update;
  return v_customer;
end;
$$;

create function public.close_customer(p_actor_user_id uuid, p_customer_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_customer public.customers := private.lock_customer_for_member(p_actor_user_id, p_customer_id, array['owner', 'manager']);
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

-- Name and phone are emptied (the phone is then free for a new customer of the shop), the PIN hash
-- deleted; the ledger keeps the customer's id only. Erasing again changes nothing.
create function public.erase_customer(p_actor_user_id uuid, p_customer_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_customer public.customers := private.lock_customer_for_member(p_actor_user_id, p_customer_id, array['owner']);
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

-- Redefined from add_atomic_pin_functions: the customer row is locked first (a close or erase in
-- flight finishes first; the lock order customer, then PIN row, is kiosk_pay's) and a closed
-- customer gets no PIN.
create or replace function public.set_pin(p_actor_user_id uuid, p_customer_id uuid, p_pin text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_locked_until timestamptz;
begin
  perform private.check_pin_format(p_pin);
  perform private.refuse_closed_customer(
    private.lock_customer_for_member(p_actor_user_id, p_customer_id, array['owner', 'manager', 'staff']));
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

-- Redefined from create_customer_functions: a closed customer's name and phone stay as they are
-- (an erased one's must never come back), checked under the row lock.
create or replace function public.update_customer(
  p_actor_user_id uuid,
  p_customer_id uuid,
  p_name text default null,
  p_phone text default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_name text;
  v_customer public.customers := private.lock_customer_for_member(p_actor_user_id, p_customer_id, array['owner', 'manager', 'staff']);
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

revoke all on function private.lock_customer_for_member(uuid, uuid, text[])
  from public, anon, authenticated, service_role;

revoke all on function
  public.close_customer(uuid, uuid),
  public.erase_customer(uuid, uuid)
from public, anon, authenticated;
grant execute on function
  public.close_customer(uuid, uuid),
  public.erase_customer(uuid, uuid)
to service_role;
