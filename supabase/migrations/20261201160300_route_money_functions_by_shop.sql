-- Every money, PIN and customer function touches the rows of one shop, and names it in every statement
-- (issue 16). On Citus a statement that names the distribution column is routed to the one node that
-- holds the shop; `select ... for update` without it is refused outright ("could not run distributed
-- query with FOR UPDATE/SHARE commands"), which is what failed charge_balance, deduct_balance and
-- kiosk_pay on a three-node cluster.
--
-- How a function learns the shop:
-- - staff functions that name a customer or a transaction take a trailing p_shop_id uuid default null.
--   Given, it is the shop of every statement; a customer or transaction that is not of that shop is
--   answered exactly as an unknown id (customer_not_found, transaction_not_found: 404). Not given (an
--   older caller: positional SQL, supabase-js without it), the shop is read from the customer or the
--   transaction in one lookup by id (customers_id_idx, transactions_pkey), and from then on every
--   statement, each row lock above all, names shop_id and id.
-- - kiosk functions find the shop from the kiosk's key, in one lookup by its hash
--   (kiosk_credentials_key_hash_idx), and lock by shop from there.
-- - functions that take p_shop_id already (create_customer, register_kiosk, the team and shop
--   functions) and those that name a kiosk or promotion (found with its shop by
--   private.authorize_for_kiosk / _for_promotion) need no new argument.
-- Who may act stays in the private.authorize_for_* family, now routed by shop as well.
--
-- Fewer statements on the way to a movement (issue 13), with the same rules and answers: each statement
-- a plpgsql function runs starts an executor of its own, and `npm run bench:profile` and perf put
-- executor start-up, not the lookups, at most of what the checks before the ledger write cost. So
-- authorize_for_customer reads the customer and the actor's role in one query and calls
-- authorize_actor and authorize_member only to refuse (the refusals, their order and their bodies stay
-- in one place each; a membership changed between the two reads is judged as authorize_member reads
-- it); kiosk_customer checks the phone and PIN formats as plain conditions that call the raising helpers
-- only to refuse; kiosk_pay locks the customer and reads the shop's PIN settings in one statement.
-- A new charge no longer reads back its own bonus row: move_balance hands the row it wrote to
-- money_result, and only a replayed charge looks its bonus up. The cancel of a charge reads its earlier
-- reversal and its bonus in one statement. The refund method is compared in private.replay_of, the one
-- place a retried request is told from another under the same key (refund_balance compared it itself,
-- repeating replay_of's idempotency_key_reused refusal); only refund rows have a method.
--
-- Functions whose arguments change are dropped and created again (PostgREST must not see two
-- overloads), with the grants they had: public ones executable by service_role only (and
-- customer_statement by authenticated, as RLS applies to it); private ones by no API role.

-- 1. Who may act, by shop.

drop function private.authorize_for_customer(uuid, uuid, uuid, text[], boolean);
create function private.authorize_for_customer(
  p_actor_user_id uuid,
  p_actor_session_id uuid,
  p_customer_id uuid,
  p_roles text[],
  p_lock boolean default false,
  p_shop_id uuid default null
)
returns public.customers
language plpgsql
set search_path = ''
as $$
declare
  v_found record;
  v_customer public.customers;
begin
  if p_actor_user_id is null or not private.is_signed_in(p_actor_user_id, p_actor_session_id) then
    perform private.authorize_actor(p_actor_user_id, p_actor_session_id);
  end if;
  if p_shop_id is null then
    select c as customer, m.role into v_found
    from public.customers c
    left join public.shop_members m on m.shop_id = c.shop_id and m.user_id = p_actor_user_id
    where c.id = p_customer_id;
  else
    select c as customer, m.role into v_found
    from public.customers c
    left join public.shop_members m on m.shop_id = c.shop_id and m.user_id = p_actor_user_id
    where c.shop_id = p_shop_id and c.id = p_customer_id;
  end if;
  v_customer := v_found.customer;
  -- A customer of another shop than p_shop_id, or of a shop the actor is not a member of, was not
  -- found: the same 404 as an unknown id.
  if v_found.role is null or not (v_found.role = any (p_roles)) then
    perform private.authorize_member(p_actor_user_id, v_customer.shop_id, p_roles, 'customer_not_found', p_customer_id);
  end if;
  if p_lock then
    select c.* into v_customer from public.customers c
    where c.shop_id = v_customer.shop_id and c.id = p_customer_id
    for update;
  end if;
  return v_customer;
end;
$$;
revoke all on function private.authorize_for_customer(uuid, uuid, uuid, text[], boolean, uuid)
from public, anon, authenticated, service_role;

drop function private.authorize_for_transaction(uuid, uuid, uuid, text[]);
create function private.authorize_for_transaction(
  p_actor_user_id uuid,
  p_actor_session_id uuid,
  p_transaction_id uuid,
  p_roles text[],
  p_shop_id uuid default null
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
  if p_shop_id is null then
    select t.* into v_transaction from public.transactions t where t.id = p_transaction_id;
  else
    select t.* into v_transaction from public.transactions t where t.shop_id = p_shop_id and t.id = p_transaction_id;
  end if;
  perform private.authorize_member(p_actor_user_id, v_transaction.shop_id, p_roles, 'transaction_not_found', p_transaction_id);
  return v_transaction;
end;
$$;
revoke all on function private.authorize_for_transaction(uuid, uuid, uuid, text[], uuid)
from public, anon, authenticated, service_role;

create or replace function private.authorize_kiosk(p_kiosk_key text)
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
  -- The one lookup without the shop: the key's hash is all a kiosk presents, and it gives the shop.
  select k.* into v_kiosk
  from private.kiosk_credentials c
  join public.kiosks k on k.shop_id = c.shop_id and k.id = c.kiosk_id
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
  where k.shop_id = v_kiosk.shop_id and k.id = v_kiosk.id
    and (k.last_seen_at is null or k.last_seen_at < now() - interval '1 minute');
  return v_kiosk;
end;
$$;

-- 2. The one place a balance changes, and the answer it gives.

drop function private.record_movement(uuid, text, bigint, bigint, text, uuid, uuid, text, uuid, uuid, text, bigint, text);
create function private.record_movement(
  p_shop_id uuid,
  p_customer_id uuid,
  p_type text,
  p_amount bigint,
  p_bonus_amount bigint,
  p_idempotency_key text,
  p_actor_user_id uuid,
  p_actor_kiosk_id uuid,
  p_memo text,
  p_original_transaction_id uuid,
  p_promotion_id uuid default null,
  p_refund_method text default null,
  p_refund_fee bigint default null,
  p_refund_rule text default null
)
returns public.transactions
language plpgsql
set search_path = ''
as $$
declare
  v_locked record;
  v_sign integer := private.movement_sign(p_type);
  v_bonus bigint := p_bonus_amount;
  v_paid_after bigint;
  v_bonus_after bigint;
  v_transaction public.transactions;
begin
  select c.id, c.shop_id, c.name, c.current_balance, c.paid_balance, c.bonus_balance, c.ledger_sequence, c.closed_at,
         s.max_balance, s.spend_bonus_first
    into v_locked
  from public.customers c
  join public.shops s on s.id = c.shop_id
  where c.shop_id = p_shop_id and c.id = p_customer_id
  for update of c;
  if v_locked.closed_at is not null then
    perform private.raise_error('customer_closed', 'this customer was closed',
      jsonb_build_object('customer_id', v_locked.id, 'closed_at', v_locked.closed_at));
  end if;
  if v_bonus is null then
    v_bonus := case
      when p_type = 'deduct' and v_locked.spend_bonus_first then least(p_amount, v_locked.bonus_balance)
      when p_type = 'deduct' then greatest(p_amount - v_locked.paid_balance, 0)
      else 0
    end;
  end if;
  v_paid_after := v_locked.paid_balance + v_sign * (p_amount - v_bonus);
  v_bonus_after := v_locked.bonus_balance + v_sign * v_bonus;

  if v_paid_after < 0 or v_bonus_after < 0 then
    perform private.raise_error('insufficient_balance', 'the balance is too low for this',
      jsonb_build_object('balance', v_locked.current_balance, 'paid_balance', v_locked.paid_balance,
        'bonus_balance', v_locked.bonus_balance, 'amount', p_amount));
  end if;
  if v_sign > 0 and v_paid_after + v_bonus_after > v_locked.max_balance then
    perform private.raise_error('balance_ceiling_exceeded', 'the balance would exceed the shop''s ceiling',
      jsonb_build_object('balance', v_locked.current_balance, 'amount', p_amount, 'max_balance', v_locked.max_balance));
  end if;

  insert into public.transactions (
    shop_id, customer_id, type, amount, bonus_amount, balance_after, bonus_balance_after, sequence,
    original_transaction_id, idempotency_key, actor_user_id, actor_kiosk_id, memo, promotion_id,
    refund_method, refund_fee, refund_rule, created_at
  ) values (
    v_locked.shop_id, v_locked.id, p_type, p_amount, v_bonus, v_paid_after + v_bonus_after, v_bonus_after,
    v_locked.ledger_sequence + 1, p_original_transaction_id, p_idempotency_key, p_actor_user_id,
    p_actor_kiosk_id, p_memo, p_promotion_id, p_refund_method, p_refund_fee, p_refund_rule, clock_timestamp()
  )
  returning * into v_transaction;

  update public.customers c
  set current_balance = v_paid_after + v_bonus_after,
      bonus_balance = v_bonus_after,
      ledger_sequence = v_transaction.sequence,
      updated_at = now()
  where c.shop_id = v_locked.shop_id and c.id = v_locked.id;

  -- The live screens' payload (create_movement_broadcast): the movement and the balances it left;
  -- never a PIN, a key hash or an idempotency key.
  perform realtime.send(
    jsonb_build_object(
      'shop_id', v_transaction.shop_id,
      'transaction', jsonb_build_object(
        'id', v_transaction.id,
        'type', v_transaction.type,
        'amount', v_transaction.amount,
        'paid_amount', v_transaction.paid_amount,
        'bonus_amount', v_transaction.bonus_amount,
        'balance_after', v_transaction.balance_after,
        'paid_balance_after', v_transaction.paid_balance_after,
        'bonus_balance_after', v_transaction.bonus_balance_after,
        'sequence', v_transaction.sequence,
        'created_at', v_transaction.created_at,
        'customer_id', v_transaction.customer_id,
        'original_transaction_id', v_transaction.original_transaction_id,
        'actor_user_id', v_transaction.actor_user_id,
        'actor_kiosk_id', v_transaction.actor_kiosk_id,
        'memo', v_transaction.memo
      ),
      'customer', jsonb_build_object(
        'id', v_locked.id,
        'name', v_locked.name,
        'balance', v_transaction.balance_after,
        'paid_balance', v_transaction.paid_balance_after,
        'bonus_balance', v_transaction.bonus_balance_after
      )
    ),
    'movement',
    'shop:' || v_transaction.shop_id::text,
    true
  );
  return v_transaction;
end;
$$;
revoke all on function private.record_movement(uuid, uuid, text, bigint, bigint, text, uuid, uuid, text, uuid, uuid, text, bigint, text)
from public, anon, authenticated, service_role;

-- A new charge hands money_result the bonus it just wrote (p_bonus; null when no promotion gave one),
-- so only a replayed charge looks its bonus up again. Its arguments change: dropped and created again.
drop function private.money_result(public.transactions, boolean);
create function private.money_result(
  p_transaction public.transactions,
  p_replayed boolean,
  p_bonus public.transactions default null
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_last public.transactions := p_transaction;
  v_bonus public.transactions := p_bonus;
  v_result jsonb;
begin
  -- The bonus of a charge: given by the call that just wrote it (none given: the charge got none),
  -- or, for a replay, the one an earlier call wrote.
  if p_transaction.type = 'charge' and p_replayed then
    select t.* into v_bonus
    from public.transactions t
    where t.shop_id = p_transaction.shop_id and t.original_transaction_id = p_transaction.id and t.type = 'bonus';
  end if;
  if p_transaction.type = 'charge' and v_bonus.id is not null then
    v_last := v_bonus;
  end if;
  v_result := jsonb_build_object(
    'transaction', jsonb_build_object(
      'id', p_transaction.id,
      'type', p_transaction.type,
      'amount', p_transaction.amount,
      'paid_amount', p_transaction.paid_amount,
      'bonus_amount', p_transaction.bonus_amount,
      'balance_after', p_transaction.balance_after,
      'paid_balance_after', p_transaction.paid_balance_after,
      'bonus_balance_after', p_transaction.bonus_balance_after,
      'sequence', p_transaction.sequence,
      'created_at', p_transaction.created_at,
      'customer_id', p_transaction.customer_id,
      'original_transaction_id', p_transaction.original_transaction_id
    ),
    'balance', v_last.balance_after,
    'paid_balance', v_last.paid_balance_after,
    'bonus_balance', v_last.bonus_balance_after,
    'replayed', p_replayed
  );
  if p_transaction.type = 'charge' then
    v_result := v_result || jsonb_build_object(
      'bonus', coalesce(v_bonus.amount, 0),
      'promotion_id', v_bonus.promotion_id,
      'bonus_transaction_id', v_bonus.id);
  elsif p_transaction.type = 'refund' then
    v_result := v_result || jsonb_build_object('refund', jsonb_build_object(
      'method', p_transaction.refund_method,
      'paid_amount', p_transaction.paid_amount,
      'bonus_forfeited', p_transaction.bonus_amount,
      'fee', p_transaction.refund_fee,
      'payout', p_transaction.paid_amount - p_transaction.refund_fee,
      'rule', p_transaction.refund_rule));
  end if;
  return v_result;
end;
$$;
revoke all on function private.money_result(public.transactions, boolean, public.transactions)
from public, anon, authenticated, service_role;

drop function private.replay_of(uuid, text, text, uuid, bigint, uuid, text, uuid, uuid);

-- After lock_idempotency_key: the money result of the earlier call with this key when it asked for
-- exactly the same movement, null when the key is new, and idempotency_key_reused otherwise. A null
-- p_amount matches any earlier amount: a cancel without an amount (the whole remainder) and a refund
-- (the whole balance) cannot recompute on a retry what they moved the first time, since the first
-- time changed it. p_refund_method is compared like the other fields (null for all but refunds).
create function private.replay_of(
  p_shop_id uuid,
  p_idempotency_key text,
  p_type text,
  p_customer_id uuid,
  p_amount bigint,
  p_original_transaction_id uuid,
  p_memo text,
  p_actor_user_id uuid,
  p_actor_kiosk_id uuid,
  p_refund_method text default null
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
    and (p_amount is null or v_earlier.amount = p_amount)
    and v_earlier.original_transaction_id is not distinct from p_original_transaction_id
    and v_earlier.memo is not distinct from p_memo
    and v_earlier.actor_user_id is not distinct from p_actor_user_id
    and v_earlier.actor_kiosk_id is not distinct from p_actor_kiosk_id
    and v_earlier.refund_method is not distinct from p_refund_method
  then
    return private.money_result(v_earlier, true);
  end if;
  perform private.raise_error('idempotency_key_reused',
    'this idempotency key was already used in this shop for another request',
    jsonb_build_object('transaction_id', v_earlier.id));
  return null;
end;
$$;

revoke all on function private.replay_of(uuid, text, text, uuid, bigint, uuid, text, uuid, uuid, text)
from public, anon, authenticated, service_role;

-- 3. Charge and deduct.

drop function private.move_balance(text, uuid, uuid, uuid, bigint, text, text);
create function private.move_balance(
  p_type text,
  p_actor_user_id uuid,
  p_actor_session_id uuid,
  p_customer_id uuid,
  p_amount bigint,
  p_idempotency_key text,
  p_memo text,
  p_shop_id uuid
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  -- Authorization: who acts, on which shop's customer (create_actor_and_target_checks).
  v_shop_id uuid := (private.authorize_for_customer(p_actor_user_id, p_actor_session_id, p_customer_id,
    array['owner', 'manager', 'staff'], p_shop_id => p_shop_id)).shop_id;
  v_replay jsonb;
  v_movement public.transactions;
  v_promotion record;
  v_bonus public.transactions;
begin
  if p_amount is null or p_amount < 1 or p_amount > 10000000 then
    perform private.check_amount(p_amount);
  end if;
  if char_length(p_memo) > 500 then
    perform private.check_memo(p_memo);
  end if;

  perform private.lock_idempotency_key(v_shop_id, p_idempotency_key);
  v_replay := private.replay_of(p_shop_id => v_shop_id, p_idempotency_key => p_idempotency_key, p_type => p_type,
    p_customer_id => p_customer_id, p_amount => p_amount, p_original_transaction_id => null, p_memo => p_memo,
    p_actor_user_id => p_actor_user_id, p_actor_kiosk_id => null);
  if v_replay is not null then
    return v_replay;
  end if;

  v_movement := private.record_movement(p_shop_id => v_shop_id, p_customer_id => p_customer_id, p_type => p_type,
    p_amount => p_amount, p_bonus_amount => null, p_idempotency_key => p_idempotency_key,
    p_actor_user_id => p_actor_user_id, p_actor_kiosk_id => null, p_memo => p_memo, p_original_transaction_id => null);
  if p_type = 'charge' then
    select * into v_promotion from private.best_promotion(v_shop_id, p_amount);
    if v_promotion.bonus > 0 then
      -- The bonus points at the charge just written, of this customer: the one original a bonus has.
      v_bonus := private.record_movement(p_shop_id => v_shop_id, p_customer_id => p_customer_id, p_type => 'bonus',
        p_amount => v_promotion.bonus, p_bonus_amount => v_promotion.bonus, p_idempotency_key => null,
        p_actor_user_id => p_actor_user_id, p_actor_kiosk_id => null, p_memo => null,
        p_original_transaction_id => v_movement.id, p_promotion_id => v_promotion.promotion_id);
    end if;
  end if;
  return private.money_result(v_movement, false, v_bonus);
end;
$$;
revoke all on function private.move_balance(text, uuid, uuid, uuid, bigint, text, text, uuid)
from public, anon, authenticated, service_role;

drop function public.charge_balance(uuid, uuid, bigint, text, text, uuid);
create function public.charge_balance(
  p_actor_user_id uuid,
  p_customer_id uuid,
  p_amount bigint,
  p_idempotency_key text,
  p_memo text default null,
  p_actor_session_id uuid default null,
  p_shop_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  return private.move_balance(p_type => 'charge', p_actor_user_id => p_actor_user_id, p_actor_session_id => p_actor_session_id,
    p_customer_id => p_customer_id, p_amount => p_amount, p_idempotency_key => p_idempotency_key, p_memo => p_memo,
    p_shop_id => p_shop_id);
end;
$$;

drop function public.deduct_balance(uuid, uuid, bigint, text, text, uuid);
create function public.deduct_balance(
  p_actor_user_id uuid,
  p_customer_id uuid,
  p_amount bigint,
  p_idempotency_key text,
  p_memo text default null,
  p_actor_session_id uuid default null,
  p_shop_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  return private.move_balance(p_type => 'deduct', p_actor_user_id => p_actor_user_id, p_actor_session_id => p_actor_session_id,
    p_customer_id => p_customer_id, p_amount => p_amount, p_idempotency_key => p_idempotency_key, p_memo => p_memo,
    p_shop_id => p_shop_id);
end;
$$;

-- 4. Cancels. What the ledger's reversal trigger checked is checked here, on the original read by
--    shop and id and with its earlier reversals summed under the customer's row lock (every reversal
--    of an original is written under that same lock, so the sums cannot change underneath): a
--    charge_cancel only for a charge, taking back its amount plus its bonus exactly; a deduct_cancel
--    only for a deduct, never more than what remains of it, its bonus part a share of the bonus that
--    remains (v_amount <= v_remaining, so the share never exceeds it). The reversal's customer is the
--    original's, taken from the original itself.

drop function public.cancel_transaction(uuid, uuid, text, text, bigint, uuid);
create function public.cancel_transaction(
  p_actor_user_id uuid,
  p_transaction_id uuid,
  p_idempotency_key text,
  p_reason text default null,
  p_amount bigint default null,
  p_actor_session_id uuid default null,
  p_shop_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_original public.transactions := private.authorize_for_transaction(p_actor_user_id, p_actor_session_id,
    p_transaction_id, array['owner', 'manager'], p_shop_id);
  v_reversal_type text;
  v_replay jsonb;
  v_existing_reversal uuid;
  v_bonus_amount bigint;
  v_cancelled bigint;
  v_cancelled_bonus bigint;
  v_remaining bigint;
  v_amount bigint;
  v_bonus_part bigint;
  v_reversal public.transactions;
begin
  perform private.check_memo(p_reason);
  if p_amount is not null then
    perform private.check_amount(p_amount);
  end if;

  v_reversal_type := case v_original.type when 'charge' then 'charge_cancel' when 'deduct' then 'deduct_cancel' end;
  if v_original.type = 'charge' and p_amount is not null and p_amount <> v_original.amount then
    perform private.raise_error('partial_cancel_not_allowed', 'a charge is cancelled whole, with its bonus',
      jsonb_build_object('transaction_id', v_original.id, 'amount', v_original.amount));
  end if;
  -- The replay comes before the other refusals: a retried successful cancel must answer its
  -- reversal, not already_cancelled.
  perform private.lock_idempotency_key(v_original.shop_id, p_idempotency_key);
  v_replay := private.replay_of(p_shop_id => v_original.shop_id, p_idempotency_key => p_idempotency_key,
    p_type => v_reversal_type, p_customer_id => v_original.customer_id,
    p_amount => case when v_original.type = 'deduct' then p_amount end, p_original_transaction_id => v_original.id,
    p_memo => p_reason, p_actor_user_id => p_actor_user_id, p_actor_kiosk_id => null);
  if v_replay is not null then
    return v_replay;
  end if;
  if v_original.type in ('charge_cancel', 'deduct_cancel') then
    perform private.raise_error('cannot_cancel_reversal', 'a reversal cannot itself be cancelled',
      jsonb_build_object('transaction_id', v_original.id, 'type', v_original.type));
  elsif v_reversal_type is null then
    perform private.raise_error('not_cancellable',
      'a bonus is cancelled with its charge, and a refund cannot be cancelled',
      jsonb_build_object('transaction_id', v_original.id, 'type', v_original.type));
  end if;

  perform 1 from public.customers c
  where c.shop_id = v_original.shop_id and c.id = v_original.customer_id
  for update;
  if v_original.type = 'charge' then
    -- The charge's cancel, if it has one, and its bonus (0 if none).
    select (array_agg(t.id) filter (where t.type = 'charge_cancel'))[1],
           coalesce(sum(t.amount) filter (where t.type = 'bonus'), 0)
      into v_existing_reversal, v_bonus_amount
    from public.transactions t
    where t.shop_id = v_original.shop_id and t.original_transaction_id = v_original.id
      and t.type in ('charge_cancel', 'bonus');
    if v_existing_reversal is not null then
      perform private.raise_error('already_cancelled', 'this transaction was already cancelled',
        jsonb_build_object('transaction_id', v_original.id, 'reversal_id', v_existing_reversal));
    end if;
    v_reversal := private.record_movement(p_shop_id => v_original.shop_id, p_customer_id => v_original.customer_id,
      p_type => 'charge_cancel', p_amount => v_original.amount + v_bonus_amount,
      p_bonus_amount => v_bonus_amount, p_idempotency_key => p_idempotency_key,
      p_actor_user_id => p_actor_user_id, p_actor_kiosk_id => null, p_memo => p_reason,
      p_original_transaction_id => v_original.id);
  else
    select coalesce(sum(t.amount), 0), coalesce(sum(t.bonus_amount), 0), (array_agg(t.id order by t.sequence desc))[1]
      into v_cancelled, v_cancelled_bonus, v_existing_reversal
    from public.transactions t
    where t.shop_id = v_original.shop_id and t.original_transaction_id = v_original.id;
    v_remaining := v_original.amount - v_cancelled;
    if v_remaining = 0 then
      perform private.raise_error('already_cancelled', 'this transaction was already cancelled in full',
        jsonb_build_object('transaction_id', v_original.id, 'reversal_id', v_existing_reversal));
    end if;
    v_amount := coalesce(p_amount, v_remaining);
    if v_amount > v_remaining then
      perform private.raise_error('cancel_exceeds_remaining', 'that is more than what remains to cancel of this deduct',
        jsonb_build_object('transaction_id', v_original.id, 'amount', v_amount, 'cancelled', v_cancelled,
          'remaining', v_remaining));
    end if;
    v_bonus_part := v_amount * (v_original.bonus_amount - v_cancelled_bonus) / v_remaining;
    v_reversal := private.record_movement(p_shop_id => v_original.shop_id, p_customer_id => v_original.customer_id,
      p_type => 'deduct_cancel', p_amount => v_amount, p_bonus_amount => v_bonus_part,
      p_idempotency_key => p_idempotency_key, p_actor_user_id => p_actor_user_id, p_actor_kiosk_id => null,
      p_memo => p_reason, p_original_transaction_id => v_original.id);
  end if;
  return private.money_result(v_reversal, false);
end;
$$;

-- 5. Refunds.

create or replace function private.refund_terms(p_customer public.customers, p_shop public.shops)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_last_refund bigint;
  v_charged bigint;
  v_used bigint;
  v_first_charge_at timestamptz;
  v_used_paid bigint;
  v_threshold integer;
  v_rule text;
  v_fee_percent integer;
  v_fee bigint;
begin
  select coalesce(max(t.sequence), 0) into v_last_refund
  from public.transactions t
  where t.shop_id = p_customer.shop_id and t.customer_id = p_customer.id and t.type = 'refund';
  select coalesce(sum(t.amount) filter (where t.type = 'charge'), 0)
           - coalesce(sum(t.paid_amount) filter (where t.type = 'charge_cancel'), 0),
         coalesce(sum(t.amount) filter (where t.type = 'deduct'), 0)
           - coalesce(sum(t.amount) filter (where t.type = 'deduct_cancel'), 0),
         min(t.created_at) filter (where t.type = 'charge')
    into v_charged, v_used, v_first_charge_at
  from public.transactions t
  where t.shop_id = p_customer.shop_id and t.customer_id = p_customer.id and t.sequence > v_last_refund;
  -- What the customer has paid since the last refund and no longer holds is what they used of it.
  v_used_paid := greatest(v_charged - p_customer.paid_balance, 0);
  v_threshold := case when v_charged < 10000 then 80 else 60 end;
  v_rule := case
    when v_charged > 0 and v_used <= 0 and v_first_charge_at >= now() - interval '7 days' then '7_days_unused'
    when v_charged > 0 and v_used_paid * 100 >= v_threshold * v_charged then v_threshold || '_percent_used'
  end;
  -- An unused charge within 7 days is refunded in full.
  v_fee_percent := case when v_rule = '7_days_unused' then 0 else p_shop.refund_fee_percent end;
  v_fee := p_customer.paid_balance * v_fee_percent / 100;
  return jsonb_build_object(
    'customer_id', p_customer.id,
    'balance', p_customer.current_balance,
    'paid_balance', p_customer.paid_balance,
    'bonus_balance', p_customer.bonus_balance,
    'charged_since_last_refund', v_charged,
    'used_since_last_refund', v_used_paid,
    'statutory_right', v_rule is not null,
    'rule', v_rule,
    'fee_percent', v_fee_percent,
    'fee', v_fee,
    'refundable', p_customer.paid_balance - v_fee,
    'bonus_forfeited', p_customer.bonus_balance,
    'allowed', p_customer.current_balance > 0 and (v_rule is not null or p_shop.allow_refunds_outside_right)
  );
end;
$$;

drop function public.quote_refund(uuid, uuid, uuid);
create function public.quote_refund(
  p_actor_user_id uuid,
  p_customer_id uuid,
  p_actor_session_id uuid default null,
  p_shop_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_customer public.customers := private.authorize_for_customer(p_actor_user_id, p_actor_session_id, p_customer_id,
    array['owner', 'manager'], p_shop_id => p_shop_id);
  v_shop public.shops;
begin
  select s.* into v_shop from public.shops s where s.id = v_customer.shop_id;
  return private.refund_terms(v_customer, v_shop);
end;
$$;

drop function public.refund_balance(uuid, uuid, text, text, text, uuid);
create function public.refund_balance(
  p_actor_user_id uuid,
  p_customer_id uuid,
  p_method text,
  p_idempotency_key text,
  p_memo text default null,
  p_actor_session_id uuid default null,
  p_shop_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_customer public.customers := private.authorize_for_customer(p_actor_user_id, p_actor_session_id, p_customer_id,
    array['owner', 'manager'], p_shop_id => p_shop_id);
  v_shop public.shops;
  v_replay jsonb;
  v_terms jsonb;
  v_refund public.transactions;
begin
  perform private.check_memo(p_memo);
  if p_method is null or p_method not in ('cash', 'card_cancel', 'transfer') then
    perform private.raise_error('validation_failed', 'the method is cash, card_cancel or transfer',
      jsonb_build_object('field', 'method'));
  end if;

  perform private.lock_idempotency_key(v_customer.shop_id, p_idempotency_key);
  v_replay := private.replay_of(p_shop_id => v_customer.shop_id, p_idempotency_key => p_idempotency_key,
    p_type => 'refund', p_customer_id => p_customer_id, p_amount => null, p_original_transaction_id => null,
    p_memo => p_memo, p_actor_user_id => p_actor_user_id, p_actor_kiosk_id => null, p_refund_method => p_method);
  if v_replay is not null then
    return v_replay;
  end if;

  select c.* into v_customer from public.customers c
  where c.shop_id = v_customer.shop_id and c.id = p_customer_id
  for update;
  select s.* into v_shop from public.shops s where s.id = v_customer.shop_id;
  v_terms := private.refund_terms(v_customer, v_shop);
  if v_customer.current_balance = 0 then
    perform private.raise_error('nothing_to_refund', 'the balance is zero', v_terms);
  end if;
  if not (v_terms ->> 'allowed')::boolean then
    perform private.raise_error('refund_not_allowed',
      'the customer has no statutory right to a refund now, and this shop refunds only then', v_terms);
  end if;
  v_refund := private.record_movement(p_shop_id => v_customer.shop_id, p_customer_id => v_customer.id,
    p_type => 'refund', p_amount => v_customer.current_balance, p_bonus_amount => v_customer.bonus_balance,
    p_idempotency_key => p_idempotency_key, p_actor_user_id => p_actor_user_id, p_actor_kiosk_id => null,
    p_memo => p_memo, p_original_transaction_id => null, p_promotion_id => null, p_refund_method => p_method,
    p_refund_fee => (v_terms ->> 'fee')::bigint, p_refund_rule => v_terms ->> 'rule');
  return private.money_result(v_refund, false);
end;
$$;

-- 6. Kiosks.

create or replace function private.kiosk_customer(p_kiosk public.kiosks, p_phone text, p_pin text)
returns public.customers
language plpgsql
stable
set search_path = ''
as $$
declare
  v_customer public.customers;
begin
  if p_phone is null or p_phone !~ '^010-[0-9]{4}-[0-9]{4}$' then
    perform private.check_phone(p_phone);
  end if;
  if p_pin is null or p_pin !~ '^[0-9]{4,6}$' then
    perform private.check_pin_format(p_pin);
  end if;
  select c.* into v_customer from public.customers c where c.shop_id = p_kiosk.shop_id and c.phone = p_phone;
  if not found then
    perform private.raise_error('customer_not_found', 'no customer of this shop has this phone');
  end if;
  return v_customer;
end;
$$;

-- PIN and deduct in one transaction. Lock order as everywhere: idempotency key, customer row, PIN
-- row. A wrong PIN returns its refusal (the failure commits, nothing is paid); a replay still needs
-- the right PIN, so a stolen idempotency key reveals nothing.
create or replace function public.kiosk_pay(p_kiosk_key text, p_phone text, p_pin text, p_amount bigint, p_idempotency_key text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_kiosk public.kiosks := private.authorize_kiosk(p_kiosk_key);
  v_customer public.customers;
  v_locked record;
  v_pin_result jsonb;
  v_replay jsonb;
begin
  -- Authorization: the kiosk's customer by phone, within the kiosk's shop.
  v_customer := private.kiosk_customer(v_kiosk, p_phone, p_pin);

  if p_amount is null or p_amount < 1 or p_amount > 10000000 then
    perform private.check_amount(p_amount);
  end if;
  perform private.lock_idempotency_key(v_kiosk.shop_id, p_idempotency_key);
  select c.id, s as shop into v_locked
  from public.customers c
  join public.shops s on s.id = c.shop_id
  where c.shop_id = v_kiosk.shop_id and c.id = v_customer.id
  for update of c;

  v_pin_result := private.verify_pin(v_locked.id, p_pin, v_locked.shop);
  if not (v_pin_result ->> 'ok')::boolean then
    return v_pin_result;
  end if;

  v_replay := private.replay_of(p_shop_id => v_kiosk.shop_id, p_idempotency_key => p_idempotency_key,
    p_type => 'deduct', p_customer_id => v_locked.id, p_amount => p_amount, p_original_transaction_id => null,
    p_memo => null, p_actor_user_id => null, p_actor_kiosk_id => v_kiosk.id);
  if v_replay is not null then
    return v_replay;
  end if;
  return private.money_result(
    private.record_movement(p_shop_id => v_kiosk.shop_id, p_customer_id => v_locked.id, p_type => 'deduct',
      p_amount => p_amount, p_bonus_amount => null, p_idempotency_key => p_idempotency_key, p_actor_user_id => null,
      p_actor_kiosk_id => v_kiosk.id, p_memo => null, p_original_transaction_id => null),
    false);
end;
$$;

create or replace function public.kiosk_balance(p_kiosk_key text, p_phone text, p_pin text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_kiosk public.kiosks := private.authorize_kiosk(p_kiosk_key);
  v_customer public.customers := private.kiosk_customer(v_kiosk, p_phone, p_pin);
  v_shop public.shops;
  v_pin_result jsonb;
begin
  select s.* into v_shop from public.shops s where s.id = v_kiosk.shop_id;
  v_pin_result := private.verify_pin(v_customer.id, p_pin, v_shop);
  if not (v_pin_result ->> 'ok')::boolean then
    return v_pin_result;
  end if;
  -- Read after the PIN row's lock, so the balance is as of this moment, not of the lookup.
  select c.* into v_customer from public.customers c where c.shop_id = v_kiosk.shop_id and c.id = v_customer.id;
  return jsonb_build_object('customer', jsonb_build_object('id', v_customer.id, 'name', v_customer.name),
    'balance', v_customer.current_balance, 'paid_balance', v_customer.paid_balance,
    'bonus_balance', v_customer.bonus_balance);
end;
$$;

create or replace function public.register_kiosk(p_actor_user_id uuid, p_shop_id uuid, p_name text, p_actor_session_id uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_name text;
  v_device_key text := encode(extensions.gen_random_bytes(32), 'hex');
  v_kiosk public.kiosks;
begin
  perform private.authorize_for_shop(p_actor_user_id, p_actor_session_id, p_shop_id, array['owner']);
  v_name := private.check_name(p_name);
  insert into public.kiosks (shop_id, name) values (p_shop_id, v_name) returning * into v_kiosk;
  -- Only the key's hash is kept: the key itself is in this answer and nowhere else.
  insert into private.kiosk_credentials (shop_id, kiosk_id, key_hash)
  values (p_shop_id, v_kiosk.id, encode(extensions.digest(v_device_key, 'sha256'), 'hex'));
  return jsonb_build_object('kiosk', to_jsonb(v_kiosk), 'device_key', v_device_key);
end;
$$;

create or replace function public.deactivate_kiosk(p_actor_user_id uuid, p_kiosk_id uuid, p_actor_session_id uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_kiosk public.kiosks := private.authorize_for_kiosk(p_actor_user_id, p_actor_session_id, p_kiosk_id, array['owner']);
begin
  update public.kiosks k set active = false
  where k.shop_id = v_kiosk.shop_id and k.id = p_kiosk_id
  returning k.* into v_kiosk;
  return jsonb_build_object('kiosk', to_jsonb(v_kiosk));
end;
$$;

create or replace function public.end_promotion(p_actor_user_id uuid, p_promotion_id uuid, p_actor_session_id uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_promotion public.promotions := private.authorize_for_promotion(p_actor_user_id, p_actor_session_id,
    p_promotion_id, array['owner']);
begin
  select p.* into v_promotion from public.promotions p
  where p.shop_id = v_promotion.shop_id and p.id = p_promotion_id
  for update;
  -- Ending an ended promotion changes nothing and answers it as it is.
  if v_promotion.ends_at is null or v_promotion.ends_at > clock_timestamp() then
    update public.promotions p
    set ends_at = greatest(p.starts_at, clock_timestamp())
    where p.shop_id = v_promotion.shop_id and p.id = p_promotion_id
    returning p.* into v_promotion;
  end if;
  return jsonb_build_object('promotion', to_jsonb(v_promotion));
end;
$$;

-- 7. PINs.

create or replace function private.verify_pin(p_customer_id uuid, p_pin text, p_shop public.shops)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_pin private.customer_pins;
  v_failed integer;
  v_locked_until timestamptz;
begin
  select p.* into v_pin from private.customer_pins p
  where p.shop_id = p_shop.id and p.customer_id = p_customer_id
  for update;
  if not found then
    return jsonb_build_object('ok', false, 'code', 'pin_not_set',
      'remaining_attempts', p_shop.pin_max_attempts, 'locked_until', null);
  end if;
  if v_pin.locked_until > now() then
    return jsonb_build_object('ok', false, 'code', 'pin_locked', 'remaining_attempts', 0, 'locked_until', v_pin.locked_until);
  end if;

  if extensions.crypt(p_pin, v_pin.pin_hash) = v_pin.pin_hash then
    if v_pin.failed_attempts <> 0 or v_pin.locked_until is not null then
      update private.customer_pins p
      set failed_attempts = 0, locked_until = null, updated_at = now()
      where p.shop_id = p_shop.id and p.customer_id = p_customer_id;
    end if;
    return jsonb_build_object('ok', true, 'code', null, 'remaining_attempts', p_shop.pin_max_attempts, 'locked_until', null);
  end if;

  v_failed := case when v_pin.locked_until is null then v_pin.failed_attempts else 0 end + 1;
  if v_failed >= p_shop.pin_max_attempts then
    v_locked_until := now() + make_interval(mins => p_shop.pin_lock_minutes);
  end if;
  update private.customer_pins p
  set failed_attempts = v_failed, locked_until = v_locked_until, updated_at = now()
  where p.shop_id = p_shop.id and p.customer_id = p_customer_id;
  if v_locked_until is not null then
    return jsonb_build_object('ok', false, 'code', 'pin_locked', 'remaining_attempts', 0, 'locked_until', v_locked_until);
  end if;
  return jsonb_build_object('ok', false, 'code', 'pin_invalid',
    'remaining_attempts', p_shop.pin_max_attempts - v_failed, 'locked_until', null);
end;
$$;

drop function public.set_pin(uuid, uuid, text, uuid);
create function public.set_pin(
  p_actor_user_id uuid,
  p_customer_id uuid,
  p_pin text,
  p_actor_session_id uuid default null,
  p_shop_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_customer public.customers := private.authorize_for_customer(p_actor_user_id, p_actor_session_id, p_customer_id,
    array['owner', 'manager', 'staff'], p_lock => true, p_shop_id => p_shop_id);
  v_locked_until timestamptz;
begin
  perform private.check_pin_format(p_pin);
  perform private.refuse_closed_customer(v_customer);
  -- Setting a new PIN must not be a way around a lock-out: only an owner unlocks.
  select p.locked_until into v_locked_until
  from private.customer_pins p
  where p.shop_id = v_customer.shop_id and p.customer_id = p_customer_id
  for update;
  if v_locked_until > now() then
    perform private.raise_error('pin_locked', 'the PIN is locked; an owner must unlock it first',
      jsonb_build_object('locked_until', v_locked_until));
  end if;
  insert into private.customer_pins (shop_id, customer_id, pin_hash)
  values (v_customer.shop_id, p_customer_id, private.hash_pin(p_pin))
  on conflict (shop_id, customer_id) do update
  set pin_hash = excluded.pin_hash, failed_attempts = 0, locked_until = null, updated_at = now();
  return jsonb_build_object('customer_id', p_customer_id, 'pin_set', true);
end;
$$;

drop function public.verify_pin_atomic(uuid, text, uuid, text, uuid);
create function public.verify_pin_atomic(
  p_customer_id uuid,
  p_pin text,
  p_actor_user_id uuid default null,
  p_kiosk_key text default null,
  p_actor_session_id uuid default null,
  p_shop_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_kiosk public.kiosks;
  v_customer public.customers;
  v_shop public.shops;
begin
  if p_actor_user_id is not null and p_kiosk_key is not null then
    perform private.raise_error('validation_failed', 'give either the acting user or the kiosk key, not both');
  end if;
  if p_kiosk_key is not null then
    v_kiosk := private.authorize_kiosk(p_kiosk_key);
    -- A kiosk's shop is its key's; a p_shop_id naming another shop finds no customer.
    select c.* into v_customer from public.customers c
    where c.shop_id = v_kiosk.shop_id and c.id = p_customer_id and v_kiosk.shop_id = coalesce(p_shop_id, v_kiosk.shop_id);
    if not found then
      perform private.raise_error('customer_not_found', 'no such customer', jsonb_build_object('customer_id', p_customer_id));
    end if;
  else
    v_customer := private.authorize_for_customer(p_actor_user_id, p_actor_session_id, p_customer_id,
      array['owner', 'manager', 'staff'], p_shop_id => p_shop_id);
  end if;
  perform private.check_pin_format(p_pin);
  select s.* into v_shop from public.shops s where s.id = v_customer.shop_id;
  return private.verify_pin(v_customer.id, p_pin, v_shop);
end;
$$;

drop function public.unlock_pin(uuid, uuid, uuid);
create function public.unlock_pin(
  p_actor_user_id uuid,
  p_customer_id uuid,
  p_actor_session_id uuid default null,
  p_shop_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_customer public.customers := private.authorize_for_customer(p_actor_user_id, p_actor_session_id, p_customer_id,
    array['owner'], p_shop_id => p_shop_id);
begin
  update private.customer_pins p
  set failed_attempts = 0, locked_until = null, updated_at = now()
  where p.shop_id = v_customer.shop_id and p.customer_id = p_customer_id;
  if not found then
    perform private.raise_error('pin_not_set', 'this customer has no PIN');
  end if;
  return jsonb_build_object('customer_id', p_customer_id, 'unlocked', true);
end;
$$;

-- 8. Customers.

create or replace function public.create_customer(p_actor_user_id uuid, p_shop_id uuid, p_name text, p_phone text,
  p_pin text default null, p_actor_session_id uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_name text;
  v_customer public.customers;
begin
  perform private.authorize_for_shop(p_actor_user_id, p_actor_session_id, p_shop_id, array['owner', 'manager', 'staff']);
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
    insert into private.customer_pins (shop_id, customer_id, pin_hash)
    values (p_shop_id, v_customer.id, private.hash_pin(p_pin));
  end if;
  return jsonb_build_object('customer', to_jsonb(v_customer));
end;
$$;

drop function public.update_customer(uuid, uuid, text, text, uuid);
create function public.update_customer(
  p_actor_user_id uuid,
  p_customer_id uuid,
  p_name text default null,
  p_phone text default null,
  p_actor_session_id uuid default null,
  p_shop_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_customer public.customers := private.authorize_for_customer(p_actor_user_id, p_actor_session_id, p_customer_id,
    array['owner', 'manager', 'staff'], p_lock => true, p_shop_id => p_shop_id);
  v_name text;
begin
  perform private.refuse_closed_customer(v_customer);
  if p_name is not null then
    v_name := private.check_name(p_name);
  end if;
  if p_phone is not null then
    perform private.check_phone(p_phone);
  end if;

  begin
    update public.customers c
    set name = coalesce(v_name, c.name), phone = coalesce(p_phone, c.phone), updated_at = now()
    where c.shop_id = v_customer.shop_id and c.id = p_customer_id
    returning c.* into v_customer;
  exception when unique_violation then
    perform private.raise_error('phone_taken', 'another customer of this shop has this phone',
      jsonb_build_object('phone', p_phone));
  end;
  return jsonb_build_object('customer', to_jsonb(v_customer));
end;
$$;

drop function public.close_customer(uuid, uuid, uuid);
create function public.close_customer(
  p_actor_user_id uuid,
  p_customer_id uuid,
  p_actor_session_id uuid default null,
  p_shop_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_customer public.customers := private.authorize_for_customer(p_actor_user_id, p_actor_session_id, p_customer_id,
    array['owner', 'manager'], p_lock => true, p_shop_id => p_shop_id);
begin
  perform private.refuse_closed_customer(v_customer);
  if v_customer.current_balance <> 0 then
    perform private.raise_error('balance_not_zero', 'refund the balance before closing this customer',
      jsonb_build_object('customer_id', v_customer.id, 'balance', v_customer.current_balance));
  end if;
  -- The moment the close took effect, under the row lock: now() would be when this transaction
  -- began, possibly before a payment that committed while the close waited for the lock.
  update public.customers c set closed_at = clock_timestamp(), updated_at = now()
  where c.shop_id = v_customer.shop_id and c.id = p_customer_id
  returning c.* into v_customer;
  return jsonb_build_object('customer', to_jsonb(v_customer));
end;
$$;

drop function public.erase_customer(uuid, uuid, uuid);
create function public.erase_customer(
  p_actor_user_id uuid,
  p_customer_id uuid,
  p_actor_session_id uuid default null,
  p_shop_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_customer public.customers := private.authorize_for_customer(p_actor_user_id, p_actor_session_id, p_customer_id,
    array['owner'], p_lock => true, p_shop_id => p_shop_id);
begin
  if v_customer.closed_at is null then
    perform private.raise_error('customer_not_closed', 'close this customer before erasing their data',
      jsonb_build_object('customer_id', v_customer.id));
  end if;
  if v_customer.erased_at is null then
    update public.customers c set name = null, phone = null, erased_at = now(), updated_at = now()
    where c.shop_id = v_customer.shop_id and c.id = p_customer_id
    returning c.* into v_customer;
    delete from private.customer_pins p where p.shop_id = v_customer.shop_id and p.customer_id = p_customer_id;
  end if;
  return jsonb_build_object('customer', to_jsonb(v_customer));
end;
$$;

-- The statement reads as the member (security invoker, RLS applies): the customer's shop is what RLS
-- lets the member see, and every read after names it.
drop function public.customer_statement(uuid, timestamptz, timestamptz);
create function public.customer_statement(
  p_customer_id uuid,
  p_from timestamptz default '-infinity',
  p_to timestamptz default 'infinity',
  p_shop_id uuid default null
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_shop_id uuid;
  v_opening jsonb;
  v_closing jsonb;
  v_movements jsonb;
  v_zero constant jsonb := jsonb_build_object('balance', 0, 'paid_balance', 0, 'bonus_balance', 0, 'sequence', 0);
begin
  if p_from is null or p_to is null or p_to < p_from then
    perform private.raise_error('validation_failed', 'the period needs from <= to',
      jsonb_build_object('field', 'p_to'));
  end if;
  if p_shop_id is null then
    select c.shop_id into v_shop_id from public.customers c where c.id = p_customer_id;
  else
    select c.shop_id into v_shop_id from public.customers c where c.shop_id = p_shop_id and c.id = p_customer_id;
  end if;
  if v_shop_id is null then
    perform private.raise_error('customer_not_found', 'no such customer', jsonb_build_object('customer_id', p_customer_id));
  end if;
  select jsonb_build_object('balance', t.balance_after, 'paid_balance', t.paid_balance_after,
           'bonus_balance', t.bonus_balance_after, 'sequence', t.sequence)
    into v_opening
  from public.transactions t
  where t.customer_id = p_customer_id and t.shop_id = v_shop_id and t.created_at < p_from
  order by t.created_at desc, t.sequence desc
  limit 1;
  select jsonb_build_object('balance', t.balance_after, 'paid_balance', t.paid_balance_after,
           'bonus_balance', t.bonus_balance_after, 'sequence', t.sequence)
    into v_closing
  from public.transactions t
  where t.customer_id = p_customer_id and t.shop_id = v_shop_id and t.created_at < p_to
  order by t.created_at desc, t.sequence desc
  limit 1;
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', t.id, 'sequence', t.sequence, 'type', t.type, 'amount', t.amount,
           'paid_amount', t.paid_amount, 'bonus_amount', t.bonus_amount,
           'balance_after', t.balance_after, 'paid_balance_after', t.paid_balance_after,
           'bonus_balance_after', t.bonus_balance_after, 'original_transaction_id', t.original_transaction_id,
           'promotion_id', t.promotion_id, 'refund_fee', t.refund_fee, 'memo', t.memo, 'created_at', t.created_at
         ) order by t.sequence), '[]'::jsonb)
    into v_movements
  from public.transactions t
  where t.customer_id = p_customer_id and t.shop_id = v_shop_id and t.created_at >= p_from and t.created_at < p_to;
  return jsonb_build_object(
    'customer_id', p_customer_id,
    'from', p_from,
    'to', p_to,
    'opening', coalesce(v_opening, v_zero),
    'movements', v_movements,
    'closing', coalesce(v_closing, v_zero)
  );
end;
$$;

-- 9. A member is added only while the user exists: the key-share lock keeps the user from being
--    deleted until this membership is committed (then the delete's trigger removes it with the rest).
create or replace function public.add_shop_member(p_actor_user_id uuid, p_shop_id uuid, p_email text, p_role text,
  p_actor_session_id uuid default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_actor_role text := private.authorize_for_shop(p_actor_user_id, p_actor_session_id, p_shop_id,
    array['owner', 'manager'], p_lock => true);
  v_user_id uuid;
  v_member public.shop_members;
begin
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
  select u.id into v_user_id from auth.users u where u.email = lower(btrim(p_email)) for key share;
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

-- 10. The reconciliation joins the ledger to its customers by shop and id (a co-located join on Citus).
create or replace function public.reconcile_balances()
returns table (
  customer_id uuid, shop_id uuid, current_balance bigint, ledger_balance bigint, paid_balance bigint,
  ledger_paid_balance bigint, bonus_balance bigint, ledger_bonus_balance bigint, ledger_sequence bigint,
  ledger_rows bigint
)
language sql
stable
set search_path = ''
set default_transaction_isolation = 'repeatable read'
as $$
  select c.id, c.shop_id,
         c.current_balance, coalesce(l.balance, 0)::bigint,
         c.paid_balance, coalesce(l.balance - l.bonus, 0)::bigint,
         c.bonus_balance, coalesce(l.bonus, 0)::bigint,
         c.ledger_sequence, coalesce(l.rows, 0)::bigint
  from public.customers c
  left join (
    select t.shop_id, t.customer_id,
           sum(s.sign * t.amount) as balance,
           sum(s.sign * t.bonus_amount) as bonus,
           count(*) as rows
    from public.transactions t
    left join private.movement_signs() s on s.type = t.type
    group by t.shop_id, t.customer_id
  ) l on l.shop_id = c.shop_id and l.customer_id = c.id
  where c.current_balance <> coalesce(l.balance, 0)
     or c.bonus_balance <> coalesce(l.bonus, 0)
     or c.ledger_sequence <> coalesce(l.rows, 0)
  order by c.shop_id, c.id
$$;

-- The grants each function had before it was created again.
do $$
declare
  v_function regprocedure;
begin
  for v_function in
    select p.oid::regprocedure from pg_catalog.pg_proc p
    where p.pronamespace = 'public'::regnamespace and 'p_shop_id' = any (p.proargnames)
      and p.proname in ('charge_balance', 'deduct_balance', 'cancel_transaction', 'quote_refund', 'refund_balance',
                        'set_pin', 'verify_pin_atomic', 'unlock_pin', 'update_customer', 'close_customer',
                        'erase_customer', 'customer_statement')
  loop
    execute format('revoke all on function %s from public, anon, authenticated', v_function);
    execute format('grant execute on function %s to service_role', v_function);
  end loop;
end;
$$;
grant execute on function public.customer_statement(uuid, timestamptz, timestamptz, uuid) to authenticated;
