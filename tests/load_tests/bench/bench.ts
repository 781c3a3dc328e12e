/**
 * `npm run bench`: one run that measures the same deduct on every path a request can take, the
 * realistic mix and the hot customer, on the generated dataset, and prints how they compare.
 *
 *   npm run bench [-- --clients 32 --duration 10 --warmup 2 --mix-rate 1000 --hot-clients 50
 *                    --phases sql-bare-deduct,sql-deduct,... --own-stack --out reports/load/bench.json]
 *
 * Which stack: see target.ts (the environment's, then `npm start`'s, else one of its own).
 * Timings on a shared 2-core machine are noisy; the ratios, measured minutes apart in one run, are
 * what to compare between runs.
 */
import os from 'node:os';
import path from 'node:path';
import { invocation, machineFacts, onInterrupt, readCommandLine, runScript, writeReport } from '../command_line.ts';
import { CpuMeter } from './cpu.ts';
import type pg from 'pg';
import { createBareDeduct, dropLiveScratchSchemas } from './bare.ts';
import { closedLoop, openLoop, type Iteration, type Measured } from './driver.ts';
import { setUp, type Fixture } from './fixture.ts';
import { HttpClient } from './http.ts';
import { booksFailed, measurePhase, overSql as overSqlConnections, type PhaseRun } from './phase.ts';
import { cpuAccountingWarnings, formatReport, ratiosOf, targetsOf, type BenchReport, type PhaseReport } from './report.ts';
import * as scenario from './scenarios.ts';
import { benchTarget } from './target.ts';

interface Options {
  clients: number;
  durationS: number;
  warmupS: number;
  mixRate: number;
  hotClients: number;
  phases: string[];
  ownStack: boolean;
  out: string;
}

/** The most requests the open loop lets wait on the stack at once before due ones queue here. */
const OPEN_LOOP_MAX_IN_FLIGHT = 256;

interface Phase {
  id: string;
  title: string;
  path: string;
  run(fx: Fixture, o: Options): Promise<PhaseRun>;
}

/** A closed loop over `clients` pg connections as service_role, the same for every SQL phase. */
const overSql = (fx: Fixture, o: Options, build: (db: pg.Pool) => Iteration) =>
  overSqlConnections(fx.target.dbUrl, { clients: o.clients, warmupS: o.warmupS, durationS: o.durationS }, build);

async function overHttp(
  fx: Fixture,
  connections: number,
  build: (http: HttpClient) => Iteration,
  load: (iteration: Iteration) => Promise<Measured>,
): Promise<Measured> {
  const http = new HttpClient(fx.target.apiUrl, connections);
  try {
    return await load(build(http));
  } finally {
    await http.close();
  }
}

function closedHttpPhase(id: string, title: string, route: string, build: (fx: Fixture, http: HttpClient) => Iteration, clientsOf = (o: Options) => o.clients): Phase {
  return {
    id,
    title,
    path: route,
    async run(fx, o) {
      const clients = clientsOf(o);
      const measured = await overHttp(fx, clients, (http) => build(fx, http), (iteration) =>
        closedLoop(iteration, { clients, warmupMs: o.warmupS * 1000, durationMs: o.durationS * 1000 }),
      );
      return { measured, shape: `closed loop, ${clients} clients` };
    },
  };
}

/**
 * Phase 0 or 0b: the bare deduct in a scratch schema made for the phase. Making, checking and
 * dropping it falls in the phase's CPU window too: some tens of milliseconds of PostgreSQL CPU
 * against the seconds the phase's calls take (< 1 % at 10 s).
 */
function barePhase(id: string, title: string, path: string, broadcast: boolean): Phase {
  return {
    id,
    title,
    path,
    async run(fx, o) {
      const bare = await createBareDeduct(fx, broadcast);
      try {
        const run = await overSql(fx, o, (db) => bare.iteration(db, scenario.FLOOR_AMOUNT));
        return { ...run, books: await bare.books() };
      } finally {
        await bare.drop();
      }
    },
  };
}

const PHASES: Phase[] = [
  barePhase(
    'sql-bare-deduct',
    '0  SQL bare atomic deduct',
    'select for update, update, insert (primary key only): a scratch schema over pg, as service_role',
    false,
  ),
  barePhase('sql-bare-broadcast', '0b SQL bare deduct + broadcast', 'phase 0 and the live screens\' realtime.send of the movement', true),
  {
    id: 'sql-deduct',
    title: '1  SQL deduct_balance',
    path: 'select public.deduct_balance(...) over pg, as service_role',
    run: (fx, o) => overSql(fx, o, (db) => scenario.sqlDeduct(fx, db)),
  },
  {
    id: 'sql-kiosk-pay',
    title: '1k SQL kiosk_pay',
    path: 'select public.kiosk_pay(...) over pg, as service_role',
    run: (fx, o) => overSql(fx, o, (db) => scenario.sqlKioskPay(fx, db)),
  },
  closedHttpPhase('rpc-deduct', '2  PostgREST RPC deduct', 'POST /rest/v1/rpc/deduct_balance (service key)', scenario.rpcDeduct),
  closedHttpPhase('rpc-kiosk-pay', '2k PostgREST RPC kiosk_pay', 'POST /rest/v1/rpc/kiosk_pay (service key)', scenario.rpcKioskPay),
  closedHttpPhase('edge-deduct', '3  edge deduct', 'POST /functions/v1/transactions/deduct (staff JWT)', scenario.edgeDeduct),
  closedHttpPhase('edge-kiosk-pay', '3k edge kiosk pay', 'POST /functions/v1/kiosk/pay (kiosk key + PIN)', scenario.edgeKioskPay),
  closedHttpPhase('mix', '4  mix, capacity', 'functions for writes, /rest/v1 for reads', scenario.realisticMix),
  {
    id: 'mix-at-rate',
    title: '4r mix at target rate',
    path: 'functions for writes, /rest/v1 for reads',
    async run(fx, o) {
      const measured = await overHttp(fx, OPEN_LOOP_MAX_IN_FLIGHT, (http) => scenario.realisticMix(fx, http), (iteration) =>
        openLoop(iteration, {
          rate: o.mixRate,
          warmupMs: o.warmupS * 1000,
          durationMs: o.durationS * 1000,
          maxInFlight: OPEN_LOOP_MAX_IN_FLIGHT,
        }),
      );
      return { measured, shape: `open loop, ${o.mixRate} req/s` };
    },
  },
  closedHttpPhase('hot-customer', '5  hot customer', 'kiosk pay, deduct, charge on one customer', scenario.hotCustomer, (o) => o.hotClients),
];

function readOptions(argv: string[]): Options {
  const line = readCommandLine(argv, {
    clients: '32',
    duration: '10',
    warmup: '2',
    'mix-rate': '1000',
    'hot-clients': '50',
    phases: PHASES.map((p) => p.id).join(','),
    'own-stack': false,
    out: 'reports/load/bench.json',
  });
  const phases = line.text('phases').split(',').map((p) => p.trim()).filter(Boolean);
  // The SQL phases are judged against the bare deduct measured in the same run; the deduct also against 0b.
  const wants = (id: string) => phases.includes(id);
  if ((wants('sql-deduct') || wants('sql-kiosk-pay')) && !wants('sql-bare-deduct')) phases.unshift('sql-bare-deduct');
  if (wants('sql-deduct') && !wants('sql-bare-broadcast')) phases.unshift('sql-bare-broadcast');
  const unknown = phases.filter((id) => !PHASES.some((p) => p.id === id));
  if (unknown.length > 0) throw new Error(`unknown phase(s) ${unknown.join(', ')}; the phases are ${PHASES.map((p) => p.id).join(', ')}`);
  return {
    clients: line.integer('clients', 1, 1000),
    durationS: line.integer('duration', 1, 3600),
    warmupS: line.integer('warmup', 0, 600),
    mixRate: line.integer('mix-rate', 1, 100_000),
    hotClients: line.integer('hot-clients', 1, 1000),
    phases,
    ownStack: line.flag('own-stack'),
    out: line.outPath('out'),
  };
}

async function main(): Promise<void> {
  const o = readOptions(process.argv.slice(2));
  const started = new Date();
  const loadAverage = os.loadavg();
  const log = (line: string) => console.log(line);
  const target = await benchTarget({ ownStack: o.ownStack, dataset: { customers: 1000, transactions: 100_000 } }, log);
  // Interrupted, the run still drops phase 0's scratch schema and stops a stack of its own.
  onInterrupt(log, () => dropLiveScratchSchemas().then(() => target.stop()), 'dropping the scratch schema and stopping');
  let fx: Fixture | undefined;
  let exitCode = 0;
  try {
    log(`Benchmarking ${target.apiUrl} (${target.origin}), dataset ${target.datasetPath}`);
    const ready = await setUp(target, log);
    fx = ready;
    log(
      `${fx.dataset.transactions.toLocaleString('en')}-transaction dataset, load spread over ${fx.customers.length} customers; ` +
        `${o.durationS} s per phase after ${o.warmupS} s of warm-up.`,
    );
    const meter = CpuMeter.locate(target.apiUrl, target.dbUrl);
    if (!meter) log('The stack\'s processes are not on this machine: no CPU profile per part.');
    const phases: PhaseReport[] = [];
    for (const phase of PHASES.filter((p) => o.phases.includes(p.id))) {
      log(`\n${phase.title.trim()}: ${phase.path}`);
      const report = await measurePhase(fx.db, { ...phase, run: () => phase.run(ready, o) }, meter);
      log(
        `    ${report.rps} req/s, p50 ${report.p50_ms} ms, p95 ${report.p95_ms} ms, p99 ${report.p99_ms} ms, ` +
          `${report.errors} errors, ${report.balance_mismatches} mismatches`,
      );
      phases.push(report);
    }
    const ratios = ratiosOf(phases);
    const report: BenchReport = {
      scenario: 'bench',
      started_at: started.toISOString(),
      duration_ms: Date.now() - started.getTime(),
      command: invocation('bench'),
      stack: { origin: target.origin, api_url: target.apiUrl },
      // Other work on the machine changes req/s and latency, not CPU per request: the load average says how busy it was.
      machine: machineFacts(loadAverage),
      dataset: { ...fx.dataset, customers_used: fx.customers.length, topped_up_to: fx.topUpTo },
      options: {
        clients: o.clients,
        duration_s: o.durationS,
        warmup_s: o.warmupS,
        mix_rate: o.mixRate,
        hot_clients: o.hotClients,
        open_loop_max_in_flight: OPEN_LOOP_MAX_IN_FLIGHT,
      },
      phases,
      ratios,
      targets: targetsOf(phases, ratios, o.mixRate),
      cpu_accounting_warnings: cpuAccountingWarnings(phases),
    };
    log(`\n${formatReport(report)}`);
    await writeReport(o.out, report);
    log(`\nWrote ${path.relative(process.cwd(), o.out)} (${Math.round(report.duration_ms / 1000)} s in all).`);
    if (booksFailed(phases)) exitCode = 1;
  } finally {
    await fx?.db.end();
    await target.stop();
  }
  process.exitCode = exitCode;
}

runScript(main);
