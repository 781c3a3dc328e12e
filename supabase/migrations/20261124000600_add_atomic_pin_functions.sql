-- Customer PINs: set, verify, unlock. The hash lives in private.customer_pins, which no API role can
-- read; only a yes/no (with the attempts left and the lock time) ever leaves the database.

-- bcrypt cost 4 (about 0.7 ms a hash on one core here; cost 10 is 41 ms), the only place it is set.
-- Kiosk payments must reach 500 requests/s on 2 cores and each one verifies a PIN, so a high cost
-- would spend the machine on hashing. A 4-6 digit PIN has at most a million values whatever the cost:
-- what stops guessing is the lock-out after shops.pin_max_attempts failures, and the hash never
-- leaving the database. The cost is kept in each hash, so raising it later needs no migration of
-- existing PINs (they are re-hashed when set again).
create function private.hash_pin(p_pin text)
returns text
language sql
volatile
set search_path = ''
as $$
  select extensions.crypt(p_pin, extensions.gen_salt('bf', 4))
$$;

create function private.check_pin_format(p_pin text)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_pin is null or p_pin !~ '^[0-9]{4,6}$' then
    perform private.raise_error('invalid_pin_format', 'a PIN is 4 to 6 digits');
  end if;
end;
$$;

-- Compares the PIN under the PIN row's lock and records the outcome. It returns and never raises:
-- the failure count must commit with the caller's transaction. A lock that has run out starts a new
-- series of attempts. The failure that reaches pin_max_attempts answers pin_locked with its time.
create function private.verify_pin(p_customer_id uuid, p_pin text, p_shop public.shops)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_pin private.customer_pins;
  v_failed integer;
  v_locked_until timestamptz;
begin
  select p.* into v_pin from private.customer_pins p where p.customer_id = p_customer_id for update;
  if not found then
    return jsonb_build_object('ok', false, 'code', 'pin_not_set',
      'remaining_attempts', p_shop.pin_max_attempts, 'locked_until', null);
  end if;
  if v_pin.locked_until > now() then
    return jsonb_build_object('ok', false, 'code', 'pin_locked', 'remaining_attempts', 0, 'locked_until', v_pin.locked_until);
  end if;

  if extensions.crypt(p_pin, v_pin.pin_hash) = v_pin.pin_hash then
    if v_pin.failed_attempts <> 0 or v_pin.locked_until is not null then
      update private.customer_pins p
      set failed_attempts = 0, locked_until = null, updated_at = now()
      where p.customer_id = p_customer_id;
    end if;
    return jsonb_build_object('ok', true, 'code', null, 'remaining_attempts', p_shop.pin_max_attempts, 'locked_until', null);
  end if;

  v_failed := case when v_pin.locked_until is null then v_pin.failed_attempts else 0 end + 1;
  if v_failed >= p_shop.pin_max_attempts then
    v_locked_until := now() + make_interval(mins => p_shop.pin_lock_minutes);
  end if;
  update private.customer_pins p
  set failed_attempts = v_failed, locked_until = v_locked_until, updated_at = now()
  where p.customer_id = p_customer_id;
  if v_locked_until is not null then
    return jsonb_build_object('ok', false, 'code', 'pin_locked', 'remaining_attempts', 0, 'locked_until', v_locked_until);
  end if;
  return jsonb_build_object('ok', false, 'code', 'pin_invalid',
    'remaining_attempts', p_shop.pin_max_attempts - v_failed, 'locked_until', null);
end;
$$;

create function public.set_pin(p_actor_user_id uuid, p_customer_id uuid, p_pin text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_shop_id uuid;
  v_locked_until timestamptz;
begin
  perform private.check_pin_format(p_pin);
  select c.shop_id into v_shop_id from public.customers c where c.id = p_customer_id;
  if not found then
    perform private.raise_error('customer_not_found', 'no such customer', jsonb_build_object('customer_id', p_customer_id));
  end if;
  perform private.authorize_member(p_actor_user_id, v_shop_id, array['owner', 'manager', 'staff']);
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

-- Staff (p_actor_user_id) or a kiosk (p_kiosk_key) asks; exactly one of them.
create function public.verify_pin_atomic(
  p_customer_id uuid,
  p_pin text,
  p_actor_user_id uuid default null,
  p_kiosk_key text default null
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
  elsif p_actor_user_id is null then
    perform private.raise_error('not_authenticated', 'no acting user or kiosk was given');
  end if;
  perform private.check_pin_format(p_pin);
  select c.* into v_customer from public.customers c where c.id = p_customer_id;
  if not found then
    perform private.raise_error('customer_not_found', 'no such customer', jsonb_build_object('customer_id', p_customer_id));
  end if;
  if v_kiosk.id is not null then
    if v_kiosk.shop_id <> v_customer.shop_id then
      perform private.raise_error('not_shop_member', 'this kiosk belongs to another shop');
    end if;
  else
    perform private.authorize_member(p_actor_user_id, v_customer.shop_id, array['owner', 'manager', 'staff']);
  end if;
  select s.* into v_shop from public.shops s where s.id = v_customer.shop_id;
  return private.verify_pin(v_customer.id, p_pin, v_shop);
end;
$$;

create function public.unlock_pin(p_actor_user_id uuid, p_customer_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_shop_id uuid;
begin
  select c.shop_id into v_shop_id from public.customers c where c.id = p_customer_id;
  if not found then
    perform private.raise_error('customer_not_found', 'no such customer', jsonb_build_object('customer_id', p_customer_id));
  end if;
  perform private.authorize_member(p_actor_user_id, v_shop_id, array['owner']);
  update private.customer_pins p
  set failed_attempts = 0, locked_until = null, updated_at = now()
  where p.customer_id = p_customer_id;
  if not found then
    perform private.raise_error('pin_not_set', 'this customer has no PIN');
  end if;
  return jsonb_build_object('customer_id', p_customer_id, 'unlocked', true);
end;
$$;

revoke all on function
  private.hash_pin(text),
  private.check_pin_format(text),
  private.verify_pin(uuid, text, public.shops)
from public, anon, authenticated, service_role;

revoke all on function
  public.set_pin(uuid, uuid, text),
  public.verify_pin_atomic(uuid, text, uuid, text),
  public.unlock_pin(uuid, uuid)
from public, anon, authenticated;
grant execute on function
  public.set_pin(uuid, uuid, text),
  public.verify_pin_atomic(uuid, text, uuid, text),
  public.unlock_pin(uuid, uuid)
to service_role;
