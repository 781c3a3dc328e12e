-- What every RPC function of the later migrations shares: the error table, who may act, and
-- the idempotency key. These live in the private schema, which PostgREST does not expose; they run
-- only inside the public security definer functions (as the owner), so no API role may execute them.

-- The one place that maps a refusal's code to its HTTP status (docs/contract.md, "Errors").
-- SQLSTATE 'PGRST' makes PostgREST answer with the status and headers given in DETAIL and with
-- MESSAGE, a JSON object {code, message, details, hint}, as the response body. PostgREST 12 reads
-- details and hint as text only (a JSON object there fails the whole error with PGRST121), so the
-- details travel as a JSON document encoded in a string: the edge functions parse it back.
-- A caller reaching the function over plain SQL gets the same JSON as the error message.
create function private.raise_error(p_code text, p_message text, p_details jsonb default null)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_status integer := case p_code
    when 'validation_failed' then 400
    when 'idempotency_key_required' then 400
    when 'invalid_amount' then 400
    when 'invalid_pin_format' then 400
    when 'invalid_phone' then 400
    when 'invalid_name' then 400
    when 'not_authenticated' then 401
    when 'invalid_kiosk_key' then 401
    when 'pin_invalid' then 401
    when 'kiosk_deactivated' then 403
    when 'not_shop_member' then 403
    when 'insufficient_role' then 403
    when 'customer_not_found' then 404
    when 'transaction_not_found' then 404
    when 'kiosk_not_found' then 404
    when 'shop_not_found' then 404
    when 'insufficient_balance' then 409
    when 'balance_ceiling_exceeded' then 409
    when 'already_cancelled' then 409
    when 'cannot_cancel_reversal' then 409
    when 'idempotency_key_reused' then 409
    when 'phone_taken' then 409
    when 'pin_not_set' then 409
    when 'pin_locked' then 423
    else 500
  end;
begin
  raise sqlstate 'PGRST' using
    message = jsonb_build_object('code', p_code, 'message', p_message, 'details', p_details::text, 'hint', null)::text,
    detail = jsonb_build_object('status', v_status, 'headers', '{}'::jsonb)::text;
end;
$$;

-- The staff member acting must belong to the shop that owns the target, with one of the roles.
create function private.authorize_member(p_actor_user_id uuid, p_shop_id uuid, p_roles text[])
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  v_role text;
begin
  if p_actor_user_id is null then
    perform private.raise_error('not_authenticated', 'no acting user was given');
  end if;
  select m.role into v_role
  from public.shop_members m
  where m.shop_id = p_shop_id and m.user_id = p_actor_user_id;
  if not found then
    perform private.raise_error('not_shop_member', 'the acting user is not a member of this shop');
  end if;
  if not (v_role = any (p_roles)) then
    perform private.raise_error('insufficient_role', format('a %s may not do this', v_role),
      jsonb_build_object('role', v_role, 'allowed_roles', to_jsonb(p_roles)));
  end if;
  return v_role;
end;
$$;

-- A kiosk proves itself with its device key; only the key's sha256 is stored. Seeing the kiosk is
-- recorded at most once a minute: every payment writing the kiosk row would queue all of one
-- kiosk's payments behind each other's row lock.
create function private.authorize_kiosk(p_kiosk_key text)
returns public.kiosks
language plpgsql
set search_path = ''
as $$
declare
  v_kiosk public.kiosks;
begin
  if p_kiosk_key is null or p_kiosk_key = '' then
    perform private.raise_error('invalid_kiosk_key', 'no kiosk key was given');
  end if;
  select k.* into v_kiosk
  from private.kiosk_credentials c
  join public.kiosks k on k.id = c.kiosk_id
  where c.key_hash = encode(extensions.digest(p_kiosk_key, 'sha256'), 'hex');
  if not found then
    perform private.raise_error('invalid_kiosk_key', 'the kiosk key is unknown');
  end if;
  if not v_kiosk.active then
    perform private.raise_error('kiosk_deactivated', 'this kiosk was deactivated',
      jsonb_build_object('kiosk_id', v_kiosk.id));
  end if;
  update public.kiosks k
  set last_seen_at = now()
  where k.id = v_kiosk.id
    and (k.last_seen_at is null or k.last_seen_at < now() - interval '1 minute');
  return v_kiosk;
end;
$$;

create function private.check_amount(p_amount bigint)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_amount is null or p_amount < 1 or p_amount > 10000000 then
    perform private.raise_error('invalid_amount', 'the amount must be a whole number of won from 1 to 10,000,000',
      jsonb_build_object('amount', p_amount));
  end if;
end;
$$;

create function private.check_memo(p_memo text)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if char_length(p_memo) > 500 then
    perform private.raise_error('validation_failed', 'the memo is longer than 500 characters',
      jsonb_build_object('field', 'memo', 'max_length', 500));
  end if;
end;
$$;

-- Serialises every call that carries one shop's idempotency key, whichever customer it names, until
-- the caller's transaction ends: the second of two concurrent calls then finds the first one's
-- ledger row, and the key is applied once. The unique (shop_id, idempotency_key) constraint is the
-- backstop should two keys ever share a lock (a hash collision only costs waiting).
create function private.lock_idempotency_key(p_shop_id uuid, p_idempotency_key text)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_idempotency_key is null or char_length(p_idempotency_key) > 200 or p_idempotency_key !~ '^[\x21-\x7e]+$' then
    perform private.raise_error('idempotency_key_required',
      'a money call needs an idempotency key of 1 to 200 visible ASCII characters');
  end if;
  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended(p_shop_id::text || '/' || p_idempotency_key, 0));
end;
$$;

-- What every money function answers; a replay answers the original body, so its balance is the
-- balance right after the original movement, not today's.
create function private.money_result(p_transaction public.transactions, p_replayed boolean)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select jsonb_build_object(
    'transaction', jsonb_build_object(
      'id', p_transaction.id,
      'type', p_transaction.type,
      'amount', p_transaction.amount,
      'balance_after', p_transaction.balance_after,
      'created_at', p_transaction.created_at,
      'customer_id', p_transaction.customer_id,
      'original_transaction_id', p_transaction.original_transaction_id
    ),
    'balance', p_transaction.balance_after,
    'replayed', p_replayed
  )
$$;

-- After lock_idempotency_key: the money result of the earlier call with this key when it asked for
-- exactly the same movement, null when the key is new, and idempotency_key_reused otherwise.
create function private.replay_of(
  p_shop_id uuid,
  p_idempotency_key text,
  p_type text,
  p_customer_id uuid,
  p_amount bigint,
  p_original_transaction_id uuid,
  p_memo text,
  p_actor_user_id uuid,
  p_actor_kiosk_id uuid
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_earlier public.transactions;
begin
  select t.* into v_earlier
  from public.transactions t
  where t.shop_id = p_shop_id and t.idempotency_key = p_idempotency_key;
  if not found then
    return null;
  end if;
  if v_earlier.type is not distinct from p_type
    and v_earlier.customer_id = p_customer_id
    and v_earlier.amount = p_amount
    and v_earlier.original_transaction_id is not distinct from p_original_transaction_id
    and v_earlier.memo is not distinct from p_memo
    and v_earlier.actor_user_id is not distinct from p_actor_user_id
    and v_earlier.actor_kiosk_id is not distinct from p_actor_kiosk_id
  then
    return private.money_result(v_earlier, true);
  end if;
  perform private.raise_error('idempotency_key_reused',
    'this idempotency key was already used in this shop for another request',
    jsonb_build_object('transaction_id', v_earlier.id));
  return null;
end;
$$;

-- The one place a balance changes: on a customer row the caller has locked FOR UPDATE, checks the
-- floor and the shop's ceiling, writes the ledger row with balance_after, then the balance.
create function private.record_movement(
  p_customer public.customers,
  p_type text,
  p_amount bigint,
  p_idempotency_key text,
  p_actor_user_id uuid,
  p_actor_kiosk_id uuid,
  p_memo text,
  p_original_transaction_id uuid
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_signed bigint := case when p_type in ('charge', 'deduct_cancel') then p_amount else -p_amount end;
  v_new_balance bigint := p_customer.current_balance + v_signed;
  v_max_balance bigint;
  v_transaction public.transactions;
begin
  if v_new_balance < 0 then
    perform private.raise_error('insufficient_balance', 'the balance is too low for this',
      jsonb_build_object('balance', p_customer.current_balance, 'amount', p_amount));
  end if;
  if v_signed > 0 then
    select s.max_balance into v_max_balance from public.shops s where s.id = p_customer.shop_id;
    if v_new_balance > v_max_balance then
      perform private.raise_error('balance_ceiling_exceeded', 'the balance would exceed the shop''s ceiling',
        jsonb_build_object('balance', p_customer.current_balance, 'amount', p_amount, 'max_balance', v_max_balance));
    end if;
  end if;

  insert into public.transactions (
    shop_id, customer_id, type, amount, balance_after, original_transaction_id,
    idempotency_key, actor_user_id, actor_kiosk_id, memo
  ) values (
    p_customer.shop_id, p_customer.id, p_type, p_amount, v_new_balance, p_original_transaction_id,
    p_idempotency_key, p_actor_user_id, p_actor_kiosk_id, p_memo
  )
  returning * into v_transaction;

  update public.customers c
  set current_balance = v_new_balance, updated_at = now()
  where c.id = p_customer.id;

  return private.money_result(v_transaction, false);
end;
$$;

revoke all on function
  private.raise_error(text, text, jsonb),
  private.authorize_member(uuid, uuid, text[]),
  private.authorize_kiosk(text),
  private.check_amount(bigint),
  private.check_memo(text),
  private.lock_idempotency_key(uuid, text),
  private.money_result(public.transactions, boolean),
  private.replay_of(uuid, text, text, uuid, bigint, uuid, text, uuid, uuid),
  private.record_movement(public.customers, text, bigint, text, uuid, uuid, text, uuid)
from public, anon, authenticated, service_role;
