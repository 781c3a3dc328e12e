-- The last line for rows that point at an original (issue 12), as the constraints are for single
-- rows: a bonus follows a charge, a charge's cancel takes exactly the charge and its bonus, and a
-- deduct's cancels never add up to more than the deduct. cancel_transaction checks the same under
-- the customer's row lock first, to answer with a precise code; this refuses any writer's mistake.
-- Only rows with an original pay for it (a primary-key probe and the original's reversals, through
-- transactions_original_transaction_id_idx).
create function private.check_reversal_within_original()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_original public.transactions;
  v_original_type text := case new.type when 'deduct_cancel' then 'deduct' else 'charge' end;
  v_taken bigint;
  v_taken_bonus bigint;
begin
  select t.* into v_original from public.transactions t where t.id = new.original_transaction_id;
  if not found then
    -- The foreign key refuses a missing original, with its own error.
    return new;
  end if;
  if v_original.type is distinct from v_original_type then
    raise exception 'a % must point at a %, not a %', new.type, v_original_type, v_original.type
      using errcode = 'check_violation', constraint = 'transactions_reversal_within_original';
  end if;
  if new.type = 'charge_cancel' then
    select coalesce(sum(t.amount), 0) into v_taken_bonus
    from public.transactions t
    where t.original_transaction_id = v_original.id and t.customer_id = v_original.customer_id and t.type = 'bonus';
    if new.amount <> v_original.amount + v_taken_bonus or new.bonus_amount <> v_taken_bonus then
      raise exception 'the cancel of charge % must take back % paid and % bonus', v_original.id, v_original.amount, v_taken_bonus
        using errcode = 'check_violation', constraint = 'transactions_reversal_within_original';
    end if;
  elsif new.type = 'deduct_cancel' then
    select coalesce(sum(t.amount), 0), coalesce(sum(t.bonus_amount), 0) into v_taken, v_taken_bonus
    from public.transactions t
    where t.original_transaction_id = v_original.id and t.customer_id = v_original.customer_id;
    if v_taken + new.amount > v_original.amount or v_taken_bonus + new.bonus_amount > v_original.bonus_amount then
      raise exception 'the cancels of deduct % would return more than it took', v_original.id
        using errcode = 'check_violation', constraint = 'transactions_reversal_within_original';
    end if;
  end if;
  return new;
end;
$$;

revoke all on function private.check_reversal_within_original() from public, anon, authenticated;

create trigger transactions_reversal_within_original
  before insert on public.transactions
  for each row when (new.original_transaction_id is not null)
  execute function private.check_reversal_within_original();
