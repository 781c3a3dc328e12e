-- Kiosks: an owner registers one and receives its device key once; the kiosk then pays and shows
-- balances for its own shop's customers, who confirm with their PIN.

create function public.register_kiosk(p_actor_user_id uuid, p_shop_id uuid, p_name text)
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
  if not exists (select 1 from public.shops s where s.id = p_shop_id) then
    perform private.raise_error('shop_not_found', 'no such shop', jsonb_build_object('shop_id', p_shop_id));
  end if;
  perform private.authorize_member(p_actor_user_id, p_shop_id, array['owner']);
  v_name := private.check_name(p_name);
  insert into public.kiosks (shop_id, name) values (p_shop_id, v_name) returning * into v_kiosk;
  -- Only the key's hash is kept: the key itself is in this answer and nowhere else.
  insert into private.kiosk_credentials (kiosk_id, key_hash)
  values (v_kiosk.id, encode(extensions.digest(v_device_key, 'sha256'), 'hex'));
  return jsonb_build_object('kiosk', to_jsonb(v_kiosk), 'device_key', v_device_key);
end;
$$;

create function public.deactivate_kiosk(p_actor_user_id uuid, p_kiosk_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_kiosk public.kiosks;
begin
  select k.* into v_kiosk from public.kiosks k where k.id = p_kiosk_id;
  if not found then
    perform private.raise_error('kiosk_not_found', 'no such kiosk', jsonb_build_object('kiosk_id', p_kiosk_id));
  end if;
  perform private.authorize_member(p_actor_user_id, v_kiosk.shop_id, array['owner']);
  update public.kiosks k set active = false where k.id = p_kiosk_id returning k.* into v_kiosk;
  return jsonb_build_object('kiosk', to_jsonb(v_kiosk));
end;
$$;

-- The kiosk's customer, found by phone within the kiosk's own shop only.
create function private.kiosk_customer(p_kiosk public.kiosks, p_phone text, p_pin text)
returns public.customers
language plpgsql
stable
set search_path = ''
as $$
declare
  v_customer public.customers;
begin
  perform private.check_phone(p_phone);
  perform private.check_pin_format(p_pin);
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
create function public.kiosk_pay(
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
  return private.record_movement(v_customer, 'deduct', p_amount, p_idempotency_key, null, v_kiosk.id, null, null);
end;
$$;

create function public.kiosk_balance(p_kiosk_key text, p_phone text, p_pin text)
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
  v_balance bigint;
begin
  select s.* into v_shop from public.shops s where s.id = v_kiosk.shop_id;
  v_pin_result := private.verify_pin(v_customer.id, p_pin, v_shop);
  if not (v_pin_result ->> 'ok')::boolean then
    return v_pin_result;
  end if;
  -- Read after the PIN row's lock, so the balance is as of this moment, not of the lookup.
  select c.current_balance into v_balance from public.customers c where c.id = v_customer.id;
  return jsonb_build_object('customer', jsonb_build_object('id', v_customer.id, 'name', v_customer.name),
    'balance', v_balance);
end;
$$;

revoke all on function private.kiosk_customer(public.kiosks, text, text)
  from public, anon, authenticated, service_role;

revoke all on function
  public.register_kiosk(uuid, uuid, text),
  public.deactivate_kiosk(uuid, uuid),
  public.kiosk_pay(text, text, text, bigint, text),
  public.kiosk_balance(text, text, text)
from public, anon, authenticated;
grant execute on function
  public.register_kiosk(uuid, uuid, text),
  public.deactivate_kiosk(uuid, uuid),
  public.kiosk_pay(text, text, text, bigint, text),
  public.kiosk_balance(text, text, text)
to service_role;
