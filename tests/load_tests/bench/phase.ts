// One measured phase, shared by `npm run bench` and `npm run bench:shops`: a closed loop over pg
// connections as the service role, the CPU each part of the stack spent on it, and what the books
// say afterwards (balances reconciled, ledger rows against acknowledged writes).

import type pg from 'pg';
import { cpuProfile, type CpuMeter } from './cpu.ts';
import { closedLoop, type Iteration, type Measured } from './driver.ts';
import { ledgerRowCount, mismatchCount, serviceRolePool } from './fixture.ts';
import { judgeSeedCriteria, type PhaseReport } from './report.ts';
import { MONEY_REQUESTS } from './scenarios.ts';

export interface PhaseRun {
  measured: Measured;
  shape: string;
  /** PostgreSQL backends of the connections the phase opened and closed: the CPU reading waits for them to end. */
  backends?: number[];
  /** A phase that writes a ledger of its own (the bare deduct) counts its rows and balances itself. */
  books?: { ledger_rows_added: number; balance_mismatches: number };
}

export interface MeasuredPhase {
  id: string;
  title: string;
  path: string;
  run(): Promise<PhaseRun>;
}

export interface SqlLoad {
  clients: number;
  warmupS: number;
  durationS: number;
}

/** A closed loop over `clients` pg connections as service_role, one connection per client. */
export async function overSql(dbUrl: string, load: SqlLoad, build: (db: pg.Pool) => Iteration): Promise<PhaseRun> {
  const db = serviceRolePool(dbUrl, load.clients);
  const backends: number[] = [];
  db.on('connect', (client) => backends.push((client as unknown as { processID: number }).processID));
  try {
    const measured = await closedLoop(build(db), { clients: load.clients, warmupMs: load.warmupS * 1000, durationMs: load.durationS * 1000 });
    return { measured, shape: `closed loop, ${load.clients} connections`, backends };
  } finally {
    await db.end();
  }
}

/** Runs the phase between two CPU readings and checks the books after it; `db` is the service role's pool for the checks. */
export async function measurePhase(db: pg.Pool, phase: MeasuredPhase, meter: CpuMeter | undefined): Promise<PhaseReport> {
  const ledgerBefore = await ledgerRowCount(db);
  // Backends that earlier work closed must not end inside this phase's window.
  await meter?.settle();
  const cpuBefore = await meter?.read();
  const { measured, shape, backends, books } = await phase.run();
  // Every backend the phase caused is counted, its exit included: closing a pool only asks them to end.
  await meter?.settle(backends);
  const cpuAfter = await meter?.read();
  const summary = measured.recorder.summarize(measured.durationMs);
  const balanceMismatches = (await mismatchCount(db)) + (books?.balance_mismatches ?? 0);
  const ledgerRowsAdded = books ? books.ledger_rows_added : (await ledgerRowCount(db)) - ledgerBefore;
  const acknowledgedWrites = Object.entries(measured.okByName)
    .filter(([name]) => MONEY_REQUESTS.has(name))
    .reduce((sum, [, count]) => sum + count, 0);
  const report = {
    scenario: `bench/${phase.id}`,
    title: phase.title,
    path: phase.path,
    shape,
    started_at: measured.startedAt.toISOString(),
    ...summary,
    balance_mismatches: balanceMismatches,
    ledger_rows_added: ledgerRowsAdded,
    acknowledged_writes: acknowledgedWrites,
    unsent: measured.unsent,
    cpu: cpuBefore && cpuAfter ? cpuProfile(cpuBefore, cpuAfter, measured.answered) : null,
  };
  for (const sample of measured.recorder.errorSamples) console.log(`    unexpected: ${sample}`);
  return { ...report, ...judgeSeedCriteria(report) };
}

/** A wrong answer or a lost won fails a run; a missed speed target is a finding, not a failure. */
export const booksFailed = (phases: PhaseReport[]): boolean =>
  phases.some((p) => p.errors > 0 || p.balance_mismatches > 0 || p.ledger_rows_added !== p.acknowledged_writes);
