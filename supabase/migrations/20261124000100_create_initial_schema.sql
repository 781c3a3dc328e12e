-- The data model of Comings: shops and their members, customers with prepaid balances, the immutable
-- ledger of money movements, kiosks, and the secrets (PIN hashes, kiosk key hashes) kept where no API
-- role can read them. Row-level security is switched on here, with the tables, so that no table is
-- ever reachable through the Data API without its policies.
--
-- Reads go through PostgREST with the member's JWT and RLS; every write goes through the security
-- definer functions of the later migrations, called by the edge functions with the service role.
-- Checks, unique keys and composite foreign keys live in add_data_integrity_constraints; indexes in
-- add_performance_indexes.

create schema if not exists private;
-- Supabase gives the API roles nothing on a new schema; say so anyway, so that a project whose
-- defaults were changed still keeps PIN and key hashes out of the Data API's reach.
revoke all on schema private from public, anon, authenticated, service_role;

create table public.shops (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  max_balance bigint not null default 2000000,
  pin_max_attempts integer not null default 5,
  pin_lock_minutes integer not null default 15,
  created_at timestamptz not null default now()
);

create table public.shop_members (
  shop_id uuid not null references public.shops (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null,
  created_at timestamptz not null default now(),
  primary key (shop_id, user_id)
);

create table public.customers (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id),
  name text not null,
  phone text not null,
  -- Korean shops find a customer by the last four digits of the phone (뒷자리 검색). A column, not an
  -- expression, so that PostgREST can filter on it (phone_last4=eq.5678) and the index can serve it.
  phone_last4 text generated always as (right(phone, 4)) stored,
  current_balance bigint not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table public.kiosks (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id),
  name text not null,
  active boolean not null default true,
  last_seen_at timestamptz,
  created_at timestamptz not null default now()
);

create table public.transactions (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id),
  customer_id uuid not null references public.customers (id),
  type text not null,
  amount bigint not null,
  balance_after bigint not null,
  original_transaction_id uuid,
  idempotency_key text not null,
  actor_user_id uuid references auth.users (id),
  actor_kiosk_id uuid references public.kiosks (id),
  memo text,
  created_at timestamptz not null default now()
);

create table private.customer_pins (
  customer_id uuid primary key references public.customers (id) on delete cascade,
  pin_hash text not null,
  failed_attempts integer not null default 0,
  locked_until timestamptz,
  updated_at timestamptz not null default now()
);

create table private.kiosk_credentials (
  kiosk_id uuid primary key references public.kiosks (id) on delete cascade,
  key_hash text not null unique
);

-- Supabase's default privileges hand anon and authenticated every privilege on new public tables.
-- anon gets nothing; members only read; money columns and the ledger are written only by the
-- security definer functions (which run as the owner), never through REST, not even by service_role.
revoke all on public.shops, public.shop_members, public.customers, public.kiosks, public.transactions
  from anon, authenticated, service_role;
grant select on public.shops, public.shop_members, public.customers, public.kiosks, public.transactions
  to authenticated, service_role;
-- service_role administers shops and their membership (the test fixtures and admin scripts
-- do this); a customer's balance and the ledger stay out of its reach.
grant insert, update, delete on public.shops, public.shop_members to service_role;
grant insert (id, shop_id, name, phone) on public.customers to service_role;
grant update (name, phone, updated_at) on public.customers to service_role;
grant update (name, active) on public.kiosks to service_role;
revoke all on private.customer_pins, private.kiosk_credentials from public, anon, authenticated, service_role;

-- The membership helper every policy uses: the shops the signed-in user belongs to, as one array.
-- Policies compare with `= any ((select private.member_shop_ids())::uuid[])`: the sub-select is an
-- InitPlan, computed once per statement (one probe of shop_members_user_id_idx), each row then costs
-- an array lookup, and the query's own shop_id conditions still use their indexes. A per-row boolean
-- helper (a security definer call for every row) measured about 60 µs a row here: a second for a
-- shop's ledger. security definer because it reads shop_members, whose own policy uses it: running
-- as the owner breaks that recursion. It answers only about the caller ((select auth.uid())).
create function private.member_shop_ids()
returns uuid[]
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(array_agg(m.shop_id), '{}')
  from public.shop_members m
  where m.user_id = (select auth.uid())
$$;

revoke all on function private.member_shop_ids() from public, anon;
grant usage on schema private to authenticated;
grant execute on function private.member_shop_ids() to authenticated;

alter table public.shops enable row level security;
alter table public.shop_members enable row level security;
alter table public.customers enable row level security;
alter table public.kiosks enable row level security;
alter table public.transactions enable row level security;
-- private.customer_pins and private.kiosk_credentials get no RLS: no API role has a privilege on them
-- or on their schema's tables, and PostgREST does not expose the schema. RLS without a policy there
-- would add nothing but an advisor lint (rls_enabled_no_policy).

-- One policy per operation. Only select is ever allowed to an API role: every write goes through
-- the functions, and without an insert/update/delete policy RLS refuses those even if granted.
create policy "shop members can read their own shops"
  on public.shops for select to authenticated
  using (id = any ((select private.member_shop_ids())::uuid[]));

create policy "shop members can read the members of their shops"
  on public.shop_members for select to authenticated
  using (shop_id = any ((select private.member_shop_ids())::uuid[]));

create policy "shop members can read their shop's customers"
  on public.customers for select to authenticated
  using (shop_id = any ((select private.member_shop_ids())::uuid[]));

create policy "shop members can read their shop's kiosks"
  on public.kiosks for select to authenticated
  using (shop_id = any ((select private.member_shop_ids())::uuid[]));

create policy "shop members can read their shop's ledger"
  on public.transactions for select to authenticated
  using (shop_id = any ((select private.member_shop_ids())::uuid[]));

-- The ledger is append-only for everyone, the table owner included: a correction is a reversal row.
-- (TRUNCATE stays possible for the owner alone, for wiping a scratch database; no API role has it.)
create function private.refuse_ledger_change()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'the ledger is append-only: % on public.transactions is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end;
$$;

revoke all on function private.refuse_ledger_change() from public, anon, authenticated;

create trigger transactions_are_immutable
  before update or delete on public.transactions
  for each row execute function private.refuse_ledger_change();
