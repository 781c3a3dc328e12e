-- Refund of the remaining balance (환불). The Fair Trade Commission's standard terms for prepaid value
-- give the customer the remainder once they used at least 60 % of what they charged (80 % where that
-- was under 10,000원), and all of an unused charge within 7 days; the dispute standard allows a fee
-- of at most 10 %; bonus given free is not refunded. Measured on paid money charged since the last
-- refund. The refund pays out the paid part less the fee, forfeits the bonus, and leaves the balance
-- at zero, as one ledger row written by record_movement.

-- The figures of a refund of this customer now. The caller holds the customer's row (a quote reads
-- it; the refund locked it).
create function private.refund_terms(p_customer public.customers, p_shop public.shops)
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
  from public.transactions t where t.customer_id = p_customer.id and t.type = 'refund';
  select coalesce(sum(t.amount) filter (where t.type = 'charge'), 0)
           - coalesce(sum(t.paid_amount) filter (where t.type = 'charge_cancel'), 0),
         coalesce(sum(t.amount) filter (where t.type = 'deduct'), 0)
           - coalesce(sum(t.amount) filter (where t.type = 'deduct_cancel'), 0),
         min(t.created_at) filter (where t.type = 'charge')
    into v_charged, v_used, v_first_charge_at
  from public.transactions t
  where t.customer_id = p_customer.id and t.sequence > v_last_refund;
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

create function public.quote_refund(p_actor_user_id uuid, p_customer_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_customer public.customers;
  v_shop public.shops;
begin
  select c.* into v_customer from public.customers c where c.id = p_customer_id;
  if not found then
    perform private.raise_error('customer_not_found', 'no such customer', jsonb_build_object('customer_id', p_customer_id));
  end if;
  perform private.authorize_member(p_actor_user_id, v_customer.shop_id, array['owner', 'manager']);
  select s.* into v_shop from public.shops s where s.id = v_customer.shop_id;
  return private.refund_terms(v_customer, v_shop);
end;
$$;

create function public.refund_balance(
  p_actor_user_id uuid,
  p_customer_id uuid,
  p_method text,
  p_idempotency_key text,
  p_memo text default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_customer public.customers;
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
  select c.* into v_customer from public.customers c where c.id = p_customer_id;
  if not found then
    perform private.raise_error('customer_not_found', 'no such customer', jsonb_build_object('customer_id', p_customer_id));
  end if;
  perform private.authorize_member(p_actor_user_id, v_customer.shop_id, array['owner', 'manager']);

  perform private.lock_idempotency_key(v_customer.shop_id, p_idempotency_key);
  v_replay := private.replay_of(v_customer.shop_id, p_idempotency_key, 'refund', p_customer_id, null, null, p_memo,
    p_actor_user_id, null);
  if v_replay is not null then
    if v_replay -> 'refund' ->> 'method' <> p_method then
      perform private.raise_error('idempotency_key_reused',
        'this idempotency key was already used in this shop for another request',
        jsonb_build_object('transaction_id', v_replay -> 'transaction' -> 'id'));
    end if;
    return v_replay;
  end if;

  select c.* into v_customer from public.customers c where c.id = p_customer_id for update;
  select s.* into v_shop from public.shops s where s.id = v_customer.shop_id;
  v_terms := private.refund_terms(v_customer, v_shop);
  if v_customer.current_balance = 0 then
    perform private.raise_error('nothing_to_refund', 'the balance is zero', v_terms);
  end if;
  if not (v_terms ->> 'allowed')::boolean then
    perform private.raise_error('refund_not_allowed',
      'the customer has no statutory right to a refund now, and this shop refunds only then', v_terms);
  end if;
  v_refund := private.record_movement(v_customer.id, 'refund', v_customer.current_balance, v_customer.bonus_balance,
    p_idempotency_key, p_actor_user_id, null, p_memo, null, null, p_method, (v_terms ->> 'fee')::bigint,
    v_terms ->> 'rule');
  return private.money_result(v_refund, false);
end;
$$;

revoke all on function private.refund_terms(public.customers, public.shops) from public, anon, authenticated, service_role;
revoke all on function
  public.quote_refund(uuid, uuid),
  public.refund_balance(uuid, uuid, text, text, text)
from public, anon, authenticated;
grant execute on function
  public.quote_refund(uuid, uuid),
  public.refund_balance(uuid, uuid, text, text, text)
to service_role;
