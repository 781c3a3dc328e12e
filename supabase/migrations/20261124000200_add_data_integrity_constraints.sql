-- The rules that hold whatever path a row takes, the money functions included. The functions check
-- the same rules first to answer with a precise error code; these constraints are the last line, so
-- that a bug in a function can fail a request but never corrupt a balance or the ledger.
-- This runs before the functions are created, so that no function ever runs on an unconstrained table.

alter table public.shops
  add constraint shops_name_length check (char_length(btrim(name)) between 1 and 100),
  add constraint shops_max_balance_positive check (max_balance > 0),
  add constraint shops_pin_max_attempts_range check (pin_max_attempts between 1 and 20),
  add constraint shops_pin_lock_minutes_range check (pin_lock_minutes between 1 and 1440);

alter table public.shop_members
  add constraint shop_members_role_known check (role in ('owner', 'manager', 'staff'));

alter table public.customers
  add constraint customers_balance_not_negative check (current_balance >= 0),
  add constraint customers_name_length check (char_length(btrim(name)) between 1 and 100),
  add constraint customers_phone_format check (phone ~ '^010-[0-9]{4}-[0-9]{4}$'),
  add constraint customers_phone_unique_in_shop unique (shop_id, phone);

alter table public.kiosks
  add constraint kiosks_name_length check (char_length(btrim(name)) between 1 and 100);

alter table public.transactions
  add constraint transactions_type_known
    check (type in ('charge', 'deduct', 'charge_cancel', 'deduct_cancel')),
  -- 10,000,000 KRW: the per-transaction ceiling of the contract.
  add constraint transactions_amount_range check (amount > 0 and amount <= 10000000),
  add constraint transactions_balance_after_not_negative check (balance_after >= 0),
  add constraint transactions_reversal_has_original
    check ((type in ('charge_cancel', 'deduct_cancel')) = (original_transaction_id is not null)),
  add constraint transactions_one_actor check (num_nonnulls(actor_user_id, actor_kiosk_id) = 1),
  add constraint transactions_idempotency_key_format
    -- The length apart from the pattern: a bounded repetition {1,200} costs PostgreSQL's regex engine
    -- about 23 µs a row against 1 µs, which the bulk loader of the 10M-row dataset feels.
    check (char_length(idempotency_key) <= 200 and idempotency_key ~ '^[\x21-\x7e]+$'),
  add constraint transactions_memo_length check (char_length(memo) <= 500),
  add constraint transactions_idempotency_key_unique_in_shop unique (shop_id, idempotency_key),
  -- The target of the reversal's foreign key below: a transaction together with its customer.
  add constraint transactions_id_customer_unique unique (id, customer_id),
  -- At most one reversal per original. The customer is part of the key only so that this index
  -- also covers the foreign key below; since that key forces the customer to be the original's,
  -- the pair is unique exactly when original_transaction_id is.
  add constraint transactions_one_reversal_per_original unique (original_transaction_id, customer_id),
  -- A reversal points at an original of the same customer.
  add constraint transactions_reversal_same_customer
    foreign key (original_transaction_id, customer_id) references public.transactions (id, customer_id);

-- A ledger row belongs to its customer's shop, and a kiosk only acts for its own shop. A check
-- constraint cannot look at another table, and composite foreign keys for these would each need one
-- more index on the hottest table; one primary-key probe per insert is cheaper.
create function private.check_ledger_row_shop()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not exists (
    select 1 from public.customers c where c.id = new.customer_id and c.shop_id = new.shop_id
  ) then
    raise exception 'transaction % names customer % outside its shop %', new.id, new.customer_id, new.shop_id
      using errcode = 'foreign_key_violation';
  end if;
  if new.actor_kiosk_id is not null and not exists (
    select 1 from public.kiosks k where k.id = new.actor_kiosk_id and k.shop_id = new.shop_id
  ) then
    raise exception 'transaction % names kiosk % outside its shop %', new.id, new.actor_kiosk_id, new.shop_id
      using errcode = 'foreign_key_violation';
  end if;
  return new;
end;
$$;

revoke all on function private.check_ledger_row_shop() from public, anon, authenticated;

create trigger transactions_belong_to_the_customers_shop
  before insert on public.transactions
  for each row execute function private.check_ledger_row_shop();

alter table private.customer_pins
  add constraint customer_pins_failed_attempts_not_negative check (failed_attempts >= 0);

alter table private.kiosk_credentials
  add constraint kiosk_credentials_key_hash_is_sha256_hex check (key_hash ~ '^[0-9a-f]{64}$');
