// The benchmark's own arithmetic and judgement, without a stack: percentiles, the per-second series,
// what counts as an error or a refusal, and the open loop's count of requests it could not send.
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { cpuProfile } from './cpu.ts';
import { openLoop } from './driver.ts';
import type { HttpAnswer } from './http.ts';
import { judgeSeedCriteria, ratiosOf, targetsOf, type PhaseReport } from './report.ts';
import { isRightMoneyAnswer, judgeHttp, judgeSqlFailure } from './scenarios.ts';
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
    ];
    const ratios = ratiosOf(phases);
    expect(ratios.map((r) => r.value)).toEqual([0.55, 0.138, 0.25, 0.65]);
    expect(targetsOf(phases, ratios, 1_000).map((t) => t.met)).toEqual([false, false, true]);
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
