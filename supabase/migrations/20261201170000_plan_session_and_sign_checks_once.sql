-- The session check and the sign of a movement, planned once per session instead of once per call
-- (issue 13). Both were `language sql` with a pinned search_path, which PostgreSQL never inlines: a
-- call from plpgsql goes through the SQL-function executor, whose plan lives in the calling
-- expression's per-transaction state, so every money movement (one transaction each) parsed and
-- planned their queries anew. `npm run bench:profile` put that at about 150 µs of a deduct's 890 µs
-- in the executor for is_signed_in (under authorize_actor) and 25 to 40 µs for movement_sign
-- (under record_movement). As plpgsql, their queries are prepared once per session and kept.
-- Same rules, same answers, same names and signatures: RLS (member_shop_ids) and the staff RPCs
-- still share the one session rule, and the signs still have their one home in movement_signs().

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

-- The reconciliation and the daily summaries call it once per query, as before.
create or replace function private.movement_signs()
returns table (type text, sign integer)
language plpgsql
immutable
rows 6
set search_path = ''
as $$
begin
  return query values ('charge', 1), ('bonus', 1), ('deduct_cancel', 1), ('deduct', -1), ('charge_cancel', -1), ('refund', -1);
end;
$$;

create or replace function private.movement_sign(p_type text)
returns integer
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_sign integer;
begin
  select s.sign into v_sign from private.movement_signs() s where s.type = p_type;
  return v_sign;
end;
$$;
