-- The one place a balance changes with fewer function calls and lookups per movement (issue 13),
-- the same rules: `npm run bench:profile` found the helper calls and the repeated reads of the
-- customer's row a large share of a deduct's executor time. (The callers' own share, plpgsql
-- wrappers and plain-condition checks, is in authorize_staff_functions_by_session.)

-- The one place a balance changes, as in redefine_money_functions_for_paid_and_bonus: locks the
-- customer's row (reading the shop's ceiling and spending order in the same statement), refuses a
-- closed customer, splits the movement into paid and bonus, checks the floor and the ceiling, writes
-- the numbered ledger row and the balances, and sends the movement to the shop's live screens
-- (realtime.send, inside the transaction: heard only after COMMIT). The balance update touches no
-- indexed column, so it is a HOT update (trim_ledger_and_customer_writes).
create or replace function private.record_movement(
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
  where c.id = p_customer_id
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
  where c.id = v_locked.id;

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

-- record_movement builds the payload itself now: one plpgsql call less per movement.
drop function private.broadcast_movement(public.transactions, public.customers);
