/**
 * `npm run bench:shops`: how many money movements one shop can make, and many shops side by side,
 * over SQL (the figures docs/scaling.md sizes nodes and shards with).
 *
 *   npm run bench:shops [-- --own-stack --clients 32 --duration 5 --warmup 1 --shops 1,10,100
 *                          --customers 200 --small-pool 8 --rounds 2 --transactions 100000
 *                          --movements-per-day 300 --out reports/load/shops-scaling.json]
 *
 * Every point is `deduct_balance` of 10 KRW over `--clients` pg connections as service_role, in a
 * closed loop, with the SQL and arguments of phase 1 of `npm run bench` (scenarios.ts sqlDeductOver),
 * two things apart: the acting user is the customer's shop's owner (this script signs no staff in),
 * not a random clerk, and the shop is passed (below), which phase 1 leaves out. The points:
 *   - the hot customer: every client on one customer, serialised by its row lock;
 *   - for each count of shops (1, 10, 100): the same number of customers (`--customers`), spread
 *     evenly over that many shops. Only the spread changes, so a cost shared by a shop's movements
 *     (a lock or a hot row per shop) shows as 1 shop slower than 10 or 100; the 1-shop point is one
 *     shop's whole traffic.
 * After each point `reconcile_balances()` must return no row and the ledger must have gained exactly
 * one row per acknowledged movement. Each point also gives PostgreSQL's CPU per movement (/proc, as
 * `npm run bench` reads it) and the WAL written per movement (checkpoints' full pages included). Then it prints the ledger's bytes per row (heap and each index)
 * with a year's growth for a shop of `--movements-per-day`, and the connections each process held.
 *
 * The arguments are the ones deduct_balance takes on every schema so far; when the function also
 * takes `p_shop_id` (the schema re-keyed by shop for Citus, issue 16), the shop is passed by name, as
 * a distributed function is routed by it (the report's options say whether it was).
 *
 * Which stack: see target.ts (the environment's, then `npm start`'s, else one of its own; with
 * --own-stack always one of its own, generated with as many shops as the largest point).
 */
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { integerOption, invocation, machineFacts, onInterrupt, readCommandLine, runScript, writeReport } from '../command_line.ts';
import { readDatasetManifest } from '../dataset_manifest.ts';
import { CpuMeter } from './cpu.ts';
import { openBooks, ownerOf } from './fixture.ts';
import { booksFailed, measurePhase, overSql } from './phase.ts';
import type { PhaseReport } from './report.ts';
import { FLOOR_AMOUNT, sqlDeductOver, sqlDeductText } from './scenarios.ts';
import { median, pointsOf, type PointOptions } from './shops_points.ts';
import { benchTarget } from './target.ts';

interface Options extends PointOptions {
  durationS: number;
  warmupS: number;
  transactions: number;
  movementsPerDay: number;
  rounds: number;
  ownStack: boolean;
  out: string;
}

function readOptions(argv: string[]): Options {
  const line = readCommandLine(argv, {
    clients: '32',
    duration: '5',
    warmup: '1',
    shops: '1,10,100',
    customers: '200',
    transactions: '100000',
    'movements-per-day': '300',
    'small-pool': '8',
    rounds: '2',
    'own-stack': false,
    out: 'reports/load/shops-scaling.json',
  });
  const shopCounts = [...new Set(line.text('shops').split(',').map((n) => integerOption('shops', n.trim(), 1, 10_000)))].sort((a, b) => a - b);
  const customers = line.integer('customers', 1, 100_000);
  if (shopCounts.at(-1)! > customers) throw new Error(`--customers (${customers}) must be at least the largest --shops (${shopCounts.at(-1)}): one customer a shop`);
  return {
    clients: line.integer('clients', 1, 1000),
    durationS: line.integer('duration', 1, 3600),
    warmupS: line.integer('warmup', 0, 600),
    shopCounts,
    customers,
    transactions: line.integer('transactions', 0, 1_000_000_000),
    movementsPerDay: line.integer('movements-per-day', 1, 10_000_000),
    smallPool: line.integer('small-pool', 0, 1000),
    rounds: line.integer('rounds', 1, 20),
    ownStack: line.flag('own-stack'),
    out: line.outPath('out'),
  };
}

/** The most connections each holder had open while `during` ran, sampled every 200 ms over `watcher`'s one connection. */
async function peakConnections<T>(watcher: pg.Client, during: () => Promise<T>): Promise<{ result: T; peak: Map<string, number> }> {
  const peak = new Map<string, number>();
  let running = true;
  const sampler = (async () => {
    while (running) {
      try {
        for (const { holder, connections } of await connectionsByHolder(watcher)) peak.set(holder, Math.max(peak.get(holder) ?? 0, connections));
      } catch {
        // A missed sample (the watcher's connection dropped): the peak is a maximum, and the run goes on.
      }
      await sleep(200);
    }
  })();
  try {
    return { result: await during(), peak };
  } finally {
    running = false;
    await sampler;
  }
}

/** Where the WAL is now: each point's WAL per movement is the difference over the rows it added. */
async function walPosition(db: pg.Client): Promise<string> {
  const { rows } = await db.query<{ lsn: string }>('select pg_current_wal_insert_lsn()::text as lsn');
  return rows[0]!.lsn;
}

async function walBytesSince(db: pg.Client, lsn: string): Promise<number> {
  const { rows } = await db.query<{ bytes: string }>('select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn) as bytes', [lsn]);
  return Number(rows[0]!.bytes);
}


/** Whether deduct_balance takes the shop (the re-keyed schema): then it is passed, by name. */
async function takesShop(db: pg.Pool): Promise<boolean> {
  const { rows } = await db.query<{ takes: boolean }>(
    `select coalesce(bool_or('p_shop_id' = any(p.proargnames)), false) as takes
       from pg_proc p where p.pronamespace = 'public'::regnamespace and p.proname = 'deduct_balance'`,
  );
  return rows[0]!.takes;
}

interface LedgerSize {
  rows: number;
  heap_bytes: number;
  toast_bytes: number;
  index_bytes: number;
  total_bytes: number;
  bytes_per_row: { heap: number; indexes: number; total: number };
  indexes: { name: string; bytes: number; bytes_per_row: number }[];
  per_shop_year: { movements_per_day: number; rows: number; bytes: number };
}

async function ledgerSize(db: pg.Pool, movementsPerDay: number): Promise<LedgerSize> {
  const { rows } = await db.query<{ rows: string; heap: string; total: string; indexes: string }>(
    `select (select count(*) from public.transactions) as rows,
            pg_relation_size('public.transactions') as heap,
            pg_indexes_size('public.transactions') as indexes,
            pg_total_relation_size('public.transactions') as total`,
  );
  const { rows: indexes } = await db.query<{ name: string; bytes: string }>(
    `select c.relname as name, pg_relation_size(i.indexrelid) as bytes
       from pg_index i join pg_class c on c.oid = i.indexrelid
      where i.indrelid = 'public.transactions'::regclass order by pg_relation_size(i.indexrelid) desc, c.relname`,
  );
  const count = Number(rows[0]!.rows);
  const perRow = (bytes: number) => (count === 0 ? 0 : Math.round((bytes / count) * 10) / 10);
  const [heap, indexBytes, total] = [Number(rows[0]!.heap), Number(rows[0]!.indexes), Number(rows[0]!.total)];
  const yearRows = movementsPerDay * 365;
  return {
    rows: count,
    heap_bytes: heap,
    toast_bytes: total - heap - indexBytes,
    index_bytes: indexBytes,
    total_bytes: total,
    bytes_per_row: { heap: perRow(heap), indexes: perRow(indexBytes), total: perRow(total) },
    indexes: indexes.map((i) => ({ name: i.name, bytes: Number(i.bytes), bytes_per_row: perRow(Number(i.bytes)) })),
    per_shop_year: { movements_per_day: movementsPerDay, rows: yearRows, bytes: Math.round(perRow(total) * yearRows) },
  };
}

/**
 * The connections to this database now, by who holds them (PostgREST, the auth and Realtime pool, ...),
 * but the asking one. As the database URL's user: the service role would not see other roles' sessions.
 */
async function connectionsByHolder(db: pg.Client): Promise<{ holder: string; connections: number }[]> {
  const { rows } = await db.query<{ holder: string; connections: string }>(
    `select coalesce(nullif(application_name, ''), usename::text, backend_type, 'unknown') as holder, count(*) as connections
       from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()
      group by 1 order by 2 desc, 1`,
  );
  return rows.map((r) => ({ holder: r.holder, connections: Number(r.connections) }));
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function main(): Promise<void> {
  const o = readOptions(process.argv.slice(2));
  const log = (line: string) => console.log(line);
  const started = new Date();
  const loadAverage = os.loadavg();
  const largest = o.shopCounts.at(-1)!;
  const perShop = Math.ceil(o.customers / o.shopCounts[0]!);
  const target = await benchTarget(
    {
      ownStack: o.ownStack,
      dataset: { shops: largest, customers: largest * perShop, transactions: o.transactions, sample: perShop },
    },
    log,
  );
  // Interrupted, a stack of its own is still stopped and removed.
  onInterrupt(log, () => target.stop());
  let books: pg.Pool | undefined;
  const watcher = new pg.Client({ connectionString: target.dbUrl, application_name: 'comings-bench-watch' });
  watcher.on('error', () => undefined);
  let exitCode = 0;
  try {
    const manifest = readDatasetManifest(target.datasetPath);
    const points = pointsOf(manifest, o);
    const used = [...new Map(points.flatMap((p) => p.customers).map((c) => [c.id, c])).values()];
    books = await openBooks(target, manifest, used, log);
    await watcher.connect();
    const db = books;
    const withShop = await takesShop(db);
    const ownerOfShop = new Map(manifest.shops.map((shop) => [shop.id, ownerOf(shop)]));
    const text = sqlDeductText(withShop);
    log(
      `Benchmarking ${target.dbUrl.replace(/:[^:@/]*@/, ':***@')} (${target.origin}): ${manifest.shape.shops} shops, ` +
        `${manifest.shape.transactions.toLocaleString('en')} generated transactions; ${text.replace(' as result', '')}; ` +
        `${o.clients} connections, ${o.durationS} s a point after ${o.warmupS} s of warm-up.`,
    );
    const meter = CpuMeter.locate(target.apiUrl, target.dbUrl);
    if (!meter) log("The stack's processes are not on this machine: no PostgreSQL CPU per movement.");

    type PointReport = PhaseReport & { point: string; round: number; shops: number; customers: number; clients: number; wal_bytes_per_movement: number | null };
    const reports: PointReport[] = [];
    const peak = new Map<string, number>();
    for (let round = 1; round <= o.rounds; round++) {
      for (const point of points) {
        log(`\n${point.title}, round ${round}: ${point.customers.length} customers in ${point.shops} shop(s), ${point.clients} connections`);
        const { customers } = point;
        const walBefore = await walPosition(watcher);
        const { result: report, peak: seen } = await peakConnections(watcher, () =>
          measurePhase(
            db,
            {
              id: point.id,
              title: point.title,
              path: 'select public.deduct_balance(...) over pg, as service_role',
              run: () =>
                overSql(target.dbUrl, { ...o, clients: point.clients }, (pool) =>
                  sqlDeductOver(pool, withShop, () => {
                    const customer = customers[Math.floor(Math.random() * customers.length)]!;
                    return { actorUserId: ownerOfShop.get(customer.shopId)!, customer };
                  }),
                ),
            },
            meter,
          ),
        );
        const walBytes = await walBytesSince(watcher, walBefore);
        const walPerMovement = report.ledger_rows_added > 0 ? Math.round(walBytes / report.ledger_rows_added) : null;
        for (const [holder, count] of seen) peak.set(holder, Math.max(peak.get(holder) ?? 0, count));
        log(`    ${report.rps} movements/s, p50 ${report.p50_ms} ms, p95 ${report.p95_ms} ms, ${report.errors} errors, ${report.balance_mismatches} mismatches`);
        reports.push({ ...report, point: point.id, round, shops: point.shops, customers: customers.length, clients: point.clients, wal_bytes_per_movement: walPerMovement });
      }
    }

    const size = await ledgerSize(db, o.movementsPerDay);
    const base = `shops-${o.shopCounts[0]}`;
    const baseOf = (r: PointReport) => reports.find((b) => b.point === base && b.round === r.round)!;
    const ratioOf = (r: PointReport) => (baseOf(r).rps > 0 ? Math.round((r.rps / baseOf(r).rps) * 100) / 100 : null);
    const pgCpu = (r: PhaseReport) => r.cpu?.ms_per_request.postgres ?? null;

    log(`\nSQL deduct_balance of ${FLOOR_AMOUNT} KRW, closed loop, ${o.durationS} s a point after ${o.warmupS} s of warm-up, ${o.rounds} round(s); p_shop_id passed: ${withShop ? 'yes' : 'no (the function has none)'}`);
    log(`point                            round  shops  customers  conns  movements/s   p50 ms   p95 ms  PG CPU ms/mv  WAL B/mv  ÷ ${base.replace('shops-', '')} shop(s)  errors  mismatches  rows = acks`);
    for (const r of reports) {
      const cpu = pgCpu(r);
      log(
        `${r.title.padEnd(32)} ${String(r.round).padStart(6)} ${String(r.shops).padStart(6)} ${String(r.customers).padStart(10)} ${String(r.clients).padStart(6)} ` +
          `${String(r.rps).padStart(12)} ${String(r.p50_ms).padStart(8)} ${String(r.p95_ms).padStart(8)} ${(cpu === null ? '-' : cpu.toFixed(3)).padStart(13)} ` +
          `${String(r.wal_bytes_per_movement ?? '-').padStart(9)} ${String(ratioOf(r) ?? '-').padStart(15)} ${String(r.errors).padStart(7)} ${String(r.balance_mismatches).padStart(11)} ` +
          `${(r.ledger_rows_added === r.acknowledged_writes ? 'yes' : `NO ${r.ledger_rows_added}/${r.acknowledged_writes}`).padStart(12)}`,
      );
    }
    log('\nmedian over the rounds:');
    const summary = points.map((point) => {
      const rows = reports.filter((r) => r.point === point.id);
      const ratios = rows.map(ratioOf).filter((x): x is number => x !== null);
      const cpus = rows.map(pgCpu).filter((x): x is number => x !== null);
      const wal = rows.map((r) => r.wal_bytes_per_movement).filter((x): x is number => x !== null);
      const line = {
        point: point.id,
        title: point.title,
        rps: median(rows.map((r) => r.rps)),
        p95_ms: median(rows.map((r) => r.p95_ms ?? 0)),
        pg_cpu_ms: cpus.length ? median(cpus) : null,
        wal_bytes_per_movement: wal.length ? median(wal) : null,
        ratio_to_base: ratios.length ? median(ratios) : null,
        ratios,
      };
      log(
        `  ${point.title.padEnd(32)} ${String(line.rps).padStart(8)} movements/s, p95 ${line.p95_ms} ms, PG CPU ${line.pg_cpu_ms ?? '-'} ms and WAL ${line.wal_bytes_per_movement ?? '-'} bytes a movement, ` +
          `÷ ${base.replace('shops-', '')} shop(s) ${line.ratio_to_base ?? '-'} (rounds: ${ratios.join(', ')})`,
      );
      return line;
    });
    // The hot customer waits on one row lock: its CPU per movement is not the work a movement needs.
    const spreadCpu = reports.filter((r) => r.point !== 'shops-hot-customer').map(pgCpu).filter((c): c is number => c !== null);
    if (spreadCpu.length > 0) {
      const cpu = median(spreadCpu);
      log(
        `PostgreSQL CPU per movement spread over customers (median of the shops points): ${cpu.toFixed(3)} ms, so at most ` +
          `${Math.round(1000 / cpu)} movements/s per core for PostgreSQL alone (${os.cpus().length} cores here: ${Math.round((os.cpus().length * 1000) / cpu)}/s).`,
      );
    }

    log(`\nLedger (public.transactions) after the run: ${size.rows.toLocaleString('en')} rows, ${mb(size.total_bytes)} in all`);
    log(
      `  bytes per row: heap ${size.bytes_per_row.heap}, indexes ${size.bytes_per_row.indexes}, total ${size.bytes_per_row.total} ` +
        `(toast and maps ${size.toast_bytes.toLocaleString('en')} bytes)`,
    );
    for (const i of size.indexes) log(`    ${i.name.padEnd(52)} ${String(i.bytes_per_row).padStart(7)} bytes/row  ${mb(i.bytes)}`);
    log(
      `  a shop of ${o.movementsPerDay} movements a day: ${size.per_shop_year.rows.toLocaleString('en')} rows a year, ` +
        `${mb(size.per_shop_year.bytes)} a year at ${size.bytes_per_row.total} bytes a row`,
    );

    log('\nConnections to PostgreSQL, the most each holder had open at once during the points (sampled every 200 ms; pools open lazily):');
    for (const [holder, count] of [...peak].sort((x, y) => y[1] - x[1])) log(`    ${holder.padEnd(30)} ${count}`);
    log(`  comings-bench is this benchmark: one connection per client (${o.clients}, ${o.smallPool} in the small-pool point) plus its books pool (at most 4).`);

    const report = {
      scenario: 'shops-scaling',
      started_at: started.toISOString(),
      duration_ms: Date.now() - started.getTime(),
      command: invocation('bench:shops'),
      stack: { origin: target.origin, api_url: target.apiUrl },
      machine: machineFacts(loadAverage),
      dataset: manifest.shape,
      options: {
        clients: o.clients,
        small_pool: o.smallPool,
        rounds: o.rounds,
        duration_s: o.durationS,
        warmup_s: o.warmupS,
        shops: o.shopCounts,
        customers: o.customers,
        transactions: o.transactions,
        movements_per_day: o.movementsPerDay,
        p_shop_id_passed: withShop,
      },
      phases: reports,
      summary,
      ledger: size,
      peak_connections: Object.fromEntries(peak),
    };
    await writeReport(o.out, report);
    log(`\nWrote ${path.relative(process.cwd(), o.out)} (${Math.round(report.duration_ms / 1000)} s in all; load average at start ${report.machine.load_average_at_start.join(', ')}).`);
    if (booksFailed(reports)) exitCode = 1;
  } finally {
    await books?.end();
    await watcher.end().catch(() => undefined);
    await target.stop();
  }
  process.exitCode = exitCode;
}

runScript(main);
