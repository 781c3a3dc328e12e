/// <reference types="k6" />
// Everything a load run is told comes from __ENV, in this one module: the stack (the names
// `supabase status -o env` prints), where the customers and credentials come from, and overrides
// of the load shape. `npm run k6` fills in the local stack's values; against a real Supabase
// project pass them with `-e NAME=value` or the environment.

import { WRONG_PIN_SHARE } from './journey-rules.ts';

export type StaffRole = 'owner' | 'manager' | 'staff';

export interface StaffLogin {
  email: string;
  password: string;
  role: StaffRole;
}

export interface InlineShop {
  shopId: string;
  kioskKeys: string[];
  staff: StaffLogin[];
  customerPin: string;
  customerLimit: number;
}

export interface LoadConfig {
  apiUrl: string;
  anonKey: string;
  serviceRoleKey: string;
  /** Path of the manifest written by tests/load_tests/generate_test_data.ts; '' means inline. */
  datasetPath: string;
  /** Used only without a manifest: one shop's credentials given directly. */
  inline: InlineShop | null;
  shape: string | undefined;
  vus: number | undefined;
  rate: number | undefined;
  duration: string | undefined;
  hotCustomerId: string | undefined;
  /** Share of kiosk payments in the mix typed with a wrong PIN, as customers do. */
  wrongPinShare: number;
  reportDir: string;
}

const STAFF_ROLES: readonly StaffRole[] = ['owner', 'manager', 'staff'];

function required(name: string): string {
  const value = __ENV[name];
  if (!value) {
    throw new Error(`${name} is not set: run through \`npm run k6\`, or pass -e ${name}=... to k6`);
  }
  return value;
}

function positiveInt(name: string): number | undefined {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

function share(name: string, fallback: number): number {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(value >= 0 && value <= 1)) throw new Error(`${name} must be a number between 0 and 1, got "${raw}"`);
  return value;
}

function list(name: string): string[] {
  return (__ENV[name] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

// STAFF_LOGINS="owner@shop.test:secret:owner,clerk@shop.test:secret:staff" (the role defaults to staff).
function staffLogins(): StaffLogin[] {
  return list('STAFF_LOGINS').map((entry) => {
    const [email, password, role = 'staff'] = entry.split(':');
    if (!email || !password || !STAFF_ROLES.includes(role as StaffRole)) {
      throw new Error(`STAFF_LOGINS entry "${entry}" is not email:password[:owner|manager|staff]`);
    }
    return { email, password, role: role as StaffRole };
  });
}

function inlineShop(): InlineShop | null {
  if (__ENV.DATASET) return null;
  const shopId = __ENV.SHOP_ID;
  if (!shopId) {
    throw new Error(
      'No customers to load: set DATASET to the manifest of `npm run generate`, ' +
        'or SHOP_ID, KIOSK_KEYS, STAFF_LOGINS and CUSTOMER_PIN for one shop',
    );
  }
  return {
    shopId,
    kioskKeys: list('KIOSK_KEYS'),
    staff: staffLogins(),
    customerPin: required('CUSTOMER_PIN'),
    customerLimit: positiveInt('CUSTOMER_LIMIT') ?? 1000,
  };
}

export const config: LoadConfig = {
  apiUrl: required('API_URL').replace(/\/+$/, ''),
  anonKey: required('ANON_KEY'),
  serviceRoleKey: required('SERVICE_ROLE_KEY'),
  datasetPath: __ENV.DATASET ?? '',
  inline: inlineShop(),
  shape: __ENV.SHAPE || undefined,
  vus: positiveInt('VUS'),
  rate: positiveInt('RATE'),
  duration: __ENV.DURATION || undefined,
  hotCustomerId: __ENV.HOT_CUSTOMER_ID || undefined,
  wrongPinShare: share('WRONG_PIN_SHARE', WRONG_PIN_SHARE),
  reportDir: (__ENV.REPORT_DIR || 'reports/load').replace(/\/+$/, ''),
};
