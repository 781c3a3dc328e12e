-- Charge promotions ("10만원 충전 시 1만원 추가 적립"): a charge of at least min_charge during the
-- promotion's window earns a bonus, a fixed amount or a percent of the charge. Read by the shop's
-- members through REST under RLS; created and ended only through the functions below.

create table public.promotions (
  id uuid primary key default gen_random_uuid(),
  shop_id uuid not null references public.shops (id),
  min_charge bigint not null,
  bonus_amount bigint,
  bonus_percent integer,
  starts_at timestamptz not null default now(),
  -- Open-ended when null. Ending a promotion sets it to the moment it ended.
  ends_at timestamptz,
  created_at timestamptz not null default now(),
  constraint promotions_min_charge_range check (min_charge between 1 and 10000000),
  constraint promotions_one_kind_of_bonus check (num_nonnulls(bonus_amount, bonus_percent) = 1),
  constraint promotions_bonus_amount_range check (bonus_amount between 1 and 10000000),
  constraint promotions_bonus_percent_range check (bonus_percent between 1 and 100),
  -- An ended promotion that had not started yet has an empty window (ends_at = starts_at).
  constraint promotions_window_ordered check (ends_at >= starts_at)
);

-- A shop's promotions (the charge's lookup of the active ones, the members' list); covers the
-- foreign key to shops.
create index promotions_shop_id_idx on public.promotions (shop_id, starts_at);

-- The bonuses one promotion granted; covers the ledger's foreign key to promotions. Partial: only
-- bonus rows name a promotion.
create index transactions_promotion_id_idx on public.transactions (promotion_id) where promotion_id is not null;

alter table public.transactions
  add constraint transactions_promotion_fk foreign key (promotion_id) references public.promotions (id);

revoke all on public.promotions from anon, authenticated, service_role;
grant select on public.promotions to authenticated, service_role;

alter table public.promotions enable row level security;

create policy "shop members can read their shop's promotions"
  on public.promotions for select to authenticated
  using (shop_id = any ((select private.member_shop_ids())::uuid[]));

create function public.create_promotion(
  p_actor_user_id uuid,
  p_shop_id uuid,
  p_min_charge bigint,
  p_bonus_amount bigint default null,
  p_bonus_percent integer default null,
  p_starts_at timestamptz default null,
  p_ends_at timestamptz default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_starts_at timestamptz := coalesce(p_starts_at, now());
  v_promotion public.promotions;
begin
  if not exists (select 1 from public.shops s where s.id = p_shop_id) then
    perform private.raise_error('shop_not_found', 'no such shop', jsonb_build_object('shop_id', p_shop_id));
  end if;
  perform private.authorize_member(p_actor_user_id, p_shop_id, array['owner']);
  if p_min_charge is null or p_min_charge not between 1 and 10000000 then
    perform private.raise_error('validation_failed', 'min_charge must be 1 to 10,000,000 won',
      jsonb_build_object('field', 'min_charge'));
  end if;
  if num_nonnulls(p_bonus_amount, p_bonus_percent) <> 1 then
    perform private.raise_error('validation_failed', 'give either bonus_amount or bonus_percent',
      jsonb_build_object('field', 'bonus_amount'));
  end if;
  if p_bonus_amount is not null and p_bonus_amount not between 1 and 10000000 then
    perform private.raise_error('validation_failed', 'bonus_amount must be 1 to 10,000,000 won',
      jsonb_build_object('field', 'bonus_amount'));
  end if;
  if p_bonus_percent is not null and p_bonus_percent not between 1 and 100 then
    perform private.raise_error('validation_failed', 'bonus_percent must be 1 to 100',
      jsonb_build_object('field', 'bonus_percent'));
  end if;
  if p_ends_at is not null and p_ends_at <= v_starts_at then
    perform private.raise_error('validation_failed', 'ends_at must be after starts_at',
      jsonb_build_object('field', 'ends_at'));
  end if;
  insert into public.promotions (shop_id, min_charge, bonus_amount, bonus_percent, starts_at, ends_at)
  values (p_shop_id, p_min_charge, p_bonus_amount, p_bonus_percent, v_starts_at, p_ends_at)
  returning * into v_promotion;
  return jsonb_build_object('promotion', to_jsonb(v_promotion));
end;
$$;

-- Ending takes the promotion's row lock: a charge that already holds it (FOR SHARE, while it grants
-- the bonus) finishes first and keeps its bonus; a charge that comes after sees the promotion ended.
-- The end is the clock time when the lock was had, so no charge that waited for it can still match.
create function public.end_promotion(p_actor_user_id uuid, p_promotion_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_promotion public.promotions;
begin
  select p.* into v_promotion from public.promotions p where p.id = p_promotion_id;
  if not found then
    perform private.raise_error('promotion_not_found', 'no such promotion',
      jsonb_build_object('promotion_id', p_promotion_id));
  end if;
  perform private.authorize_member(p_actor_user_id, v_promotion.shop_id, array['owner']);
  select p.* into v_promotion from public.promotions p where p.id = p_promotion_id for update;
  -- Ending an ended promotion changes nothing and answers it as it is.
  if v_promotion.ends_at is null or v_promotion.ends_at > clock_timestamp() then
    update public.promotions p
    set ends_at = greatest(p.starts_at, clock_timestamp())
    where p.id = p_promotion_id
    returning p.* into v_promotion;
  end if;
  return jsonb_build_object('promotion', to_jsonb(v_promotion));
end;
$$;

-- The best promotion of the shop for a charge of this amount, active now, and its bonus; the
-- candidate rows are locked FOR SHARE first and the best is chosen among the locked rows, so an end
-- committed meanwhile is seen (a LIMIT under FOR SHARE could return nothing instead of the next best).
create function private.best_promotion(p_shop_id uuid, p_amount bigint, out promotion_id uuid, out bonus bigint)
language plpgsql
set search_path = ''
as $$
declare
  v_candidate public.promotions;
  v_bonus bigint;
begin
  bonus := 0;
  for v_candidate in
    select p.* from public.promotions p
    where p.shop_id = p_shop_id and p.min_charge <= p_amount and p.starts_at <= clock_timestamp()
      and (p.ends_at is null or p.ends_at > clock_timestamp())
    order by p.created_at, p.id
    for share
  loop
    if v_candidate.ends_at is not null and v_candidate.ends_at <= clock_timestamp() then
      continue;
    end if;
    v_bonus := coalesce(v_candidate.bonus_amount, p_amount * v_candidate.bonus_percent / 100);
    if v_bonus > bonus then
      bonus := v_bonus;
      promotion_id := v_candidate.id;
    end if;
  end loop;
end;
$$;

revoke all on function private.best_promotion(uuid, bigint) from public, anon, authenticated, service_role;
revoke all on function
  public.create_promotion(uuid, uuid, bigint, bigint, integer, timestamptz, timestamptz),
  public.end_promotion(uuid, uuid)
from public, anon, authenticated;
grant execute on function
  public.create_promotion(uuid, uuid, bigint, bigint, integer, timestamptz, timestamptz),
  public.end_promotion(uuid, uuid)
to service_role;
