// The benchmark's own arithmetic and judgement, without a stack: percentiles, the per-second series,
// what counts as an error or a refusal, and the open loop's count of requests it could not send.
import os from 'node:os';
import { describe, expect, it, vi } from 'vitest';
import { CpuMeter, cpuProfile, type ProcessTable, type ProcStat } from './cpu.ts';
import { openLoop } from './driver.ts';
import type { HttpAnswer } from './http.ts';
import { cpuAccountingWarnings, judgeSeedCriteria, ratiosOf, targetsOf, type PhaseReport } from './report.ts';
import { profileTree } from './profile.ts';
import { isRightMoneyAnswer } from '../../../k6/lib/journey-rules.ts';
import { judgeHttp, judgeSqlFailure } from './scenarios.ts';
import { percentile, PhaseRecorder } from './stats.ts';

const answer = (status: number, body: unknown, headers: HttpAnswer['headers'] = {}): HttpAnswer => ({
  status,
  headers,
  body,
  text: JSON.stringify(body),
});

const money = (amount: number, balance: number) => ({
  transaction: { id: 'a1b2', type: 'deduct', amount, balance_after: balance },
  balance,
  replayed: false,
});

describe('percentiles', () => {
  it('are nearest-rank: p50 of 1..100 is 50, p95 is 95, p99 is 99', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(sorted, 50), percentile(sorted, 95), percentile(sorted, 99)]).toEqual([50, 95, 99]);
  });

  it('of a single answer are that answer, and of none are null', () => {
    expect(percentile([7.5], 99)).toBe(7.5);
    expect(percentile([], 50)).toBeNull();
  });
});

describe('a phase recorder', () => {
  it('counts requests, errors and refusals apart and puts each answer in the second it was sent', () => {
    const recorder = new PhaseRecorder(1_000);
    recorder.record('kiosk_pay', 1_000, 10, 'ok');
    recorder.record('kiosk_pay', 1_500, 20, 'insufficient_balance');
    recorder.record('staff_deduct', 2_100, 30, 'error', '500 internal_error');
    recorder.record('staff_deduct', 2_999, 40, 'ok');
    const summary = recorder.summarize(2_000);
    expect(summary).toMatchObject({ requests: 4, errors: 1, rps: 2, error_rate: 0.25, p50_ms: 20, p95_ms: 40, p99_ms: 40 });
    expect(summary.refusals).toEqual({ insufficient_balance: 1, balance_ceiling_exceeded: 0, pin_invalid: 0, pin_locked: 0, nothing_to_refund: 0 });
    expect(summary.latency_series).toEqual([
      { t_s: 0, requests: 2, errors: 0, p50_ms: 10, p95_ms: 20, p99_ms: 20 },
      { t_s: 1, requests: 2, errors: 1, p50_ms: 30, p95_ms: 40, p99_ms: 40 },
    ]);
    expect(summary.by_request.kiosk_pay).toEqual({ requests: 2, errors: 0, refusals: 1, p50_ms: 10, p95_ms: 20, p99_ms: 20 });
    expect(recorder.errorSamples).toEqual(['staff_deduct: 500 internal_error']);
  });
});

describe('judging an answer', () => {
  const deduct = { allowed: ['insufficient_balance'] as const, isRight: (body: unknown) => isRightMoneyAnswer(body, 10) };

  it('takes a money answer whose balance is its ledger row balance_after as ok', () => {
    expect(judgeHttp('staff_deduct', answer(200, money(10, 990)), deduct).outcome).toBe('ok');
  });

  it('takes a charge answer whose balance is balance_after plus its promotion bonus as ok, and one without the bonus as an error', () => {
    const charge = { allowed: ['balance_ceiling_exceeded'] as const, isRight: (body: unknown) => isRightMoneyAnswer(body, 10) };
    expect(judgeHttp('staff_charge', answer(200, { ...money(10, 990), balance: 991, bonus: 1 }), charge).outcome).toBe('ok');
    expect(judgeHttp('staff_charge', answer(200, { ...money(10, 990), balance: 991, bonus: 0 }), charge).outcome).toBe('error');
  });

  it('calls a success for another amount, a replay of a fresh key or a balance unlike balance_after an error', () => {
    expect(judgeHttp('staff_deduct', answer(200, money(20, 990)), deduct).outcome).toBe('error');
    expect(judgeHttp('staff_deduct', answer(200, money(10, 990), { 'idempotent-replayed': 'true' }), deduct).outcome).toBe('error');
    expect(judgeHttp('staff_deduct', answer(200, { ...money(10, 990), balance: 980 }), deduct).outcome).toBe('error');
  });

  it('counts an allowed refusal with its contract status as that refusal, from a function or from PostgREST', () => {
    expect(judgeHttp('staff_deduct', answer(409, { error: { code: 'insufficient_balance' } }), deduct).outcome).toBe('insufficient_balance');
    expect(judgeHttp('rpc_deduct_balance', answer(409, { code: 'insufficient_balance' }), deduct).outcome).toBe('insufficient_balance');
  });

  it('calls a refusal with the wrong status, or one this request may not get, an error', () => {
    expect(judgeHttp('staff_deduct', answer(400, { error: { code: 'insufficient_balance' } }), deduct).outcome).toBe('error');
    expect(judgeHttp('staff_deduct', answer(423, { error: { code: 'pin_locked' } }), deduct).outcome).toBe('error');
    expect(judgeHttp('staff_deduct', answer(500, { error: { code: 'internal_error' } }), deduct).why).toBe(
      '500 {"error":{"code":"internal_error"}}',
    );
  });

  it('reads the PIN refusal that kiosk_pay returns with 200 as a refusal, and a wrong PIN accepted as an error', () => {
    const wrongPin = { allowed: ['pin_invalid', 'pin_locked'] as const, mustRefuse: true, isRight: () => true };
    expect(judgeHttp('rpc_kiosk_pay', answer(200, { ok: false, code: 'pin_invalid', remaining_attempts: 4 }), wrongPin).outcome).toBe('pin_invalid');
    expect(judgeHttp('kiosk_pay', answer(200, money(10, 990)), wrongPin).outcome).toBe('error');
  });

  it('reads a refusal raised in SQL from the PGRST error message, and anything else as an error', () => {
    const raised = { code: 'PGRST', message: '{"code":"insufficient_balance","message":"balance too low"}' };
    expect(judgeSqlFailure('sql_deduct_balance', raised, ['insufficient_balance']).outcome).toBe('insufficient_balance');
    expect(judgeSqlFailure('sql_deduct_balance', { code: '40P01', message: 'deadlock detected' }, ['insufficient_balance'])).toEqual({
      name: 'sql_deduct_balance',
      outcome: 'error',
      why: '40P01 deadlock detected',
    });
  });
});

describe('the report', () => {
  const phase = (id: string, rps: number, extra: Partial<PhaseReport> = {}): PhaseReport => {
    const base = {
      scenario: `bench/${id}`, title: id, path: '', shape: '', started_at: '', duration_ms: 10_000, requests: rps * 10, rps,
      errors: 0, error_rate: 0, p50_ms: 5, p95_ms: 20, p99_ms: 30, refusals: { insufficient_balance: 0, balance_ceiling_exceeded: 0, pin_invalid: 0, pin_locked: 0, nothing_to_refund: 0 },
      latency_series: [], by_request: {}, balance_mismatches: 0, ledger_rows_added: 0, acknowledged_writes: 0, unsent: 0, cpu: null, ...extra,
    };
    return { ...base, ...judgeSeedCriteria(base) };
  };

  it('fails the seed criteria of a phase on a ledger that gained a row nobody was told about', () => {
    expect(phase('edge-deduct', 300, { ledger_rows_added: 3_001, acknowledged_writes: 3_000 }).thresholds.failed).toEqual([
      'ledger rows == acknowledged writes',
    ]);
  });

  it('divides the throughputs of the same run and judges the targets on them', () => {
    const phases = [
      phase('sql-deduct', 4_000),
      phase('rpc-deduct', 1_000),
      phase('rpc-kiosk-pay', 800),
      phase('edge-deduct', 550),
      phase('edge-kiosk-pay', 520),
      phase('mix-at-rate', 1_000, { p95_ms: 60 }),
      phase('sql-bare-deduct', 8_000),
      phase('sql-bare-broadcast', 5_000),
      phase('sql-kiosk-pay', 2_000),
    ];
    const ratios = ratiosOf(phases);
    expect(ratios.map((r) => r.value)).toEqual([0.55, 0.138, 0.25, 0.65, 0.5, 0.25, 0.625, 0.8]);
    const targets = targetsOf(phases, ratios, 1_000);
    expect(targets.map((t) => [t.name, t.met])).toEqual([
      ['deduct_balance over SQL vs the bare atomic deduct', true],
      ['kiosk_pay over SQL vs the bare atomic deduct', null],
      ['the bare deduct with the live broadcast (0b) vs the bare atomic deduct', null],
      ['deduct_balance over SQL vs the bare deduct with the live broadcast (0b)', null],
      ['full edge path vs PostgREST RPC (deduct)', false],
      ['realistic mix, open loop at 1000 req/s', false],
      ['kiosk payments alone (PIN included)', true],
    ]);
    expect(targets[1]).toMatchObject({ reported: true, measured: '25.0 % (2000 vs 8000 req/s)' });
    expect(targets[2]).toMatchObject({ reported: true, measured: '62.5 % (5000 vs 8000 req/s)' });
    expect(targets[3]).toMatchObject({ reported: true, measured: '80.0 % (4000 vs 5000 req/s)' });
  });

  it('warns when the SQL deduct\'s PostgreSQL CPU is far from the PostgREST deduct\'s, as when phase 1 lost its backends', () => {
    const cpu = (postgres: number) => ({ ms_per_request: { gateway: 0, functions: 0, postgrest: 0, postgres, driver: 0, total: postgres }, cpu_ceiling_rps: 0 });
    const rpc = phase('rpc-deduct', 1_000, { cpu: cpu(1.0) });
    expect(cpuAccountingWarnings([phase('sql-deduct', 2_000, { cpu: cpu(0.026) }), rpc])).toHaveLength(1);
    expect(cpuAccountingWarnings([phase('sql-deduct', 2_000, { cpu: cpu(0.64) }), rpc])).toEqual([]);
    expect(cpuAccountingWarnings([phase('sql-deduct', 2_000, { cpu: cpu(0.64) })])).toEqual([]);
  });

  it('says a target is not measured when its phases did not run', () => {
    const phases = [phase('sql-deduct', 2_000)];
    expect(targetsOf(phases, ratiosOf(phases), 1_000).map((t) => t.met)).toEqual([null, null, null, null, null, null, null]);
  });
});

describe('the open loop', () => {
  it('counts as unsent every request due while the most allowed were in flight', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    setTimeout(() => release(), 400);
    // 100 req/s for 200 ms makes 20 due; only 2 may be in flight, and none is answered before the end.
    const measured = await openLoop(async () => {
      await released;
      return { name: 'held', outcome: 'ok' };
    }, { rate: 100, warmupMs: 0, durationMs: 200, maxInFlight: 2 });
    expect(measured.unsent).toBe(18);
    expect(measured.okByName).toEqual({ held: 2 });
    expect(measured.answered).toBe(2);
    expect(measured.recorder.summarize(200).requests).toBe(2);
  });
});

describe('the CPU profile', () => {
  it('divides each part\'s CPU milliseconds by the requests and derives what the cores could carry', () => {
    const before = { gateway: 100, functions: 200, postgrest: 300, postgres: 400, driver: 50 };
    const after = { gateway: 400, functions: 800, postgrest: 900, postgres: 1_600, driver: 350 };
    const profile = cpuProfile(before, after, 1_000)!;
    expect(profile.ms_per_request).toEqual({ gateway: 0.3, functions: 0.6, postgrest: 0.6, postgres: 1.2, driver: 0.3, total: 3 });
    expect(profile.cpu_ceiling_rps).toBe(Math.round((os.cpus().length * 1000) / 3));
  });

  it('is absent for a phase that got no answer', () => {
    const zero = { gateway: 0, functions: 0, postgrest: 0, postgres: 0, driver: 0 };
    expect(cpuProfile(zero, zero, 0)).toBeNull();
  });
});

/**
 * A process table that changes as it is read, as /proc does while PostgreSQL's backends end: each
 * listing of the pids runs the next scripted event after taking its list, so the stat of a process
 * listed can already be gone (waited for by the postmaster, its time moved into cutime).
 */
class ChangingProcesses implements ProcessTable {
  readonly procs = new Map<number, ProcStat>();
  readonly events: (() => void)[] = [];
  /** Run as the postmaster's stat is read for the nth time (1-based). */
  readonly onPostmasterRead = new Map<number, () => void>();
  private postmasterReads = 0;

  constructor(readonly postmaster: number) {
    this.procs.set(postmaster, { ppid: 1, comm: 'postgres', state: 'S', own: 10, reaped: 0 });
    this.procs.set(2, { ppid: 1, comm: 'node', state: 'S', own: 0, reaped: 0 });
  }

  spawn(pid: number, own: number): void {
    this.procs.set(pid, { ppid: this.postmaster, comm: 'postgres', state: 'S', own, reaped: 0 });
  }

  /** The backend ends: a zombie that keeps its time until it is waited for. */
  exit(pid: number, own: number): void {
    this.procs.set(pid, { ...this.procs.get(pid)!, state: 'Z', own });
  }

  /** The postmaster waits for its zombies: their time moves into its cutime, and they leave /proc. */
  reap(): void {
    const master = this.procs.get(this.postmaster)!;
    for (const [pid, stat] of this.procs) {
      if (stat.ppid === this.postmaster && stat.state === 'Z') {
        master.reaped += stat.own;
        this.procs.delete(pid);
      }
    }
  }

  pids(): number[] {
    const listed = [...this.procs.keys()];
    this.events.shift()?.();
    return listed;
  }

  stat(pid: number): ProcStat | undefined {
    if (pid === this.postmaster) this.onPostmasterRead.get(++this.postmasterReads)?.();
    const stat = this.procs.get(pid);
    return stat && { ...stat };
  }
}

describe('the CPU accounting of PostgreSQL', () => {
  const POSTMASTER = 100;
  const phaseBackends = Array.from({ length: 32 }, (_, i) => 200 + i);
  const meterOf = (table: ProcessTable) => new CpuMeter(2, POSTMASTER, table, () => 0);
  const postgresTicks = (meter: CpuMeter) => meter.postgresTicks();

  it('counts, once, the backends the postmaster waits for while /proc is being scanned', async () => {
    const table = new ChangingProcesses(POSTMASTER);
    table.spawn(150, 40); // a long-lived backend (PostgREST's pool)
    const meter = meterOf(table);
    expect(await postgresTicks(meter)).toBe(10 + 40);
    for (const pid of phaseBackends) table.spawn(pid, 0);
    for (const pid of phaseBackends) table.exit(pid, 100);
    // Listed, then waited for before their stat is read: in neither sum unless the scan is repeated.
    table.events.push(() => table.reap());
    expect(await postgresTicks(meter)).toBe(10 + 40 + 32 * 100);
  });

  it('counts, once, the backends the postmaster waits for just after they were summed', async () => {
    const table = new ChangingProcesses(POSTMASTER);
    const meter = meterOf(table);
    for (const pid of phaseBackends) table.spawn(pid, 0);
    for (const pid of phaseBackends) table.exit(pid, 100);
    // Summed in the scan, then waited for before the postmaster's cutime is read (its 3rd stat: before
    // the scan, in it, after it): in both sums unless the scan is repeated.
    table.onPostmasterRead.set(3, () => table.reap());
    expect(await postgresTicks(meter)).toBe(10 + 32 * 100);
  });

  it('waits for the backends a phase closed, so that their exit is counted in that phase', async () => {
    const table = new ChangingProcesses(POSTMASTER);
    const meter = meterOf(table);
    const before = await postgresTicks(meter);
    // The phase's pool is closed: its backends were asked to end and still run (90 ticks so far).
    for (const pid of phaseBackends) table.spawn(pid, 90);
    table.spawn(150, 40); // a backend of someone else that stays: not waited for
    // They end over the next listings (their exit costs 10 ticks each), then the postmaster waits for them.
    table.events.push(
      () => undefined,
      () => {
        for (const pid of phaseBackends) table.exit(pid, 100);
      },
      () => undefined,
      () => table.reap(),
    );
    await meter.settle(phaseBackends);
    expect(table.events).toEqual([]);
    expect((await postgresTicks(meter)) - before).toBe(32 * 100 + 40);
    // Without the wait, a reading right after closing the pool saw 90 of the 100 ticks, and the rest
    // went to the next phase; a backend that is gone before the wait returns at once.
    await meter.settle([...phaseBackends, 999]);
  });

  it('gives up waiting after a while instead of hanging on a backend that never ends', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout'] });
    try {
      const table = new ChangingProcesses(POSTMASTER);
      table.spawn(200, 1);
      const settled = meterOf(table).settle([200]);
      await vi.advanceTimersByTimeAsync(6_000);
      await expect(settled).resolves.toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('the profile of a money call', () => {
  it('puts each statement under the one that called it, and what the statements do not account for in a rest line', () => {
    const functions = [
      { name: 'public.pay', triggers_on: [], source: 'begin perform private.check(p); select c.x into v from public.c c where c.id = p; return private.record(v); end' },
      { name: 'private.check', triggers_on: [], source: "begin if p < 0 then perform private.raise_error('bad'); end if; end" },
      { name: 'private.record', triggers_on: [], source: 'begin insert into public.t (a) values (v); return 1; end' },
    ];
    const stat = (query: string, total_ms: number, toplevel = false) => ({ query, toplevel, calls: 100, total_ms });
    const lines = profileTree(
      [
        stat('select public.pay($1)', 1_000, true),
        stat('insert into public.t (a) values (v)', 400),
        stat('SELECT private.check(p)', 50),
        stat('select c.x          from public.c c where c.id = p', 100),
        stat('SELECT 1 FROM ONLY "public"."c" x WHERE "id" OPERATOR(pg_catalog.=) $1 FOR KEY SHARE OF x', 30),
      ],
      functions,
      100,
    );
    expect(lines.map((l) => [l.depth, l.statement.slice(0, 24), l.share])).toEqual([
      [0, 'select public.pay($1)', 1],
      [1, 'select private.check(p)', 0.05],
      [1, 'select c.x from public.c', 0.1],
      [1, 'insert into public.t (a)', 0.4],
      [2, 'select 1 from only "publ', 0.03],
      [2, '(rest: the write itself:', 0.37],
      [1, '(rest: plpgsql of pay; e', 0.45],
    ]);
    expect(lines[0]).toMatchObject({ per_call: 1, mean_us: 10_000, us_per_call: 10_000 });
    expect(lines.at(-1)!.statement).toBe('(rest: plpgsql of pay; expressions: record)');
  });
});
