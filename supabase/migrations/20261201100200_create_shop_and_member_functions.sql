-- Shops run themselves: a signed-in user opens a shop and becomes its first owner, the owner sets
-- its ceiling and PIN policy, and the team is built and trimmed by its owners and managers. Called
-- by the edge functions with the service role, passing the acting user, like every other RPC; every
-- role rule is decided here through private.authorize_member.
--
-- Every change to a shop's team first takes the shop row's lock (no key update, so the foreign-key
-- checks of customers and ledger rows are not blocked) and only then reads who may act: two owners
-- demoting each other at once queue, and the second finds it is no longer an owner. Counting the
-- owners under the same lock is what keeps a shop from ever losing its last one.

-- Taken by every change to a shop's settings or team, before the actor's role is read.
create function private.lock_shop(p_shop_id uuid)
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform 1 from public.shops s where s.id = p_shop_id for no key update;
  if not found then
    perform private.raise_error('shop_not_found', 'no such shop', jsonb_build_object('shop_id', p_shop_id));
  end if;
end;
$$;

create function private.check_role(p_role text)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_role is null or p_role not in ('owner', 'manager', 'staff') then
    perform private.raise_error('validation_failed', 'a role is owner, manager or staff',
      jsonb_build_object('field', 'role', 'role', p_role));
  end if;
end;
$$;

-- Called under lock_shop. A shop always keeps at least one owner.
create function private.refuse_last_owner(p_shop_id uuid, p_user_id uuid)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if not exists (
    select 1 from public.shop_members m
    where m.shop_id = p_shop_id and m.role = 'owner' and m.user_id <> p_user_id
  ) then
    perform private.raise_error('last_owner', 'a shop must keep at least one owner',
      jsonb_build_object('shop_id', p_shop_id, 'user_id', p_user_id));
  end if;
end;
$$;

create function private.member_of(p_shop_id uuid, p_user_id uuid)
returns public.shop_members
language plpgsql
stable
set search_path = ''
as $$
declare
  v_member public.shop_members;
begin
  select m.* into v_member from public.shop_members m where m.shop_id = p_shop_id and m.user_id = p_user_id;
  if not found then
    perform private.raise_error('member_not_found', 'this user is not a member of the shop',
      jsonb_build_object('user_id', p_user_id));
  end if;
  return v_member;
end;
$$;

-- The member as the team list shows it; the email comes from auth.users, which no API role reads.
create function private.member_json(p_member public.shop_members)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'shop_id', p_member.shop_id,
    'user_id', p_member.user_id,
    'role', p_member.role,
    'email', (select u.email from auth.users u where u.id = p_member.user_id),
    'joined_at', p_member.created_at
  )
$$;

create function private.shop_json(p_shop public.shops)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_shop.id,
    'name', p_shop.name,
    'max_balance', p_shop.max_balance,
    'pin_max_attempts', p_shop.pin_max_attempts,
    'pin_lock_minutes', p_shop.pin_lock_minutes,
    'created_at', p_shop.created_at
  )
$$;

-- Who may act where no shop exists yet (opening one): any user who still exists. Every call on a
-- shop is authorized by private.authorize_member instead; this is the one other place.
create function private.authorize_user(p_actor_user_id uuid)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  -- A verified JWT of a user deleted since: no one to act.
  if p_actor_user_id is null or not exists (select 1 from auth.users u where u.id = p_actor_user_id) then
    perform private.raise_error('not_authenticated', 'no acting user was given');
  end if;
end;
$$;

create function public.create_shop(p_actor_user_id uuid, p_name text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_name text;
  v_shop public.shops;
begin
  perform private.authorize_user(p_actor_user_id);
  v_name := private.check_name(p_name);
  insert into public.shops (name) values (v_name) returning * into v_shop;
  insert into public.shop_members (shop_id, user_id, role) values (v_shop.id, p_actor_user_id, 'owner');
  return jsonb_build_object('shop', private.shop_json(v_shop));
end;
$$;

-- A null argument leaves that setting as it is. The bounds are the table's own checks, answered
-- with the field that broke them.
create function public.update_shop(
  p_actor_user_id uuid,
  p_shop_id uuid,
  p_name text default null,
  p_max_balance bigint default null,
  p_pin_max_attempts integer default null,
  p_pin_lock_minutes integer default null
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
  perform private.lock_shop(p_shop_id);
  perform private.authorize_member(p_actor_user_id, p_shop_id, array['owner']);
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
  update public.shops s
  set name = coalesce(v_name, s.name),
      max_balance = coalesce(p_max_balance, s.max_balance),
      pin_max_attempts = coalesce(p_pin_max_attempts, s.pin_max_attempts),
      pin_lock_minutes = coalesce(p_pin_lock_minutes, s.pin_lock_minutes)
  where s.id = p_shop_id
  returning s.* into v_shop;
  return jsonb_build_object('shop', private.shop_json(v_shop));
end;
$$;

-- The user is found by email; user_not_found tells the edge function to invite
-- them and call again. An owner adds any role, a manager adds staff only.
create function public.add_shop_member(p_actor_user_id uuid, p_shop_id uuid, p_email text, p_role text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_actor_role text;
  v_user_id uuid;
  v_member public.shop_members;
begin
  perform private.lock_shop(p_shop_id);
  v_actor_role := private.authorize_member(p_actor_user_id, p_shop_id, array['owner', 'manager']);
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

create function public.update_shop_member(p_actor_user_id uuid, p_shop_id uuid, p_user_id uuid, p_role text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_member public.shop_members;
begin
  perform private.lock_shop(p_shop_id);
  perform private.authorize_member(p_actor_user_id, p_shop_id, array['owner']);
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

-- An owner removes anyone, a manager removes staff, and everyone may leave. The removed member's
-- next call is refused at once: every function and every policy reads the membership afresh.
create function public.remove_shop_member(p_actor_user_id uuid, p_shop_id uuid, p_user_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_actor_role text;
  v_member public.shop_members;
begin
  perform private.lock_shop(p_shop_id);
  v_actor_role := private.authorize_member(p_actor_user_id, p_shop_id, array['owner', 'manager', 'staff']);
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

-- The team list: any member sees their own shop's members with role, email and joining time. The
-- emails live in auth.users, which no API role may read; this function, executable by the service
-- role only like every RPC, hands out those of the caller's own shop and nothing else.
create function public.list_shop_members(p_actor_user_id uuid, p_shop_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if not exists (select 1 from public.shops s where s.id = p_shop_id) then
    perform private.raise_error('shop_not_found', 'no such shop', jsonb_build_object('shop_id', p_shop_id));
  end if;
  perform private.authorize_member(p_actor_user_id, p_shop_id, array['owner', 'manager', 'staff']);
  return jsonb_build_object('members', coalesce((
    select jsonb_agg(private.member_json(m) order by m.created_at, m.user_id)
    from public.shop_members m
    where m.shop_id = p_shop_id
  ), '[]'::jsonb));
end;
$$;

revoke all on function
  private.lock_shop(uuid),
  private.authorize_user(uuid),
  private.check_role(text),
  private.refuse_last_owner(uuid, uuid),
  private.member_of(uuid, uuid),
  private.member_json(public.shop_members),
  private.shop_json(public.shops)
from public, anon, authenticated, service_role;

revoke all on function
  public.create_shop(uuid, text),
  public.update_shop(uuid, uuid, text, bigint, integer, integer),
  public.add_shop_member(uuid, uuid, text, text),
  public.update_shop_member(uuid, uuid, uuid, text),
  public.remove_shop_member(uuid, uuid, uuid),
  public.list_shop_members(uuid, uuid)
from public, anon, authenticated;
grant execute on function
  public.create_shop(uuid, text),
  public.update_shop(uuid, uuid, text, bigint, integer, integer),
  public.add_shop_member(uuid, uuid, text, text),
  public.update_shop_member(uuid, uuid, uuid, text),
  public.remove_shop_member(uuid, uuid, uuid),
  public.list_shop_members(uuid, uuid)
to service_role;
