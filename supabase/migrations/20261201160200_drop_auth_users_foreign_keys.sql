-- No foreign key from a product table to auth.users (issue 16): Citus refuses a key from a
-- distributed table to a table it does not manage, and making auth.users a reference table would drag
-- every table tied to it onto the coordinator. What the two keys guarded:
--
-- shop_members.user_id -> auth.users on delete cascade. A membership is written by add_shop_member,
--   which now reads the user in auth.users with a key-share lock (route_money_functions_by_shop), so
--   the user exists when the membership is written and cannot be deleted until it is committed, and
--   by create_shop for its actor, which takes the same lock (below). A deleted user's memberships go
--   with them through the trigger below, on auth.users, which is no product table.
-- transactions.actor_user_id -> auth.users. The actor is checked when the row is written: every staff
--   money function first verifies that the actor is a signed-in user and a member of the customer's
--   shop (private.authorize_for_*). After that the column is history: a user deleted later leaves
--   the rows they wrote as they were (before, the key refused to delete such a user).
alter table public.shop_members drop constraint shop_members_user_id_fkey;
alter table public.transactions drop constraint transactions_actor_user_id_fkey;

create function private.remove_deleted_users_memberships()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  delete from public.shop_members m where m.user_id = old.id;
  return old;
end;
$$;

revoke all on function private.remove_deleted_users_memberships() from public, anon, authenticated, service_role;

create trigger remove_deleted_users_memberships
after delete on auth.users
for each row execute function private.remove_deleted_users_memberships();

-- create_shop writes its actor's first membership. Its session check reads auth.users without a lock,
-- so a user deleted between that read and the insert would leave an owner behind (the trigger above
-- ran before the membership existed): it key-share-locks its actor as add_shop_member locks the user
-- it adds, and a user deleted meanwhile is refused.
create or replace function public.create_shop(p_actor_user_id uuid, p_name text, p_actor_session_id uuid default null)
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
  perform 1 from auth.users u where u.id = p_actor_user_id for key share;
  if not found then
    perform private.raise_error('not_authenticated', 'the session was signed out or expired, or the user was banned or deleted');
  end if;
  v_name := private.check_name(p_name);
  insert into public.shops (name) values (v_name) returning * into v_shop;
  insert into public.shop_members (shop_id, user_id, role) values (v_shop.id, p_actor_user_id, 'owner');
  return jsonb_build_object('shop', private.shop_json(v_shop));
end;
$$;
