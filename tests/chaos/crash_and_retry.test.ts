import { afterAll, describe, expect, test } from 'vitest';
import { formatReport, runChaos, violations, type ChaosReport } from './driver.ts';

// The short drill: one round of SIGKILLs and one freeze of PostgREST on a stack of its own (never the
// shared test stack), under 12 clients of money traffic; the supervisor restarts what dies, the drill
// never does. `npm run chaos` runs the long one.
describe('money traffic through SIGKILLs of PostgreSQL, PostgREST and the functions host', () => {
  let report: ChaosReport;

  test('every request retried with its idempotency key is answered, and the ledger holds exactly the acknowledged ones', { timeout: 120_000 }, async () => {
    report = await runChaos({ durationMs: 8_000, crashRounds: 1, concurrency: 12, customers: 12, gapMs: 2_000 });
    console.log(`crash and retry (short):\n${formatReport(report)}`);

    expect(report.crashes.map((crash) => [crash.service, crash.exit.signal, crash.exit.expected])).toEqual([
      ['postgres', 'SIGKILL', false],
      ['postgrest', 'SIGKILL', false],
      ['functions', 'SIGKILL', false],
    ]);
    // The supervisor restarted each child itself, once, and never gave up on the stack.
    expect(report.restarts.map((restart) => [restart.service, restart.exit.signal, restart.deathsInWindow])).toEqual([
      ['postgres', 'SIGKILL', 1],
      ['postgrest', 'SIGKILL', 1],
      ['functions', 'SIGKILL', 1],
    ]);
    expect(report.supervisorGaveUp).toBeNull();
    // Each crash hit traffic in flight, so the retries were exercised, not only the happy path.
    for (const crash of report.crashes) expect(crash.failedAttempts, crash.service).toBeGreaterThan(0);
    expect(report.retries).toBeGreaterThan(0);
    // Outages answered as outages: 503 while a part was down, 504 while PostgREST was frozen past the
    // functions' bound (those calls may or may not have applied: their retries with the same key told
    // which, and the ledger checks below hold), and never a 500.
    expect(report.stalls).toBe(1);
    expect(report.failedAttemptsByCause['http 503']).toBeGreaterThan(0);
    expect(report.failedAttemptsByCause['http 504']).toBeGreaterThan(0);
    expect(report.failedAttemptsByCause['http 500']).toBeUndefined();
    const { replayed, appliedByRetry, refused } = report.timedOutThen;
    expect(replayed + appliedByRetry + refused).toBeGreaterThan(0);

    expect(report.unresolved).toBe(0);
    expect(report.unexpectedAnswers).toEqual([]);
    expect(report.operations).toBe(report.acknowledged + Object.values(report.refusals).reduce((a, b) => a + b, 0));
    expect(report.ledgerRows).toBe(report.acknowledged);
    expect(report.duplicates).toBe(0);
    expect(report.missingAcknowledged).toBe(0);
    expect(report.answerMismatches).toBe(0);
    expect(report.refusedButApplied).toBe(0);
    expect(report.unknownRows).toBe(0);
    expect(report.reconcileMismatches).toBe(0);
    expect(report.negativeBalances).toBe(0);
    expect(report.balanceSum).toBe(report.ledgerSum);
    expect(report.clientViewMismatches).toBe(0);
    expect(violations(report)).toEqual([]);
  });

  afterAll(() => {
    if (report?.logsDir) console.error(`chaos logs kept in ${report.logsDir}`);
  });
});
