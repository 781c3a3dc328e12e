-- Live screens: every committed money movement is broadcast to its shop's private Realtime channel
-- (`shop:<shop_id>`, event `movement`), Supabase's "Broadcast from the database" pattern. The send
-- happens in private.record_movement, the one place a balance changes, and not in a trigger on the
-- ledger (the ledger must stay free of triggers to be distributed). realtime.send only inserts into
-- realtime.messages inside the caller's transaction: Realtime reads the row from the WAL after
-- COMMIT, so a rolled-back movement is never heard of, and a failed send is a warning, never a
-- refused payment. Who hears a shop's topic is decided by the RLS policy on realtime.messages
-- (add_realtime_shop_policy).

-- The one payload builder: what a counter screen needs to show the movement and the balance it
-- left, and nothing secret (no PIN, no key hash, no idempotency key).
create function private.broadcast_movement(p_transaction public.transactions, p_customer public.customers)
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform realtime.send(
    jsonb_build_object(
      'shop_id', p_transaction.shop_id,
      'transaction', jsonb_build_object(
        'id', p_transaction.id,
        'type', p_transaction.type,
        'amount', p_transaction.amount,
        'balance_after', p_transaction.balance_after,
        'created_at', p_transaction.created_at,
        'customer_id', p_transaction.customer_id,
        'original_transaction_id', p_transaction.original_transaction_id,
        'actor_user_id', p_transaction.actor_user_id,
        'actor_kiosk_id', p_transaction.actor_kiosk_id,
        'memo', p_transaction.memo
      ),
      'customer', jsonb_build_object(
        'id', p_customer.id,
        'name', p_customer.name,
        'balance', p_transaction.balance_after
      )
    ),
    'movement',
    'shop:' || p_transaction.shop_id::text,
    true
  );
end;
$$;

revoke all on function private.broadcast_movement(public.transactions, public.customers)
  from public, anon, authenticated, service_role;

-- As in refuse_closed_customers_in_movements, plus the broadcast after the ledger row and the balance.
create or replace function private.record_movement(
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
  perform private.refuse_closed_customer(p_customer);
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

  perform private.broadcast_movement(v_transaction, p_customer);

  return private.money_result(v_transaction, false);
end;
$$;
