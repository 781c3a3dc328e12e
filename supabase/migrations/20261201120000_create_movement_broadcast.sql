-- Live screens: every committed money movement is broadcast to its shop's private Realtime channel
-- (`shop:<shop_id>`, event `movement`), Supabase's "Broadcast from the database" pattern. The send
-- happens in private.record_movement, the one place a balance changes (it calls this function from
-- redefine_money_functions_for_paid_and_bonus on, and builds the payload itself from
-- streamline_money_path_functions on), and not in a trigger on the ledger (the ledger must stay free
-- of triggers to be distributed). realtime.send only inserts into
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

