-- No foreign key from a product table to auth.users (issue 16): Citus refuses a key from a
-- distributed table to a table it does not manage, and making auth.users a reference table would drag
-- every table tied to it onto the coordinator. What the two keys guarded:
--
-- shop_members.user_id -> auth.users on delete cascade. A membership is written by add_shop_member,
--   which now reads the user in auth.users with a key-share lock (route_money_functions_by_shop), so
--   the user exists when the membership is written and cannot be deleted until it is committed, and
--   by create_shop for its actor, whom it has just found signed in. A deleted user's memberships go
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
