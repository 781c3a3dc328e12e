-- What each money movement writes, made smaller without loosening a rule (issue 13). Measured with
-- `npm run bench:profile` (README, "Where the time goes"): the ledger insert was a third of a deduct
-- and the customer's balance update another tenth, mostly index maintenance.
--
-- 1. A shop's customers and kiosks are found through unique (shop_id, id) keys, which also let later
--    keys name a customer or kiosk together with its shop. The ledger keeps its shop-consistency
--    trigger: a composite key (customer_id, shop_id) -> customers was tried and dropped, because the
--    index covering it puts the RLS shop condition into an index condition, and the planner then
--    sometimes read a regular's whole history and sorted it instead of reading the newest 20 rows
--    in sequence order (tests/database/indexes_and_advisors.test.ts caught it under concurrent writes).
alter table public.customers
  -- Also the index of "a shop's customers" (shop_outstanding_balances, RLS lists): the old
  -- customers_shop_id_idx was this index's prefix.
  add constraint customers_shop_id_id_unique unique (shop_id, id);
alter table public.kiosks
  -- Also the index of "a shop's kiosks", in place of kiosks_shop_id_idx.
  add constraint kiosks_shop_id_id_unique unique (shop_id, id);

-- 2. Indexes that other indexes cover, or that index nulls no query asks for.
drop index public.customers_shop_id_idx;
drop index public.kiosks_shop_id_idx;
-- A customer's whole ledger, and the key on customer_id, are served by the unique (customer_id,
-- sequence) key, of which this index was the prefix.
drop index public.transactions_customer_id_idx;
-- A staff movement has no kiosk, a kiosk payment no acting user and a charge or deduct no original:
-- their rows wrote a null entry into each of these on every insert. Partial, they serve the same
-- queries (an equality on the column implies it is not null) and the foreign keys they cover.
drop index public.transactions_actor_kiosk_id_idx;
create index transactions_actor_kiosk_id_idx on public.transactions (actor_kiosk_id)
  where actor_kiosk_id is not null;
drop index public.transactions_actor_user_id_idx;
create index transactions_actor_user_id_idx on public.transactions (actor_user_id)
  where actor_user_id is not null;
drop index public.transactions_original_transaction_id_idx;
create index transactions_original_transaction_id_idx on public.transactions (original_transaction_id, customer_id)
  where original_transaction_id is not null;

-- 3. HOT updates of the balance. Every movement changes current_balance, and an index on it made
--    every balance update a new entry in each of the customer's indexes. Without it no indexed
--    column of customers changes in a movement, so PostgreSQL updates the row in place on its page
--    (heap-only), given room there: fillfactor 80 leaves it on pages written from now on. The
--    largest balances (a service-side dashboard read) are a top-N sort of the customers instead,
--    within one shop through customers_shop_id_id_unique.
drop index public.customers_current_balance_desc_idx;
alter table public.customers set (fillfactor = 80);
