// What every scenario does around its load: setup() refuses to start against a stack that is not
// healthy or does not hold the dataset, and signs the staff in; teardown() reconciles every
// balance with its ledger and feeds balance_mismatches; loadTest() assembles a script's options
// from a shape and the SLO.

import type { Options } from 'k6/options';
import { config } from './config.ts';
import { customerSource, shopLogins, CANCELLING_ROLES, type Customer, type ShopLogins } from './dataset.ts';
import { signIn, type StaffSession } from './auth.ts';
import { getJson, jsonBody, postJson, serviceHeaders, anonHeaders } from './http.ts';
import { balanceMismatches, reconciliations } from './metrics.ts';
import { loadShape } from './shapes.ts';
import { isShapeName, SHAPE_NAMES, type ShapeName } from './shape-names.ts';
import { thresholdsFor, type Thresholds } from './slo.ts';
import { summaryHandler } from './summary.ts';

export interface ShopSessions {
  id: string;
  kioskKeys: string[];
  staff: StaffSession[];
}

export interface LoadData {
  shops: ShopSessions[];
  /** Customers read from the shop in setup; empty when they come from the manifest. */
  inlineCustomers: Customer[];
  /** The one customer the hot-customer scenario piles onto. */
  hotCustomer: Customer;
}

function requireHealthyFunctions(): void {
  const res = getJson('/functions/v1/health', anonHeaders(), { name: 'setup_health' });
  const body = jsonBody(res) as { status?: unknown } | null;
  if (res.status !== 200 || body?.status !== 'ok') {
    throw new Error(
      `The stack at ${config.apiUrl} is not healthy: GET /functions/v1/health answered ${res.status} ` +
        `${String(res.body).slice(0, 200)}. Start it with \`npm start\` (or check API_URL).`,
    );
  }
}

function requireUsableShop(shop: ShopLogins): void {
  const problems = [
    shop.kiosk_keys.length === 0 && 'no kiosk key',
    shop.staff.length === 0 && 'no staff login',
    !shop.staff.some((staff) => CANCELLING_ROLES.includes(staff.role)) && 'no owner or manager (cancels need one)',
  ].filter(Boolean);
  if (problems.length > 0) throw new Error(`Shop ${shop.id} cannot take the load: ${problems.join(', ')}`);
}

function readShopCustomers(shopId: string, limit: number, pin: string): Customer[] {
  const res = getJson(
    `/rest/v1/customers?select=id,shop_id,phone,name&shop_id=eq.${shopId}&order=created_at.asc&limit=${limit}`,
    serviceHeaders(),
    { name: 'setup_read_customers' },
  );
  const rows = jsonBody(res);
  if (res.status !== 200 || !Array.isArray(rows)) {
    throw new Error(`PostgREST could not list the customers of shop ${shopId}: ${res.status} ${String(res.body).slice(0, 200)}`);
  }
  return (rows as Omit<Customer, 'pin'>[]).map((row) => ({ ...row, pin }));
}

// A PostgREST read of a customer the dataset names proves both that PostgREST answers and that
// this stack holds the dataset, instead of failing every request of the run.
function requireCustomerInDatabase(customer: Customer): void {
  const res = getJson(`/rest/v1/customers?select=id&id=eq.${customer.id}`, serviceHeaders(), {
    name: 'setup_read_customer',
  });
  const rows = jsonBody(res);
  if (res.status !== 200 || !Array.isArray(rows) || rows.length !== 1) {
    throw new Error(
      `Customer ${customer.id} of the dataset is not in the stack at ${config.apiUrl} ` +
        `(PostgREST answered ${res.status} ${String(res.body).slice(0, 200)}). Load it with \`npm run generate\`.`,
    );
  }
}

interface Mismatch {
  customer_id: string;
  shop_id: string;
  current_balance: number;
  ledger_balance: number;
}

/** Every customer whose balance differs from the sum of their ledger, through PostgREST RPC. */
function reconcile(phase: string): Mismatch[] {
  const res = postJson('/rest/v1/rpc/reconcile_balances', {}, serviceHeaders(), { name: `${phase}_reconcile` });
  const rows = jsonBody(res);
  if (res.status !== 200 || !Array.isArray(rows)) {
    throw new Error(`reconcile_balances answered ${res.status} ${String(res.body).slice(0, 200)}`);
  }
  return rows as Mismatch[];
}

function describe(mismatches: Mismatch[]): string {
  return mismatches
    .slice(0, 5)
    .map((row) => `customer ${row.customer_id}: balance ${row.current_balance}, ledger ${row.ledger_balance}`)
    .join('; ');
}

function pickHotCustomer(customers: ReturnType<typeof customerSource>): Customer {
  if (!config.hotCustomerId) return customers.at(0);
  for (let i = 0; i < customers.length; i += 1) {
    if (customers.at(i).id === config.hotCustomerId) return customers.at(i);
  }
  throw new Error(`HOT_CUSTOMER_ID ${config.hotCustomerId} is not a customer of the dataset`);
}

export function setup(): LoadData {
  requireHealthyFunctions();
  const logins = shopLogins();
  if (logins.length === 0) throw new Error('The dataset has no shop');
  logins.forEach(requireUsableShop);

  const inlineCustomers = config.inline
    ? readShopCustomers(config.inline.shopId, config.inline.customerLimit, config.inline.customerPin)
    : [];
  const customers = customerSource(inlineCustomers);
  if (customers.length === 0) throw new Error('The dataset has no customer');
  requireCustomerInDatabase(customers.at(0));

  // A mismatch found after the run must be the run's doing, so the books must balance before it.
  const before = reconcile('setup');
  if (before.length > 0) {
    throw new Error(`${before.length} balances already disagree with their ledger before the load: ${describe(before)}`);
  }

  return {
    shops: logins.map((shop) => ({ id: shop.id, kioskKeys: shop.kiosk_keys, staff: shop.staff.map(signIn) })),
    inlineCustomers,
    hotCustomer: pickHotCustomer(customers),
  };
}

// Thrown errors are caught on purpose: an unreconciled run must fail by its thresholds (no
// `reconciliations` sample) and still write its summary, not abort before handleSummary.
export function teardown(): void {
  try {
    const mismatches = reconcile('teardown');
    balanceMismatches.add(mismatches.length);
    reconciliations.add(1);
    if (mismatches.length > 0) {
      console.error(`${mismatches.length} balances disagree with their ledger after the load: ${describe(mismatches)}`);
    }
  } catch (error) {
    console.error(`The balances could not be reconciled after the load, so the run fails: ${String(error)}`);
  }
}

export interface LoadTestDefinition {
  /** Default shape; SHAPE in the environment overrides it. */
  shape: ShapeName;
  /** Thresholds this scenario adds to the SLO. */
  thresholds?: Thresholds;
}

export function loadTest(scenario: string, definition: LoadTestDefinition) {
  const shape = config.shape ?? definition.shape;
  if (!isShapeName(shape)) throw new Error(`SHAPE "${shape}" is not one of ${SHAPE_NAMES.join(', ')}`);
  const options: Options = {
    scenarios: { [scenario]: { ...loadShape(shape), exec: 'default' } },
    thresholds: thresholdsFor(shape, definition.thresholds),
    summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
    // Reconciliation reads every ledger row; on a 10,000,000-row dataset it takes longer than
    // k6's default minute.
    setupTimeout: '5m',
    teardownTimeout: '5m',
  };
  return { options, handleSummary: summaryHandler(scenario, shape) };
}
