// The points `npm run bench:shops` measures (shops_scaling.ts): which customers each one loads, so that
// only the number of shops they belong to changes from one point to the next.

import type { DatasetManifest } from '../dataset_manifest.ts';
import type { BenchCustomer } from './fixture.ts';

export interface PointOptions {
  clients: number;
  /** Counts of shops to spread the customers over, ascending. */
  shopCounts: number[];
  /** Customers every shops point spreads its load over. */
  customers: number;
  /** Connections of the extra point on the largest count of shops; 0: no such point. */
  smallPool: number;
}

export interface Point {
  id: string;
  title: string;
  shops: number;
  clients: number;
  customers: BenchCustomer[];
}

/** The first `Math.ceil(customers / shops)` customers of each of the first `shops` shops, cut to `customers`. */
export function spread(manifest: DatasetManifest, shops: number, customers: number): BenchCustomer[] {
  if (manifest.shops.length < shops) throw new Error(`the dataset has ${manifest.shops.length} shops, fewer than --shops asks (${shops}): use --own-stack`);
  const perShop = Math.ceil(customers / shops);
  const chosen: BenchCustomer[] = [];
  for (let i = 0; i < perShop; i++) {
    for (const shop of manifest.shops.slice(0, shops)) {
      const c = shop.customers[i];
      if (!c) throw new Error(`shop ${shop.id} of the dataset lists ${shop.customers.length} customers, fewer than ${perShop}: use --own-stack`);
      if (chosen.length < customers) chosen.push({ id: c.id, shopId: shop.id, name: c.name, phone: c.phone, pin: c.pin });
    }
  }
  return chosen;
}

export function pointsOf(manifest: DatasetManifest, o: PointOptions): Point[] {
  const largest = o.shopCounts.at(-1)!;
  return [
    { id: 'shops-hot-customer', title: 'hot customer (one row lock)', shops: 1, clients: o.clients, customers: spread(manifest, 1, 1) },
    ...o.shopCounts.map((shops) => ({
      id: `shops-${shops}`,
      title: shops === 1 ? '1 shop (its whole traffic)' : `${shops} shops side by side`,
      shops,
      clients: o.clients,
      customers: spread(manifest, shops, o.customers),
    })),
    // The same work over a pool the size Supavisor would give a small node: do fewer connections carry it?
    ...(o.smallPool > 0
      ? [{ id: `shops-${largest}-pool-${o.smallPool}`, title: `${largest} shops, ${o.smallPool} connections`, shops: largest, clients: o.smallPool, customers: spread(manifest, largest, o.customers) }]
      : []),
  ];
}

/** The median, to 3 decimals. */
export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const value = sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return Math.round(value * 1000) / 1000;
};
