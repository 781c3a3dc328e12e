-- The membership helper of every RLS policy, and the sign of a movement, as plpgsql (like
-- is_signed_in in 20261201170000). Same names, signatures, rules and answers.
--
-- private.member_shop_ids() was `language sql` with a pinned search_path, which PostgreSQL never
-- inlines: the SQL-function executor keeps its plan in the calling expression's state, which lives
-- only as long as the statement, so every statement that reads an RLS table (every signed-in read)
-- parsed and planned its body anew. As plpgsql its queries are prepared once per session and kept:
-- measured about 65 µs a call instead of about 170 µs. It is still a stable function with no
-- argument, so the policies' `shop_id = any (private.member_shop_ids())` stays an index condition,
-- computed once per index scan (tests/database/indexes_and_advisors.test.ts checks the plans).
-- No user, a signed-out session, or a banned or deleted user: no shops, as before. The session
-- claim is read (and cast) first, as the one-time filter of the old body did.
create or replace function private.member_shop_ids()
returns uuid[]
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_user_id uuid := auth.uid();
  v_session_id uuid := nullif(auth.jwt() ->> 'session_id', '')::uuid;
  v_shop_ids uuid[];
begin
  if v_user_id is null or not private.is_signed_in(v_user_id, v_session_id) then
    return '{}';
  end if;
  select coalesce(array_agg(m.shop_id), '{}') into v_shop_ids
  from public.shop_members m
  where m.user_id = v_user_id;
  return v_shop_ids;
end;
$$;

-- The sign of each movement type, now with its one home in movement_sign: a plain CASE, which
-- plpgsql evaluates as a simple expression with no query to plan (it was a `language sql` query of
-- movement_signs(), planned anew in every transaction: 25 to 40 µs of every movement under
-- record_movement, by `npm run bench:profile`). A type the
-- ledger does not allow has no sign (null), as before.
create or replace function private.movement_sign(p_type text)
returns integer
language plpgsql
immutable
set search_path = ''
as $$
begin
  return case p_type
    when 'charge' then 1
    when 'bonus' then 1
    when 'deduct_cancel' then 1
    when 'deduct' then -1
    when 'charge_cancel' then -1
    when 'refund' then -1
  end;
end;
$$;

-- The reconciliation and the daily summaries still call movement_signs() once per query and
-- hash-join it by type: its rows are movement_sign over the six types the ledger's type check
-- (transactions_type_known) allows.
create or replace function private.movement_signs()
returns table (type text, sign integer)
language plpgsql
immutable
rows 6
set search_path = ''
as $$
begin
  return query
    select t.type, private.movement_sign(t.type)
    from unnest(array['charge', 'deduct', 'charge_cancel', 'deduct_cancel', 'bonus', 'refund']) as t(type);
end;
$$;

-- movement_signs() runs as its caller (the daily summaries view is security invoker, read by
-- authenticated members and the service role), and now calls movement_sign: the same two roles may
-- execute it. Both compute a constant table; the private schema is not exposed by PostgREST.
grant execute on function private.movement_sign(text) to authenticated, service_role;
