-- Demo data for the local stack (npm start, first start only) and for `supabase db reset`.
-- Local-only credentials; stack/demo.ts prints the same values in the status table.
--
-- The owner and the staff member are auth users as GoTrue stores them (bcrypt through pgcrypto, an
-- 'email' identity); balances are made by the real money functions, so every won has its ledger row
-- and the reconciliation finds nothing to report.

insert into auth.users (
  instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
  raw_app_meta_data, raw_user_meta_data, created_at, updated_at,
  confirmation_token, recovery_token, email_change_token_new, email_change
)
select '00000000-0000-0000-0000-000000000000', u.id, 'authenticated', 'authenticated', u.email,
       extensions.crypt('comings-demo-1234', extensions.gen_salt('bf')), now(),
       '{"provider": "email", "providers": ["email"]}', '{}', now(), now(), '', '', '', ''
from (values
  ('0a000000-0000-4000-8000-000000000001'::uuid, 'owner@demo.comings.kr'),
  ('0a000000-0000-4000-8000-000000000002'::uuid, 'staff@demo.comings.kr')
) as u (id, email);

insert into auth.identities (id, provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
select u.id, u.id::text, u.id, jsonb_build_object('sub', u.id::text, 'email', u.email, 'email_verified', true),
       'email', now(), now(), now()
from auth.users as u
where u.email in ('owner@demo.comings.kr', 'staff@demo.comings.kr');

insert into public.shops (id, name) values ('5b000000-0000-4000-8000-000000000001', '커밍스 데모 카페');

insert into public.shop_members (shop_id, user_id, role) values
  ('5b000000-0000-4000-8000-000000000001', '0a000000-0000-4000-8000-000000000001', 'owner'),
  ('5b000000-0000-4000-8000-000000000001', '0a000000-0000-4000-8000-000000000002', 'staff');

-- A fixed device key instead of register_kiosk's random one, so the demo kiosk's key can be printed.
insert into public.kiosks (id, shop_id, name)
values ('4b000000-0000-4000-8000-000000000001', '5b000000-0000-4000-8000-000000000001', '카운터 키오스크');
insert into private.kiosk_credentials (shop_id, kiosk_id, key_hash)
values ('5b000000-0000-4000-8000-000000000001', '4b000000-0000-4000-8000-000000000001',
        encode(extensions.digest('demo-kiosk-key-0000-comings-local', 'sha256'), 'hex'));

do $$
declare
  v_owner constant uuid := '0a000000-0000-4000-8000-000000000001';
  v_staff constant uuid := '0a000000-0000-4000-8000-000000000002';
  v_shop constant uuid := '5b000000-0000-4000-8000-000000000001';
  v_minjun uuid;
  v_seoyeon uuid;
  v_jiho uuid;
  v_sua uuid;
  v_mistake jsonb;
begin
  v_minjun := (public.create_customer(v_owner, v_shop, '김민준', '010-1234-5678', '1234') -> 'customer' ->> 'id')::uuid;
  v_seoyeon := (public.create_customer(v_owner, v_shop, '이서연', '010-2345-6789', '5678') -> 'customer' ->> 'id')::uuid;
  v_jiho := (public.create_customer(v_staff, v_shop, '박지호', '010-3456-7890', '2580') -> 'customer' ->> 'id')::uuid;
  v_sua := (public.create_customer(v_staff, v_shop, '최수아', '010-4567-8901', '0000') -> 'customer' ->> 'id')::uuid;

  -- 김민준: 50,000 - 4,500 = 45,500
  perform public.charge_balance(v_owner, v_minjun, 50000, 'seed-minjun-charge-1', '첫 충전');
  perform public.deduct_balance(v_staff, v_minjun, 4500, 'seed-minjun-deduct-1', '아메리카노');

  -- 이서연: 100,000 - 5,000 - 6,500 = 88,500
  perform public.charge_balance(v_owner, v_seoyeon, 100000, 'seed-seoyeon-charge-1', '첫 충전');
  perform public.deduct_balance(v_staff, v_seoyeon, 5000, 'seed-seoyeon-deduct-1', '카페라테');
  perform public.deduct_balance(v_staff, v_seoyeon, 6500, 'seed-seoyeon-deduct-2', '케이크');

  -- 박지호: 30,000, a mistaken 4,000 deduct and its cancellation = 30,000
  perform public.charge_balance(v_owner, v_jiho, 30000, 'seed-jiho-charge-1', '첫 충전');
  v_mistake := public.deduct_balance(v_staff, v_jiho, 4000, 'seed-jiho-deduct-1', '잘못 누른 결제');
  perform public.cancel_transaction(v_owner, (v_mistake -> 'transaction' ->> 'id')::uuid, 'seed-jiho-cancel-1', '직원 실수');

  -- 최수아: 20,000
  perform public.charge_balance(v_owner, v_sua, 20000, 'seed-sua-charge-1', '첫 충전');
end
$$;
