// The demo data that supabase/seed.sql loads, for the status table. Local-only credentials.
export const DEMO = {
  shopName: '커밍스 데모 카페',
  logins: [
    { role: 'owner', email: 'owner@demo.comings.kr', password: 'comings-demo-1234' },
    { role: 'staff', email: 'staff@demo.comings.kr', password: 'comings-demo-1234' },
  ],
  kiosk: { name: '카운터 키오스크', deviceKey: 'demo-kiosk-key-0000-comings-local' },
  customers: [
    { name: '김민준', phone: '010-1234-5678', pin: '1234', balance: 45_500 },
    { name: '이서연', phone: '010-2345-6789', pin: '5678', balance: 88_500 },
    { name: '박지호', phone: '010-3456-7890', pin: '2580', balance: 30_000 },
    { name: '최수아', phone: '010-4567-8901', pin: '0000', balance: 20_000 },
  ],
} as const;
