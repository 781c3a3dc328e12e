-- No trigger on a product table (issue 16): Citus refuses triggers on distributed tables unless an
-- unsafe setting is on. What each ledger trigger guarded now holds where it survives distribution:
--
-- transactions_are_immutable -> privileges. No API role may insert, update, delete or truncate the
--   ledger (Supabase's default privileges give anon, authenticated and service_role everything on a
--   new table; the initial schema revoked it, and this migration revokes it again, so that a later
--   grant cannot creep in unnoticed). The money functions are security definer, owned by the table's
--   owner: they are the one way a row is written, and none of them updates or deletes one.
--   tests/database/row_level_security.test.ts proves service_role and authenticated are refused.
-- transactions_belong_to_the_customers_shop -> the composite keys (customer_id, shop_id) -> customers
--   and (actor_kiosk_id, shop_id) -> kiosks (rekey_tables_by_shop).
-- transactions_reversal_within_original -> the functions that write reversals, each of which reads the
--   original and sums its earlier reversals under the customer's row lock before writing
--   (route_money_functions_by_shop): cancel_transaction writes a charge_cancel only for a charge,
--   taking back exactly its amount and its bonus, and a deduct_cancel only for a deduct, refusing any
--   amount above what remains of it (its bonus part is a share of the remaining bonus, never above
--   it); the charge writes its bonus pointing at itself. One charge_cancel and one bonus per charge stay
--   a unique index.
drop trigger transactions_are_immutable on public.transactions;
drop trigger transactions_belong_to_the_customers_shop on public.transactions;
drop trigger transactions_reversal_within_original on public.transactions;
drop function private.refuse_ledger_change();
drop function private.check_ledger_row_shop();
drop function private.check_reversal_within_original();

revoke insert, update, delete, truncate, references, trigger on public.transactions
  from public, anon, authenticated, service_role;
