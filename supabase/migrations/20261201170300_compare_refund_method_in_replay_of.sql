-- The refund method joins the comparison of private.replay_of, the one place a retried request is
-- told from another request under the same idempotency key. refund_balance compared it itself after
-- replay_of, repeating replay_of's idempotency_key_reused refusal. Same answers: a refund retried
-- with another method is refused with the earlier row's id, as before; every other movement passes
-- no method (null), and only refund rows have one (transactions_refund_fields), so
-- a key reused across a refund and another movement is still refused by the type.

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

-- As in 20261201160300, with the method passed to replay_of instead of compared here (its grants
-- stay: create or replace keeps them).
create or replace function public.refund_balance(
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
