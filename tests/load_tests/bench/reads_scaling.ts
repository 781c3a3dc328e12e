/**
 * `npm run bench:reads`: does a customer search and a customer's history stay as fast when the
 * ledger grows a hundredfold? Issue 6 asks for p95 within 2x between 100,000 and 10,000,000
 * transactions.
 *
 *   npm run bench:reads [-- --customers 100000 --shops 10 --transactions 100000,10000000
 *                          --clients 8 --duration 10 --warmup 3 --out reports/load/reads-scaling.json]
 *
 * For each ledger size, one after the other, it starts a stack of its own (target.ts: temporary
 * folder, free ports), generates the dataset with the same seed, shops and customers (only the
 * ledger differs, so the same customers are searched and read), runs each read in a closed loop
 * through /rest/v1 as the shops' signed-in staff, prints the plans PostgreSQL chose under RLS, and
 * removes the stack. Then it prints the ratio largest ÷ smallest of each figure.
 */
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { integerOption, invocation, machineFacts, onInterrupt, readCommandLine, runScript, writeReport } from '../command_line.ts';
import { closedLoop } from './driver.ts';
import { mismatchCount, setUp, type Fixture } from './fixture.ts';
import { HttpClient } from './http.ts';
import { customerHistory, searchCustomers } from './scenarios.ts';
import type { PhaseSummary } from './stats.ts';
import { benchTarget } from './target.ts';

/** The most a read's p95 may grow while the ledger grows from the smallest size to the largest. */
const P95_GROWTH_ALLOWED = 2;

const READS = [
  { id: 'search', read: searchCustomers },
  { id: 'history', read: customerHistory },
] as const;
type ReadId = (typeof READS)[number]['id'];

interface Options {
  customers: number;
  shops: number;
  sizes: number[];
  clients: number;
  durationS: number;
  warmupS: number;
  out: string;
}

interface Measurement extends PhaseSummary {
  /** `reads/<read>@<transactions>`: a load summary the dashboard lists. */
  scenario: string;
  read: ReadId;
  transactions: number;
  shape: string;
  started_at: string;
  /** Reads change no balance: reconciled to prove it, as every load summary is. */
  balance_mismatches: number;
}

function readOptions(argv: string[]): Options {
  const line = readCommandLine(argv, {
    customers: '100000',
    shops: '10',
    transactions: '100000,10000000',
    clients: '8',
    duration: '10',
    warmup: '3',
    out: 'reports/load/reads-scaling.json',
  });
  const sizes = line.text('transactions').split(',').map((size) => integerOption('transactions', size.trim(), 1, 1_000_000_000));
  if (sizes.length < 2) throw new Error('--transactions needs at least two ledger sizes to compare, e.g. 100000,10000000');
  return {
    customers: line.integer('customers', 1, 10_000_000),
    shops: line.integer('shops', 1, 10_000),
    sizes: [...sizes].sort((a, b) => a - b),
    clients: line.integer('clients', 1, 1000),
    durationS: line.integer('duration', 1, 3600),
    warmupS: line.integer('warmup', 0, 600),
    out: line.outPath('out'),
  };
}

/**
 * The plan of each read for one sample customer, executed as PostgREST runs it: role authenticated
 * with the staff member's claims, so RLS is in the plan. As `postgres`, which may take any role.
 */
async function explainReads(fx: Fixture, log: (line: string) => void): Promise<void> {
  const customer = fx.customers[0]!;
  const staff = fx.shops.get(customer.shopId)!.staff[0]!;
  const client = new pg.Client({ connectionString: fx.target.dbUrl });
  await client.connect();
  try {
    const queries: [ReadId, string, unknown[]][] = [
      ['search', `select id, shop_id, name, phone, current_balance from public.customers
                  where shop_id = $1 and name ilike $2 order by name limit 20`, [customer.shopId, `%${customer.name.slice(-2)}%`]],
      ['history', `select id, customer_id, sequence, type, amount, balance_after, memo, created_at from public.transactions
                   where customer_id = $1 order by sequence desc limit 20`, [customer.id]],
    ];
    for (const [id, sql, params] of queries) {
      await client.query('begin');
      try {
        await client.query('set local role authenticated');
        await client.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: staff.userId, role: 'authenticated' })]);
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers, costs off) ${sql}`, params);
        log(`  plan of ${id}, as ${staff.email} under RLS:`);
        for (const row of rows) log(`    ${row['QUERY PLAN']}`);
      } finally {
        await client.query('rollback');
      }
    }
  } finally {
    await client.end();
  }
}

async function measureLedgerSize(o: Options, transactions: number, log: (line: string) => void): Promise<Measurement[]> {
  const target = await benchTarget({ ownStack: true, dataset: { customers: o.customers, shops: o.shops, transactions } }, log);
  // Interrupted, this size's stack is still stopped and its folder removed.
  const release = onInterrupt(log, () => target.stop());
  let fx: Fixture | undefined;
  try {
    fx = await setUp(target, log);
    await explainReads(fx, log);
    const measurements: Measurement[] = [];
    for (const { id, read } of READS) {
      const http = new HttpClient(target.apiUrl, o.clients);
      try {
        const session = fx;
        const measured = await closedLoop(() => read(session, http), {
          clients: o.clients,
          warmupMs: o.warmupS * 1000,
          durationMs: o.durationS * 1000,
        });
        for (const sample of measured.recorder.errorSamples) log(`    unexpected: ${sample}`);
        const summary = measured.recorder.summarize(measured.durationMs);
        log(`  ${id} at ${transactions.toLocaleString('en')}: ${summary.rps} req/s, p50 ${summary.p50_ms} ms, p95 ${summary.p95_ms} ms, p99 ${summary.p99_ms} ms, ${summary.errors} errors`);
        measurements.push({
          scenario: `reads/${id}@${transactions}`,
          read: id,
          transactions,
          shape: `closed loop, ${o.clients} clients`,
          started_at: measured.startedAt.toISOString(),
          ...summary,
          balance_mismatches: await mismatchCount(fx.db),
        });
      } finally {
        await http.close();
      }
    }
    return measurements;
  } finally {
    await fx?.db.end();
    await target.stop();
    release();
  }
}

const ratio = (large: number | null, small: number | null) => (large === null || small === null || small === 0 ? null : Math.round((large / small) * 100) / 100);

async function main(): Promise<void> {
  const o = readOptions(process.argv.slice(2));
  const log = (line: string) => console.log(line);
  const started = new Date();
  const loadAverage = os.loadavg();
  const measurements: Measurement[] = [];
  for (const size of o.sizes) {
    log(`\n== ${size.toLocaleString('en')} transactions, ${o.customers.toLocaleString('en')} customers in ${o.shops} shops`);
    measurements.push(...(await measureLedgerSize(o, size, log)));
  }

  const smallest = o.sizes[0]!;
  const largest = o.sizes.at(-1)!;
  const at = (id: ReadId, size: number) => measurements.find((m) => m.read === id && m.transactions === size)!;
  const ratios = READS.map(({ id }) => {
    const [small, large] = [at(id, smallest), at(id, largest)];
    const p95 = ratio(large.p95_ms, small.p95_ms);
    return { read: id, p50: ratio(large.p50_ms, small.p50_ms), p95, rps: ratio(large.rps, small.rps), met: p95 !== null && p95 <= P95_GROWTH_ALLOWED };
  });

  log(`\nread      transactions      req/s   p50 ms   p95 ms   p99 ms  errors`);
  for (const m of measurements) {
    log(`${m.read.padEnd(8)} ${m.transactions.toLocaleString('en').padStart(13)} ${String(m.rps).padStart(10)} ${String(m.p50_ms).padStart(8)} ${String(m.p95_ms).padStart(8)} ${String(m.p99_ms).padStart(8)} ${String(m.errors).padStart(7)}`);
  }
  log(`\nratio ${largest.toLocaleString('en')} ÷ ${smallest.toLocaleString('en')} transactions (target: p95 within ${P95_GROWTH_ALLOWED}x):`);
  for (const r of ratios) log(`  ${r.read.padEnd(8)} p50 ${r.p50}x, p95 ${r.p95}x, req/s ${r.rps}x  ${r.met ? 'met' : 'MISSED'}`);

  const report = {
    scenario: 'reads-scaling',
    started_at: started.toISOString(),
    duration_ms: Date.now() - started.getTime(),
    command: invocation('bench:reads'),
    machine: machineFacts(loadAverage),
    dataset: { customers: o.customers, shops: o.shops, transactions: o.sizes },
    phases: measurements,
    ratios,
  };
  await writeReport(o.out, report);
  log(`\nWrote ${path.relative(process.cwd(), o.out)} (${Math.round(report.duration_ms / 1000)} s in all).`);
  // A wrong answer fails the run; a missed ratio is a finding, printed above.
  if (measurements.some((m) => m.errors > 0 || m.balance_mismatches > 0)) process.exitCode = 1;
}

runScript(main);
