-- A customer can be closed (moved away, asked to leave) and then erased (개인정보 파기): the ledger
-- rows stay, unchanged, so the books still add up, but the name and phone go. Erasing empties the
-- two columns, so they may now be null, and only on an erased customer. The constraints are the
-- last line behind close_customer and erase_customer: a closed customer holds no money, and only a
-- closed customer is ever erased.

alter table public.customers
  add column closed_at timestamptz,
  add column erased_at timestamptz,
  alter column name drop not null,
  alter column phone drop not null;

alter table public.customers
  add constraint customers_erased_only_when_closed check (erased_at is null or closed_at is not null),
  add constraint customers_personal_data_until_erased check (
    case when erased_at is null then name is not null and phone is not null
         else name is null and phone is null end
  ),
  add constraint customers_closed_with_zero_balance check (closed_at is null or current_balance = 0);

-- An owner sets the ceiling through update_shop now, not an operator: bound it, so that a typo of
-- three zeros cannot let one customer prepay ten billion won. 1,000,000,000 KRW is far above any
-- regular's prepaid balance; shops_max_balance_positive keeps the floor.
alter table public.shops
  add constraint shops_max_balance_ceiling check (max_balance <= 1000000000);
