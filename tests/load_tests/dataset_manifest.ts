import { readFileSync } from 'node:fs';
import type { MovementType } from '../../functions/_shared/money.ts';
import type { StaffRole } from './ledger_sql.ts';

/**
 * What the generator leaves for load tests (k6 setup(), the Node bench, tests): the logins, kiosk
 * keys and a sample of customers with their PINs. It holds passwords and device keys of a
 * throw-away dataset, so it lives in the git-ignored `.stack/` folder.
 */
export interface DatasetManifest {
  version: 1;
  seed: number;
  generated_at: string;
  shape: { shops: number; customers: number; transactions: number; months: number; until: string };
  totals: {
    transactions_by_type: Record<MovementType, number>;
    outstanding_balance: number;
  };
  shops: DatasetShop[];
}

export interface DatasetShop {
  id: string;
  name: string;
  members: { role: StaffRole; user_id: string; email: string; password: string }[];
  kiosks: { id: string; name: string; device_key: string }[];
  /** The first customers of the shop, with their PIN and the balance the ledger ends at. */
  customers: { id: string; name: string; phone: string; pin: string; balance: number }[];
}

export const DEFAULT_MANIFEST_PATH = '.stack/dataset.json';

/**
 * The generator replaces its previous dataset in one transaction under this advisory lock
 * (`pg_advisory_xact_lock(hashtext(GENERATOR_LOCK))`): two generators never interleave, and a reader
 * that must see the platform's counts only grow (the dashboard's live figures) holds it meanwhile.
 */
export const GENERATOR_LOCK = 'comings:generate_test_data';

export function readDatasetManifest(path = process.env.DATASET ?? DEFAULT_MANIFEST_PATH): DatasetManifest {
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as DatasetManifest;
  if (manifest.version !== 1) throw new Error(`${path}: unknown dataset manifest version ${String(manifest.version)}`);
  return manifest;
}
