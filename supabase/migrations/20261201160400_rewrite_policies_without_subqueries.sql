-- RLS policies without a subquery (issue 16): Citus refuses a subquery in a policy of a distributed
-- table, and every policy read `shop_id = any ((select private.member_shop_ids())::uuid[])`.
--
-- The subquery made the member's shops an InitPlan, computed once per statement. Called directly,
-- private.member_shop_ids() (stable) is computed once per index scan when the condition is an index
-- condition, and once per row when it is a filter. So each table's reads keep an index with shop_id
-- in it, and the condition lands in that index's condition: a shop's customers and ledger through
-- indexes led by shop_id, a customer's history through transactions_sequence_unique_per_customer
-- (customer_id, sequence, shop_id), whose last column takes the condition while the scan still reads
-- in sequence order. tests/database/indexes_and_advisors.test.ts checks each read's plan as a
-- signed-in member, and that the policy's condition is an index condition in each.
-- The policy on realtime.messages keeps its subqueries: that table is Realtime's, not a product table,
-- and is never distributed.
alter policy "shop members can read their own shops" on public.shops
  using (id = any (private.member_shop_ids()));
alter policy "shop members can read the members of their shops" on public.shop_members
  using (shop_id = any (private.member_shop_ids()));
alter policy "shop members can read their shop's customers" on public.customers
  using (shop_id = any (private.member_shop_ids()));
alter policy "shop members can read their shop's kiosks" on public.kiosks
  using (shop_id = any (private.member_shop_ids()));
alter policy "shop members can read their shop's ledger" on public.transactions
  using (shop_id = any (private.member_shop_ids()));
alter policy "shop members can read their shop's promotions" on public.promotions
  using (shop_id = any (private.member_shop_ids()));
