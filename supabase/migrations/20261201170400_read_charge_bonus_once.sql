-- A new charge no longer reads back its own bonus row, and the cancel of a charge reads its earlier
-- reversal and its bonus in one statement. Same rules, refusals (in the same order) and answers.
--
-- private.move_balance wrote the bonus with `perform private.record_movement(...)` and dropped the
-- row, and private.money_result then looked it up again by (shop_id, original_transaction_id), for
-- every new charge, with or without a promotion. move_balance now keeps the row it wrote and hands it
-- to money_result (p_bonus; null when no promotion gave a bonus). Only a replayed charge, whose
-- bonus was written by an earlier call, is still looked up (replay_of passes p_replayed => true and
-- no bonus). Every other caller (cancel_transaction, refund_balance, kiosk_pay) passes neither a
-- charge nor a bonus, and gets the answer it got before.

-- money_result's arguments change: dropped and created again (no overload left behind), with the
-- grants it had (executable by no API role). plpgsql callers resolve it by name when they run, so
-- their two-argument calls now take the default p_bonus => null.
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

-- As in 20261201160300, keeping the bonus row it writes and passing it to money_result (its grants
-- stay: create or replace keeps them).
create or replace function private.move_balance(
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

-- As in 20261201160300, with the charge branch reading the charge's earlier cancel and its bonus in
-- one statement over the same index (transactions_original_transaction_id_idx), in the aggregate
-- form the deduct branch already uses; nothing else changes. A charge has at most one cancel and one
-- bonus (the cancel is refused once one exists; move_balance writes one bonus with the charge). The
-- refusals keep their order: already_cancelled before anything record_movement refuses (its grants
-- stay: create or replace keeps them).
create or replace function public.cancel_transaction(
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
