import { afterAll, describe, expect, test } from 'vitest';
import { formatReport, runChaos, violations, type ChaosReport } from './driver.ts';

// The short drill: one round of SIGKILLs on a stack of its own (never the shared test stack), under 12
// clients of money traffic. `npm run chaos` runs the long one.
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
    // The supervisor noticed the first unasked death and reported it.
    expect(report.supervisorSawDeath).toEqual({ name: 'postgres', code: null, signal: 'SIGKILL', expected: false });
    // Each crash hit traffic in flight, so the retries were exercised, not only the happy path.
    for (const crash of report.crashes) expect(crash.failedAttempts, crash.service).toBeGreaterThan(0);
    expect(report.retries).toBeGreaterThan(0);

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
