-- The owner sets the prepaid money rules of split_balances_into_paid_and_bonus through the same
-- settings call as the name, the ceiling and the PIN policy (PATCH /functions/v1/shops): the spending
-- order, the refund fee and whether refunds are made outside the statutory right. The shop's answer
-- shows them too.

create or replace function private.shop_json(p_shop public.shops)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_shop.id,
    'name', p_shop.name,
    'max_balance', p_shop.max_balance,
    'pin_max_attempts', p_shop.pin_max_attempts,
    'pin_lock_minutes', p_shop.pin_lock_minutes,
    'spend_bonus_first', p_shop.spend_bonus_first,
    'refund_fee_percent', p_shop.refund_fee_percent,
    'allow_refunds_outside_right', p_shop.allow_refunds_outside_right,
    'created_at', p_shop.created_at
  )
$$;

drop function public.update_shop(uuid, uuid, text, bigint, integer, integer);

-- As in create_shop_and_member_functions, with the three money settings. A null argument leaves that
-- setting as it is; the bounds are answered with the field that broke them.
create function public.update_shop(
  p_actor_user_id uuid,
  p_shop_id uuid,
  p_name text default null,
  p_max_balance bigint default null,
  p_pin_max_attempts integer default null,
  p_pin_lock_minutes integer default null,
  p_spend_bonus_first boolean default null,
  p_refund_fee_percent integer default null,
  p_allow_refunds_outside_right boolean default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_name text;
  v_shop public.shops;
begin
  perform private.lock_shop(p_shop_id);
  perform private.authorize_member(p_actor_user_id, p_shop_id, array['owner']);
  if p_name is not null then
    v_name := private.check_name(p_name);
  end if;
  if p_max_balance is not null and p_max_balance not between 1 and 1000000000 then
    perform private.raise_error('validation_failed', 'the balance ceiling is 1 to 1,000,000,000 won',
      jsonb_build_object('field', 'max_balance', 'min', 1, 'max', 1000000000));
  end if;
  if p_pin_max_attempts is not null and p_pin_max_attempts not between 1 and 20 then
    perform private.raise_error('validation_failed', 'a PIN locks after 1 to 20 wrong attempts',
      jsonb_build_object('field', 'pin_max_attempts', 'min', 1, 'max', 20));
  end if;
  if p_pin_lock_minutes is not null and p_pin_lock_minutes not between 1 and 1440 then
    perform private.raise_error('validation_failed', 'a PIN lock lasts 1 to 1,440 minutes',
      jsonb_build_object('field', 'pin_lock_minutes', 'min', 1, 'max', 1440));
  end if;
  if p_refund_fee_percent is not null and p_refund_fee_percent not between 0 and 10 then
    perform private.raise_error('validation_failed', 'the refund fee is 0 to 10 percent',
      jsonb_build_object('field', 'refund_fee_percent', 'min', 0, 'max', 10));
  end if;
  update public.shops s
  set name = coalesce(v_name, s.name),
      max_balance = coalesce(p_max_balance, s.max_balance),
      pin_max_attempts = coalesce(p_pin_max_attempts, s.pin_max_attempts),
      pin_lock_minutes = coalesce(p_pin_lock_minutes, s.pin_lock_minutes),
      spend_bonus_first = coalesce(p_spend_bonus_first, s.spend_bonus_first),
      refund_fee_percent = coalesce(p_refund_fee_percent, s.refund_fee_percent),
      allow_refunds_outside_right = coalesce(p_allow_refunds_outside_right, s.allow_refunds_outside_right)
  where s.id = p_shop_id
  returning s.* into v_shop;
  return jsonb_build_object('shop', private.shop_json(v_shop));
end;
$$;

revoke all on function public.update_shop(uuid, uuid, text, bigint, integer, integer, boolean, integer, boolean)
  from public, anon, authenticated;
grant execute on function public.update_shop(uuid, uuid, text, bigint, integer, integer, boolean, integer, boolean)
  to service_role;
