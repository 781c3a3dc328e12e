-- Registering a customer and correcting their name or phone. The balance is never an argument:
-- a customer starts at 0 and only the money functions move it.

create function private.check_name(p_name text)
returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_name text := btrim(p_name);
begin
  if v_name is null or char_length(v_name) not between 1 and 100 then
    perform private.raise_error('invalid_name', 'a name is 1 to 100 characters');
  end if;
  return v_name;
end;
$$;

create function private.check_phone(p_phone text)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_phone is null or p_phone !~ '^010-[0-9]{4}-[0-9]{4}$' then
    perform private.raise_error('invalid_phone', 'a phone number is written 010-1234-5678',
      jsonb_build_object('phone', p_phone));
  end if;
end;
$$;

create function public.create_customer(
  p_actor_user_id uuid,
  p_shop_id uuid,
  p_name text,
  p_phone text,
  p_pin text default null
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
  if not exists (select 1 from public.shops s where s.id = p_shop_id) then
    perform private.raise_error('shop_not_found', 'no such shop', jsonb_build_object('shop_id', p_shop_id));
  end if;
  perform private.authorize_member(p_actor_user_id, p_shop_id, array['owner', 'manager', 'staff']);
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

-- A null argument leaves that field as it is.
create function public.update_customer(
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
  v_shop_id uuid;
  v_name text;
  v_customer public.customers;
begin
  select c.shop_id into v_shop_id from public.customers c where c.id = p_customer_id;
  if not found then
    perform private.raise_error('customer_not_found', 'no such customer', jsonb_build_object('customer_id', p_customer_id));
  end if;
  perform private.authorize_member(p_actor_user_id, v_shop_id, array['owner', 'manager', 'staff']);
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

revoke all on function private.check_name(text), private.check_phone(text)
  from public, anon, authenticated, service_role;

revoke all on function
  public.create_customer(uuid, uuid, text, text, text),
  public.update_customer(uuid, uuid, text, text)
from public, anon, authenticated;
grant execute on function
  public.create_customer(uuid, uuid, text, text, text),
  public.update_customer(uuid, uuid, text, text)
to service_role;
