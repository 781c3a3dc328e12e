-- The session check, planned once per session instead of once per call (issue 13). It was
-- `language sql` with a pinned search_path, which PostgreSQL never inlines: a call from plpgsql goes
-- through the SQL-function executor, whose plan lives in the calling expression's per-transaction
-- state, so every money movement (one transaction each) parsed and planned its query anew.
-- `npm run bench:profile` put that at about 150 µs of a deduct's 890 µs in the executor (under
-- authorize_actor). As plpgsql, its queries are prepared once per session and kept. Same rule, same
-- answers, same name and signature: RLS (member_shop_ids) and the staff RPCs still share the one
-- session rule. (The sign of a movement had the same cost: 20261201170200.)

create or replace function private.is_signed_in(p_user_id uuid, p_session_id uuid)
returns boolean
language plpgsql
stable
set search_path = ''
as $$
begin
  -- One probe per statement, and the session's null test outside them: in one expression with the
  -- probes, a null session made the custom plan cheaper than the generic one, so the plan cache kept
  -- planning the statement anew on every call.
  if not exists (
    select 1 from auth.users u
    where u.id = p_user_id
      and u.deleted_at is null
      and (u.banned_until is null or u.banned_until <= now())
  ) then
    return false;
  end if;
  if p_session_id is null then
    return true;
  end if;
  return exists (
    select 1 from auth.sessions s
    where s.id = p_session_id
      and s.user_id = p_user_id
      and (s.not_after is null or s.not_after > now())
  );
end;
$$;
