import { describe, expect, it } from 'vitest';
import type { DatasetManifest } from '../dataset_manifest.ts';
import { median, pointsOf, spread } from './shops_points.ts';

/** A manifest of `shops` shops listing `perShop` customers each; only what the points read is filled in. */
function manifestOf(shops: number, perShop: number): DatasetManifest {
  return {
    version: 1,
    seed: 1,
    generated_at: '2026-12-01T00:00:00Z',
    shape: { shops, customers: shops * perShop, transactions: 0, months: 1, until: '2026-12-01' },
    totals: { transactions_by_type: { charge: 0, deduct: 0, charge_cancel: 0, deduct_cancel: 0, bonus: 0, refund: 0 }, outstanding_balance: 0 },
    shops: Array.from({ length: shops }, (_, s) => ({
      id: `shop-${s}`,
      name: `shop ${s}`,
      members: [],
      kiosks: [],
      customers: Array.from({ length: perShop }, (_, c) => ({ id: `customer-${s}-${c}`, name: `c${c}`, phone: '010', pin: '1234', balance: 0 })),
    })),
  };
}

const countByShop = (customers: { shopId: string }[]) =>
  [...customers.reduce((counts, c) => counts.set(c.shopId, (counts.get(c.shopId) ?? 0) + 1), new Map<string, number>()).values()];

describe('the points of bench:shops', () => {
  it('spread the same 200 customers evenly over 1, 10 and 100 shops, after one hot customer, and again over the small pool', () => {
    const points = pointsOf(manifestOf(100, 200), { clients: 32, shopCounts: [1, 10, 100], customers: 200, smallPool: 8 });
    expect(points.map((p) => [p.id, p.shops, p.clients, p.customers.length])).toEqual([
      ['shops-hot-customer', 1, 32, 1],
      ['shops-1', 1, 32, 200],
      ['shops-10', 10, 32, 200],
      ['shops-100', 100, 32, 200],
      ['shops-100-pool-8', 100, 8, 200],
    ]);
    expect(countByShop(points[1]!.customers)).toEqual([200]);
    expect(countByShop(points[2]!.customers)).toEqual(Array(10).fill(20));
    expect(countByShop(points[3]!.customers)).toEqual(Array(100).fill(2));
    expect(new Set(points[3]!.customers.map((c) => c.id)).size).toBe(200);
  });

  it('cut an uneven spread to the customers asked for, the last shops one short', () => {
    expect(countByShop(spread(manifestOf(3, 10), 3, 8))).toEqual([3, 3, 2]);
  });

  it('refuse a dataset with fewer shops or customers than a point needs', () => {
    expect(() => spread(manifestOf(10, 200), 100, 200)).toThrow('the dataset has 10 shops, fewer than --shops asks (100)');
    expect(() => spread(manifestOf(1, 50), 1, 200)).toThrow('lists 50 customers, fewer than 200');
  });

  it('take the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([0.93, 0.83])).toBe(0.88);
  });
});
