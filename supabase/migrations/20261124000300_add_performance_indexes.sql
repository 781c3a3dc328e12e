-- Twelve indexes, each named after the query it serves. tests/database/indexes_and_advisors.test.ts runs each
-- of these queries on a large dataset and asserts from EXPLAIN that it uses its index; the unique
-- constraints (phone per shop, idempotency key per shop, one reversal per original) bring their own.

-- 1. A shop's customers as a whole: the count and outstanding balance (shop_outstanding_balances)
--    and the RLS-scoped "all customers of my shop"; also covers the customers -> shops foreign key.
create index customers_shop_id_idx on public.customers (shop_id);

-- 2. A shop's customers by name: looking one up by full name (where shop_id = $1 and name = $2),
--    and the list in name order.
create index customers_shop_id_name_idx on public.customers (shop_id, name);

-- 3. The largest prepaid balances (the liability dashboard): order by current_balance desc limit n.
create index customers_current_balance_desc_idx on public.customers (current_balance desc);

-- 4. One customer's whole ledger: the sum that reconciles one customer, what they were charged in a
--    period, and the transactions -> customers foreign key. Deduplicated, so it is the smallest way
--    to read all of a customer's rows; the history view, which wants only the latest, is index 6.
create index transactions_customer_id_idx on public.transactions (customer_id);

-- 5. The most recent movements across shops (service-side monitoring): order by created_at desc limit n.
create index transactions_created_at_desc_idx on public.transactions (created_at desc);

-- 6. A customer's history as a member reads it, newest first:
--    where customer_id = $1 order by created_at desc limit 20. It reads the 20 rows it returns,
--    however long the history: through index 4 the same 20 rows cost reading and sorting every row
--    of the customer, which measured (npm run bench:reads) p95 3.9x slower at 10,000,000 transactions than
--    at 100,000 for the same 1,000 customers. An owner's audit of reversals
--    (where shop_id = $1 and type in ('charge_cancel', 'deduct_cancel') order by created_at desc)
--    walks index 7 instead: its cost depends on the share of reversals (about 2 %: some 2,500 rows
--    for 50), not on the ledger's size, so it needs no index of its own.
create index transactions_customer_id_created_at_idx on public.transactions (customer_id, created_at desc);

-- 7. A shop's ledger, newest first (and of one day or month: the range is on created_at):
--    where shop_id = $1 order by created_at desc limit n; also covers
--    the transactions -> shops foreign key.
create index transactions_shop_id_created_at_idx on public.transactions (shop_id, created_at desc);

-- 8. What one staff member did (where actor_user_id = $1); covers the foreign key to auth.users.
create index transactions_actor_user_id_idx on public.transactions (actor_user_id);

-- 9. What one kiosk took (where actor_kiosk_id = $1); covers the foreign key to kiosks.
create index transactions_actor_kiosk_id_idx on public.transactions (actor_kiosk_id);

-- 10. Finding a shop's customer by the last four digits of the phone, the way Korean shops search:
--     where shop_id = $1 and phone_last4 = $2. Not a pg_trgm index for arbitrary fragments: members
--     read through RLS, and PostgreSQL never uses a non-leakproof operator such as LIKE/ILIKE as an
--     index condition under a row-security policy, so a trigram index would serve no member's query.
--     Equality is leakproof; a fragment search of a name runs within the shop's rows (index 1).
create index customers_shop_id_phone_last4_idx on public.customers (shop_id, phone_last4);

-- 11. The shops a user belongs to (where user_id = $1): private.member_shop_ids(), which every RLS
--     policy evaluates once per statement, and the frontend's shop picker; covers the
--     shop_members -> auth.users foreign key.
create index shop_members_user_id_idx on public.shop_members (user_id);

-- 12. A shop's kiosks (where shop_id = $1); covers the kiosks -> shops foreign key.
create index kiosks_shop_id_idx on public.kiosks (shop_id);

-- Not an index, but what lets the planner use 6 (a customer's history) for the customers who need it:
-- a regular with thousands of movements must show in the statistics as one, or the planner takes them
-- for an average customer and walks the whole ledger by time instead. The default target (100) keeps
-- 100 most-common customers from a 30,000-row sample; 1000 keeps the heavy ones of a large ledger.
alter table public.transactions alter column customer_id set statistics 1000;
