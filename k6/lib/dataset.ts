// Who the load acts for: customers with their phone and PIN, and each shop's kiosk keys and staff
// logins. They come from the manifest that tests/load_tests/generate_test_data.ts writes (DATASET,
// `.stack/dataset.json` by default; its type is DatasetManifest in tests/load_tests/dataset_manifest.ts),
// or, for one shop of a real project, from the environment plus a read of its customers in setup.
//
// Of the manifest (version 1) the load reads only:
//   { "version": 1,
//     "shops": [{ "id": uuid,
//                 "members":   [{ "email", "password", "role": "owner"|"manager"|"staff" }, ...],
//                 "kiosks":    [{ "device_key" }, ...],
//                 "customers": [{ "id": uuid, "name", "phone": "010-1234-5678", "pin": "1234" }, ...] }] }
// The customers live in a SharedArray: one copy for all VUs, however large the dataset.

import { SharedArray } from 'k6/data';
import { config, type StaffLogin, type StaffRole } from './config.ts';

export interface Customer {
  id: string;
  shop_id: string;
  phone: string;
  pin: string;
  name?: string;
}

export interface ShopLogins {
  id: string;
  kiosk_keys: string[];
  staff: StaffLogin[];
}

interface ManifestShop {
  id: string;
  members: StaffLogin[];
  kiosks: { device_key: string }[];
  customers: Omit<Customer, 'shop_id'>[];
}

const STAFF_ROLES: readonly string[] = ['owner', 'manager', 'staff'];

function isString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function invalid(what: string, value: unknown): never {
  throw new Error(`${config.datasetPath}: ${what} does not fit the dataset manifest: ${JSON.stringify(value)}`);
}

function readManifestShops(): ManifestShop[] {
  const manifest = JSON.parse(open(config.datasetPath)) as { version?: unknown; shops?: unknown };
  if (manifest.version !== 1) invalid('version (expected 1)', manifest.version);
  if (!Array.isArray(manifest.shops)) invalid('"shops"', manifest.shops);
  return manifest.shops.map((value: unknown) => {
    const shop = value as Partial<ManifestShop> | null;
    if (!shop || !isString(shop.id) || !Array.isArray(shop.members) || !Array.isArray(shop.kiosks) || !Array.isArray(shop.customers)) {
      invalid('shop (needs id, members, kiosks, customers)', value);
    }
    return shop as ManifestShop;
  });
}

function checkedLogins(shop: ManifestShop): ShopLogins {
  for (const member of shop.members) {
    if (!isString(member?.email) || !isString(member.password) || !STAFF_ROLES.includes(member.role)) {
      invalid(`member of shop ${shop.id}`, member);
    }
  }
  if (!shop.kiosks.every((kiosk) => isString(kiosk?.device_key))) invalid(`kiosks of shop ${shop.id}`, shop.kiosks);
  return {
    id: shop.id,
    kiosk_keys: shop.kiosks.map((kiosk) => kiosk.device_key),
    staff: shop.members.map(({ email, password, role }) => ({ email, password, role })),
  };
}

function checkedCustomer(shopId: string, value: Omit<Customer, 'shop_id'>): Customer {
  if (!isString(value?.id) || !isString(value.phone)) invalid(`customer of shop ${shopId}`, value);
  if (!isString(value.pin) || !/^\d{4,6}$/.test(value.pin)) invalid(`PIN of customer ${value.id}`, value.pin);
  const name = isString(value.name) ? { name: value.name } : {};
  return { id: value.id, shop_id: shopId, phone: value.phone, pin: value.pin, ...name };
}

// open() is allowed only in the init context, which is where SharedArray runs its callback.
const manifestShops = new SharedArray<ShopLogins>('shops', () =>
  config.datasetPath ? readManifestShops().map(checkedLogins) : [],
);
const manifestCustomers = new SharedArray<Customer>('customers', () =>
  config.datasetPath
    ? readManifestShops().flatMap((shop) => shop.customers.map((customer) => checkedCustomer(shop.id, customer)))
    : [],
);

/** Shops with their logins, from the manifest or from the environment (one shop). */
export function shopLogins(): ShopLogins[] {
  if (config.inline) {
    const { shopId, kioskKeys, staff } = config.inline;
    return [{ id: shopId, kiosk_keys: kioskKeys, staff }];
  }
  return Array.from({ length: manifestShops.length }, (_, i) => manifestShops[i]!);
}

/**
 * The customers to act for: the manifest's, or (inline) those setup() read from the shop. Both are
 * indexed the same way so the journeys need not know where they came from.
 */
export interface CustomerSource {
  length: number;
  at(index: number): Customer;
}

export function customerSource(inlineCustomers: Customer[]): CustomerSource {
  if (config.inline) return { length: inlineCustomers.length, at: (i) => inlineCustomers[i]! };
  return { length: manifestCustomers.length, at: (i) => manifestCustomers[i]! };
}

export function randomIndex(length: number): number {
  return Math.floor(Math.random() * length);
}

export function randomItem<T>(items: readonly T[]): T {
  return items[randomIndex(items.length)]!;
}

export const CANCELLING_ROLES: readonly StaffRole[] = ['owner', 'manager'];
