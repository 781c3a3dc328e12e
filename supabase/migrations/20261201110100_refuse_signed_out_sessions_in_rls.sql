-- A signed-out, banned or deleted user reads nothing through REST, even with an access token that has
-- not expired yet. GoTrue's sign-out deletes the session row; the token's `session_id` claim names it.
-- So the membership helper every policy uses answers no shops when the token's session is gone or
-- expired (`not_after`), or the user is banned (`banned_until` in the future) or soft-deleted. It is
-- still computed once per statement (an InitPlan): the extra cost is two primary-key probes, of
-- auth.sessions and auth.users. A token without a `session_id` claim was minted with the project's
-- secret, not issued by GoTrue to a user (who always gets one), and is judged by its user alone.
create or replace function private.member_shop_ids()
returns uuid[]
language sql
stable
security definer
set search_path = ''
as $$
  with caller as (
    select (select auth.uid()) as user_id,
           nullif((select auth.jwt()) ->> 'session_id', '')::uuid as session_id
  )
  select coalesce(array_agg(m.shop_id), '{}')
  from caller c
  join public.shop_members m on m.user_id = c.user_id
  where exists (
      select 1 from auth.users u
      where u.id = c.user_id
        and u.deleted_at is null
        and (u.banned_until is null or u.banned_until <= now())
    )
    and (
      c.session_id is null
      or exists (
        select 1 from auth.sessions s
        where s.id = c.session_id
          and s.user_id = c.user_id
          and (s.not_after is null or s.not_after > now())
      )
    )
$$;
