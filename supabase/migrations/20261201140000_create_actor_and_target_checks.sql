-- Who may act, in one place (issues 14 and 17). Every staff RPC starts by calling one of the
-- authorize_for_* helpers below with its actor, the actor's session and the roles that may call it:
-- a signed-out session, or a banned or deleted user, is `not_authenticated`; a target that does not
-- exist, or that belongs to a shop the actor is not a member of, is the target's own not-found error,
-- the very same body for both, so that another shop's ids cannot be told from random ones; a member
-- whose role may not do this is `insufficient_role`.

-- The rule RLS and the staff RPCs share: the user exists, is not soft-deleted, not banned (a ban that
-- has run out no longer counts), and the session, when the token names one, is the user's and has not
-- expired. GoTrue's sign-out deletes the session row. A token without a `session_id` claim was minted
-- with the project's secret, not issued by GoTrue to a user (who always gets one), and is judged by its
-- user alone. Two primary-key probes.
create function private.is_signed_in(p_user_id uuid, p_session_id uuid)
returns boolean
language sql
stable
set search_path = ''
as $$
  select exists (
      select 1 from auth.users u
      where u.id = p_user_id
        and u.deleted_at is null
        and (u.banned_until is null or u.banned_until <= now())
    )
    and (
      p_session_id is null
      or exists (
        select 1 from auth.sessions s
        where s.id = p_session_id
          and s.user_id = p_user_id
          and (s.not_after is null or s.not_after > now())
      )
    )
$$;

-- RLS's membership helper, now through the shared rule (same answer as migration
-- 20261201110100; still computed once per statement as an InitPlan).
create or replace function private.member_shop_ids()
returns uuid[]
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(array_agg(m.shop_id), '{}')
  from public.shop_members m
  where m.user_id = (select auth.uid())
    and private.is_signed_in((select auth.uid()), nullif((select auth.jwt()) ->> 'session_id', '')::uuid)
$$;

-- A staff RPC's caller: the user the edge function verified, in a session still signed in.
create function private.authorize_actor(p_actor_user_id uuid, p_actor_session_id uuid)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_actor_user_id is null then
    perform private.raise_error('not_authenticated', 'no acting user was given');
  end if;
  if not private.is_signed_in(p_actor_user_id, p_actor_session_id) then
    perform private.raise_error('not_authenticated', 'the session was signed out or expired, or the user was banned or deleted');
  end if;
end;
$$;

-- The actor's role in the shop that owns the target (p_shop_id null: the target was not found). Not a
-- member answers exactly what an unknown target answers: p_not_found ('customer_not_found', ...) with
-- the id the caller gave ({ "customer_id": ... }). The details are built only when refusing: this runs
-- on every staff call.
create function private.authorize_member(
  p_actor_user_id uuid,
  p_shop_id uuid,
  p_roles text[],
  p_not_found text,
  p_target_id uuid
)
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  v_role text;
  v_target text;
begin
  select m.role into v_role
  from public.shop_members m
  where m.shop_id = p_shop_id and m.user_id = p_actor_user_id;
  if not found then
    v_target := replace(p_not_found, '_not_found', '');
    perform private.raise_error(p_not_found, 'no such ' || v_target, jsonb_build_object(v_target || '_id', p_target_id));
  end if;
  if not (v_role = any (p_roles)) then
    perform private.raise_error('insufficient_role', format('a %s may not do this', v_role),
      jsonb_build_object('role', v_role, 'allowed_roles', to_jsonb(p_roles)));
  end if;
  return v_role;
end;
$$;

-- The shop itself is the target (its settings, its team, a new customer, kiosk or promotion in it).
-- With p_lock the shop row is locked (no key update: ledger inserts go on) before the role is read, so
-- that team changes see the actor's role after any concurrent change committed; membership is checked
-- before the lock too, so that no outsider ever waits for or holds another shop's lock.
create function private.authorize_for_shop(
  p_actor_user_id uuid,
  p_actor_session_id uuid,
  p_shop_id uuid,
  p_roles text[],
  p_lock boolean default false
)
returns text
language plpgsql
set search_path = ''
as $$
begin
  perform private.authorize_actor(p_actor_user_id, p_actor_session_id);
  if p_lock then
    perform private.authorize_member(p_actor_user_id, p_shop_id, array['owner', 'manager', 'staff'], 'shop_not_found', p_shop_id);
    perform 1 from public.shops s where s.id = p_shop_id for no key update;
  end if;
  return private.authorize_member(p_actor_user_id, p_shop_id, p_roles, 'shop_not_found', p_shop_id);
end;
$$;

-- With p_lock the customer row is then locked (after the membership check: an outsider never holds a
-- lock on another shop's customer) and returned as it is under the lock.
create function private.authorize_for_customer(
  p_actor_user_id uuid,
  p_actor_session_id uuid,
  p_customer_id uuid,
  p_roles text[],
  p_lock boolean default false
)
returns public.customers
language plpgsql
set search_path = ''
as $$
declare
  v_customer public.customers;
begin
  perform private.authorize_actor(p_actor_user_id, p_actor_session_id);
  select c.* into v_customer from public.customers c where c.id = p_customer_id;
  perform private.authorize_member(p_actor_user_id, v_customer.shop_id, p_roles, 'customer_not_found', p_customer_id);
  if p_lock then
    select c.* into v_customer from public.customers c where c.id = p_customer_id for update;
  end if;
  return v_customer;
end;
$$;

create function private.authorize_for_transaction(
  p_actor_user_id uuid,
  p_actor_session_id uuid,
  p_transaction_id uuid,
  p_roles text[]
)
returns public.transactions
language plpgsql
stable
set search_path = ''
as $$
declare
  v_transaction public.transactions;
begin
  perform private.authorize_actor(p_actor_user_id, p_actor_session_id);
  select t.* into v_transaction from public.transactions t where t.id = p_transaction_id;
  perform private.authorize_member(p_actor_user_id, v_transaction.shop_id, p_roles, 'transaction_not_found', p_transaction_id);
  return v_transaction;
end;
$$;

create function private.authorize_for_kiosk(
  p_actor_user_id uuid,
  p_actor_session_id uuid,
  p_kiosk_id uuid,
  p_roles text[]
)
returns public.kiosks
language plpgsql
stable
set search_path = ''
as $$
declare
  v_kiosk public.kiosks;
begin
  perform private.authorize_actor(p_actor_user_id, p_actor_session_id);
  select k.* into v_kiosk from public.kiosks k where k.id = p_kiosk_id;
  perform private.authorize_member(p_actor_user_id, v_kiosk.shop_id, p_roles, 'kiosk_not_found', p_kiosk_id);
  return v_kiosk;
end;
$$;

create function private.authorize_for_promotion(
  p_actor_user_id uuid,
  p_actor_session_id uuid,
  p_promotion_id uuid,
  p_roles text[]
)
returns public.promotions
language plpgsql
stable
set search_path = ''
as $$
declare
  v_promotion public.promotions;
begin
  perform private.authorize_actor(p_actor_user_id, p_actor_session_id);
  select p.* into v_promotion from public.promotions p where p.id = p_promotion_id;
  perform private.authorize_member(p_actor_user_id, v_promotion.shop_id, p_roles, 'promotion_not_found', p_promotion_id);
  return v_promotion;
end;
$$;

revoke all on function
  private.is_signed_in(uuid, uuid),
  private.authorize_actor(uuid, uuid),
  private.authorize_member(uuid, uuid, text[], text, uuid),
  private.authorize_for_shop(uuid, uuid, uuid, text[], boolean),
  private.authorize_for_customer(uuid, uuid, uuid, text[], boolean),
  private.authorize_for_transaction(uuid, uuid, uuid, text[]),
  private.authorize_for_kiosk(uuid, uuid, uuid, text[]),
  private.authorize_for_promotion(uuid, uuid, uuid, text[])
from public, anon, authenticated, service_role;
