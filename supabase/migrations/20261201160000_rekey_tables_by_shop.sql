-- Every key of the product's tables names the shop (issue 16): Citus distributes a table by one column
-- (shop_id here; shops by its id, the distribution root) and accepts a primary key, a unique
-- constraint or a foreign key between distributed tables only when it includes that column. It also
-- keeps a shop's rows of every table on one node (co-location), so that a money movement, which never
-- crosses two shops, runs on one node. tests/database/distribution_rules.test.ts reads the catalog
-- and fails on any key that does not name the shop.
--
-- Which columns lead each index is chosen by the queries it serves, not by the key: Citus takes the
-- distribution column anywhere in a key.
--
-- The ledger's indexes after this migration (11, one fewer than before; each is written on every
-- movement, so none is added):
--   transactions_pkey (id, shop_id): a row by its id, alone (the cancel of an old caller that does not
--     send the shop; PostgREST's transactions?id=eq.) or with its shop (the cancel, a reversal's key).
--   transactions_idempotency_key_unique_in_shop (shop_id, idempotency_key): unchanged.
--   transactions_sequence_unique_per_customer (customer_id, sequence, shop_id): a customer's history,
--     newest first in sequence order. shop_id comes last on purpose: the RLS condition
--     shop_id = any (private.member_shop_ids()) is then an index condition on the last column, checked
--     once per scan, and the scan still returns rows in sequence order, so the newest 20 are read and
--     nothing is sorted. With shop_id before sequence (a "composite FK covering index") the planner
--     must sort the whole history of the customer (README, issue 13's note on the trigger).
--   transactions_customer_id_created_at_idx, now (customer_id, shop_id, created_at desc): a customer's
--     statement over a period, and the index covering the key (customer_id, shop_id) -> customers.
--   transactions_one_bonus_and_one_cancel_per_charge, now (original_transaction_id, type, shop_id).
--   transactions_original_transaction_id_idx, now (original_transaction_id, shop_id): the reversals
--     of one original, and the index covering the reversal's key.
--   transactions_actor_kiosk_id_idx, transactions_promotion_id_idx, now (actor_kiosk_id, shop_id) and
--     (promotion_id, shop_id), partial as before: what a kiosk took, what a promotion granted, and the
--     indexes covering those keys.
--   unchanged: transactions_created_at_desc_idx, transactions_shop_id_created_at_idx,
--     transactions_actor_user_id_idx.
--   dropped: transactions_id_customer_unique (id, customer_id). It was the target of the key that kept a
--     reversal on its original's customer. The functions that write reversals (cancel_transaction and
--     the charge's bonus) take the customer from the original they have read, under that customer's row
--     lock, and no role but the table's owner may write the ledger (replace_ledger_triggers), so the
--     same customer holds by construction; the key (original_transaction_id, shop_id) keeps the shop.

-- 1. Keys that refer to the old single-column keys go first.
alter table public.transactions
  drop constraint transactions_customer_id_fkey,
  drop constraint transactions_actor_kiosk_id_fkey,
  drop constraint transactions_promotion_fk,
  drop constraint transactions_reversal_same_customer,
  drop constraint transactions_id_customer_unique;
alter table private.customer_pins drop constraint customer_pins_customer_id_fkey;
alter table private.kiosk_credentials drop constraint kiosk_credentials_kiosk_id_fkey;

-- 2. Customers, kiosks and promotions: primary key (shop_id, id). Lookups by id alone (an old caller's
--    customer_id without its shop, a kiosk or promotion named by id) keep an index of their own; for
--    customers and kiosks it replaces the unique (shop_id, id) that the primary key now is.
alter table public.customers drop constraint customers_pkey;
alter table public.customers drop constraint customers_shop_id_id_unique;
alter table public.customers add constraint customers_pkey primary key (shop_id, id);
create index customers_id_idx on public.customers (id);

alter table public.kiosks drop constraint kiosks_pkey;
alter table public.kiosks drop constraint kiosks_shop_id_id_unique;
alter table public.kiosks add constraint kiosks_pkey primary key (shop_id, id);
create index kiosks_id_idx on public.kiosks (id);

alter table public.promotions drop constraint promotions_pkey;
alter table public.promotions add constraint promotions_pkey primary key (shop_id, id);
create index promotions_id_idx on public.promotions (id);
-- A shop's promotions (the charge's search for the best one) are read through the primary key now;
-- with both, the planner took the key and left this index unused.
drop index public.promotions_shop_id_idx;

-- 3. The ledger.
alter table public.transactions drop constraint transactions_pkey;
alter table public.transactions add constraint transactions_pkey primary key (id, shop_id);

alter table public.transactions drop constraint transactions_sequence_unique_per_customer;
alter table public.transactions
  add constraint transactions_sequence_unique_per_customer unique (customer_id, sequence, shop_id);

drop index public.transactions_customer_id_created_at_idx;
create index transactions_customer_id_created_at_idx on public.transactions (customer_id, shop_id, created_at desc);

drop index public.transactions_one_bonus_and_one_cancel_per_charge;
create unique index transactions_one_bonus_and_one_cancel_per_charge
  on public.transactions (original_transaction_id, type, shop_id)
  where type in ('charge_cancel', 'bonus');

drop index public.transactions_original_transaction_id_idx;
create index transactions_original_transaction_id_idx on public.transactions (original_transaction_id, shop_id)
  where original_transaction_id is not null;
drop index public.transactions_actor_kiosk_id_idx;
create index transactions_actor_kiosk_id_idx on public.transactions (actor_kiosk_id, shop_id)
  where actor_kiosk_id is not null;
drop index public.transactions_promotion_id_idx;
create index transactions_promotion_id_idx on public.transactions (promotion_id, shop_id)
  where promotion_id is not null;

-- The keys between product tables, each with the shop: a ledger row's customer, kiosk, promotion and
-- original are of the row's own shop (this is what the trigger transactions_belong_to_the_customers_shop
-- checked). The column order matches the index that covers each key (Supabase's unindexed_foreign_keys
-- lint compares them in order).
alter table public.transactions
  add constraint transactions_customer_fkey foreign key (customer_id, shop_id)
    references public.customers (id, shop_id),
  add constraint transactions_actor_kiosk_fkey foreign key (actor_kiosk_id, shop_id)
    references public.kiosks (id, shop_id),
  add constraint transactions_promotion_fkey foreign key (promotion_id, shop_id)
    references public.promotions (id, shop_id),
  add constraint transactions_original_transaction_fkey foreign key (original_transaction_id, shop_id)
    references public.transactions (id, shop_id);

-- 4. PINs and kiosk keys carry their shop, so that they sit on the node of their customer and kiosk.
alter table private.customer_pins add column shop_id uuid;
update private.customer_pins p set shop_id = c.shop_id from public.customers c where c.id = p.customer_id;
alter table private.customer_pins alter column shop_id set not null;
alter table private.customer_pins drop constraint customer_pins_pkey;
alter table private.customer_pins add constraint customer_pins_pkey primary key (shop_id, customer_id);
alter table private.customer_pins
  add constraint customer_pins_customer_fkey foreign key (shop_id, customer_id)
    references public.customers (shop_id, id) on delete cascade;

alter table private.kiosk_credentials add column shop_id uuid;
update private.kiosk_credentials k set shop_id = s.shop_id from public.kiosks s where s.id = k.kiosk_id;
alter table private.kiosk_credentials alter column shop_id set not null;
alter table private.kiosk_credentials drop constraint kiosk_credentials_pkey;
alter table private.kiosk_credentials add constraint kiosk_credentials_pkey primary key (shop_id, kiosk_id);
alter table private.kiosk_credentials
  add constraint kiosk_credentials_kiosk_fkey foreign key (shop_id, kiosk_id)
    references public.kiosks (shop_id, id) on delete cascade;
-- A kiosk presents its key and nothing else: the one lookup that finds its shop is by the key's hash.
-- Unique within a shop (a 32-byte random key makes a collision across shops impossible in practice).
alter table private.kiosk_credentials drop constraint kiosk_credentials_key_hash_key;
alter table private.kiosk_credentials
  add constraint kiosk_credentials_key_hash_unique_in_shop unique (shop_id, key_hash);
create index kiosk_credentials_key_hash_idx on private.kiosk_credentials (key_hash);
