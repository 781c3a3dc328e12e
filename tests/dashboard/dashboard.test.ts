import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { GENERATOR_LOCK } from '../load_tests/dataset_manifest.ts';
import { db } from '../support/clients.ts';
import { stackEnv } from '../support/env.ts';
import type { LoadSummary } from './load_summary.ts';
import { startDashboard, type RunningDashboard } from './server.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCREENSHOT = path.join(root, 'reports/dashboard.png');

const NOW = Date.parse('2026-11-24T09:00:00Z');

function vitestReport(startTime: number, files: { name: string; tests: { fullName: string; status: string; failureMessages?: string[] }[] }[]) {
  return {
    numTotalTests: files.reduce((n, f) => n + f.tests.length, 0),
    startTime,
    success: files.every((f) => f.tests.every((t) => t.status !== 'failed')),
    testResults: files.map((f) => ({
      name: f.name,
      status: f.tests.some((t) => t.status === 'failed') ? 'failed' : 'passed',
      message: '',
      startTime: startTime + 100,
      endTime: startTime + 2_600,
      assertionResults: f.tests.map((t) => ({
        ancestorTitles: [],
        fullName: t.fullName,
        title: t.fullName,
        status: t.status,
        duration: 12,
        failureMessages: t.failureMessages ?? [],
      })),
    })),
  };
}

const latestRun = vitestReport(NOW, [
  {
    name: '/repo/tests/database/money_functions.test.ts',
    tests: [
      { fullName: 'charge_balance adds the amount to the balance', status: 'passed' },
      { fullName: 'deduct_balance refuses to go below zero', status: 'passed' },
      { fullName: 'cancel_transaction reverses a charge once', status: 'passed' },
      { fullName: 'a slow case kept for the nightly run', status: 'skipped' },
    ],
  },
  {
    name: '/repo/tests/functions/transactions.test.ts',
    tests: [
      { fullName: 'POST /transactions/charge returns the new balance', status: 'passed' },
      {
        fullName: 'POST /transactions/deduct answers 409 insufficient_balance',
        status: 'failed',
        failureMessages: ['AssertionError: expected 500 to be 409\n    at transactions.test.ts:41:7'],
      },
      {
        fullName: 'POST /transactions/cancel is idempotent',
        status: 'failed',
        failureMessages: ['Error: expected balance 10000, got 0'],
      },
    ],
  },
]);

// An older run of the database suite alone, which failed: the newer full run must win for it.
const olderDatabaseRun = vitestReport(NOW - 3_600_000, [
  {
    name: '/repo/tests/database/money_functions.test.ts',
    tests: [{ fullName: 'charge_balance adds the amount to the balance', status: 'failed', failureMessages: ['old failure'] }],
  },
]);

// As k6/lib/summary.ts writes it: one scenario per file, no latency series.
const kioskPayment: LoadSummary & Record<string, unknown> = {
  scenario: 'kiosk-payment',
  shape: 'average',
  started_at: '2026-11-24T08:30:00.000Z',
  duration_ms: 3_000,
  requests: 2_551,
  rps: 850.5,
  p50_ms: 41.2,
  p95_ms: 212.4,
  p99_ms: 388.9,
  error_rate: 0.002,
  balance_mismatches: 0,
  refusals: { insufficient_balance: 12, pin_locked: 0 },
  thresholds: { passed: ['http_req_duration: p(95)<500'], failed: [] },
  ok: true,
};

// A k6 run whose teardown never reconciled: mismatches unknown, which is not zero.
const stressUnreconciled: LoadSummary = {
  ...kioskPayment,
  scenario: 'stress',
  shape: 'stress',
  started_at: '2026-11-24T08:10:00.000Z',
  balance_mismatches: null,
};

type PhaseFigures = Pick<LoadSummary, 'requests' | 'rps' | 'p50_ms' | 'p95_ms' | 'p99_ms' | 'error_rate' | 'balance_mismatches'>;

// A 3-second phase of reports/load/bench.json, as the bench writes it, with its latency series.
const benchPhase = (id: string, clients: number, startedAt: string, figures: PhaseFigures, series: unknown[]) => ({
  scenario: `bench/${id}`,
  shape: `closed loop, ${clients} clients`,
  started_at: startedAt,
  duration_ms: 3_000,
  ...figures,
  latency_series: series,
});

const bench = {
  scenario: 'bench',
  started_at: '2026-11-24T08:40:00.000Z',
  phases: [
    benchPhase(
      'rpc-deduct',
      32,
      '2026-11-24T08:40:00.000Z',
      { requests: 9_000, rps: 3_000, p50_ms: 9.5, p95_ms: 21.25, p99_ms: 30.5, error_rate: 0, balance_mismatches: 0 },
      [
        { t_s: 0, requests: 2_990, errors: 0, p50_ms: 9.25, p95_ms: 20.5, p99_ms: 29.75 },
        { t_s: 1, requests: 3_010, errors: 0, p50_ms: 9.5, p95_ms: 21.5, p99_ms: 30.25 },
        { t_s: 2, requests: 3_000, errors: 0, p50_ms: 9.75, p95_ms: 21.75, p99_ms: 31.5 },
      ],
    ),
    benchPhase(
      'hot-customer',
      64,
      '2026-11-24T08:45:00.000Z',
      { requests: 270, rps: 90, p50_ms: 310.5, p95_ms: 640.2, p99_ms: 901.3, error_rate: 0.0125, balance_mismatches: 2 },
      [
        { t_s: 0, requests: 88, errors: 1, p50_ms: 300, p95_ms: 620.5, p99_ms: 880 },
        { t_s: 1, requests: 92, errors: 2, p50_ms: 321, p95_ms: 660, p99_ms: 922.6 },
      ],
    ),
  ],
};

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

describe('the test dashboard in headless Chromium', () => {
  let reportsDir: string;
  let dashboard: RunningDashboard;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    reportsDir = await mkdtemp(path.join(tmpdir(), 'comings-dashboard-reports-'));
    await mkdir(path.join(reportsDir, 'load'));
    await writeFile(path.join(reportsDir, 'vitest.json'), JSON.stringify(latestRun));
    await writeFile(path.join(reportsDir, 'vitest-database.json'), JSON.stringify(olderDatabaseRun));
    await writeFile(path.join(reportsDir, 'load/kiosk-payment.json'), JSON.stringify(kioskPayment));
    await writeFile(path.join(reportsDir, 'load/stress.json'), JSON.stringify(stressUnreconciled));
    await writeFile(path.join(reportsDir, 'load/bench.json'), JSON.stringify(bench));
    await writeFile(path.join(reportsDir, 'load/half-written.json'), JSON.stringify({ scenario: 'mix', started_at: '2026-11-24T08:00:00Z' }));

    // Every reading fresh: the live-figures test compares the page with counts taken around its reload.
    dashboard = await startDashboard({ port: 0, host: '127.0.0.1', reportsDir, dbUrl: stackEnv().DB_URL, liveCacheMs: 0 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${dashboard.url}/dashboard.html`);
    await page.waitForSelector('body[data-state="ready"][data-live="ready"]', { timeout: 20_000 });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await rm(reportsDir, { recursive: true, force: true });
  });

  it('renders with no script error and chart.js served locally', async () => {
    expect(pageErrors).toEqual([]);
    expect(await page.title()).toBe('Comings test dashboard');
    expect(await page.evaluate(() => typeof (window as unknown as { Chart?: unknown }).Chart)).toBe('function');
  });

  it("shows each suite's latest run with the counts of its vitest report", async () => {
    const row = (suite: string) => page.locator(`tr.suite[data-suite="${suite}"]`);
    const cells = async (suite: string) =>
      Promise.all(['passed', 'failed', 'skipped'].map((field) => row(suite).locator(`[data-field="${field}"]`).textContent()));

    expect(await page.locator('tr.suite').count()).toBe(2);
    expect(await cells('database')).toEqual(['3', '0', '1']);
    expect(await row('database').locator('[data-field="status"]').textContent()).toBe('PASS');
    expect(await cells('functions')).toEqual(['1', '2', '0']);
    expect(await row('functions').locator('[data-field="status"]').textContent()).toBe('FAIL');
  });

  it("lists a failing suite's tests by name with their messages, in red", async () => {
    const failures = page.locator('li.failure[data-suite="functions"]');
    expect(await failures.locator('.failure-test').allTextContents()).toEqual([
      'POST /transactions/deduct answers 409 insufficient_balance',
      'POST /transactions/cancel is idempotent',
    ]);
    // The stack-trace line is dropped; the message itself is kept as written.
    expect(await failures.locator('.failure-message').allTextContents()).toEqual([
      'AssertionError: expected 500 to be 409',
      'Error: expected balance 10000, got 0',
    ]);
    expect(await page.locator('li.failure[data-suite="database"]').count()).toBe(0);

    const colours = await page.evaluate(() => {
      const style = (selector: string, property: string) =>
        getComputedStyle(document.querySelector(selector)!).getPropertyValue(property);
      return {
        failedRow: style('tr.suite[data-suite="functions"]', 'background-color'),
        failedBadge: style('tr.suite[data-suite="functions"] .badge', 'color'),
        passedBadge: style('tr.suite[data-suite="database"] .badge', 'color'),
      };
    });
    expect(colours).toEqual({ failedRow: 'rgb(254, 226, 226)', failedBadge: 'rgb(185, 28, 28)', passedBadge: 'rgb(21, 128, 61)' });
  });

  it("checks each load run against the seed's criteria with the figures of its summary", async () => {
    const run = (file: string) => page.locator(`tr.load-run[data-file="${file}"]`);
    const field = (file: string, name: string) => run(file).locator(`[data-field="${name}"]`);
    const texts = (file: string) =>
      Promise.all(['verdict', 'requests', 'p50_ms', 'p95_ms', 'p99_ms', 'error_rate', 'rps', 'balance_mismatches'].map((f) => field(file, f).textContent()));

    // Latest first, the bench's phases listed as runs of their own.
    expect(await page.locator('tr.load-run').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-scenario')))).toEqual([
      'bench/hot-customer',
      'bench/rpc-deduct',
      'kiosk-payment',
      'stress',
    ]);
    expect(await texts('load/kiosk-payment.json')).toEqual(
      ['PASS', '2,551', '41.2 ms', '212.4 ms', '388.9 ms', '0.20 %', '850.5 req/s', '0'],
    );
    expect(await texts('load/bench.json[0]')).toEqual(
      ['PASS', '9,000', '9.5 ms', '21.3 ms', '30.5 ms', '0.00 %', '3000.0 req/s', '0'],
    );
    expect(await texts('load/bench.json[1]')).toEqual(
      ['FAIL', '270', '310.5 ms', '640.2 ms', '901.3 ms', '1.25 %', '90.0 req/s', '2'],
    );
    expect(await texts('load/stress.json')).toEqual(
      ['FAIL', '2,551', '41.2 ms', '212.4 ms', '388.9 ms', '0.20 %', '850.5 req/s', 'unknown'],
    );

    const verdicts = async (file: string) =>
      Promise.all(['p95_ms', 'error_rate', 'rps', 'balance_mismatches'].map((f) => field(file, f).getAttribute('data-pass')));
    expect(await verdicts('load/kiosk-payment.json')).toEqual(['true', 'true', 'true', 'true']);
    expect(await verdicts('load/bench.json[1]')).toEqual(['false', 'false', 'false', 'false']);
    expect(await verdicts('load/stress.json')).toEqual(['true', 'true', 'true', 'false']);
    expect(await field('load/bench.json[1]', 'p95_ms').evaluate((cell) => getComputedStyle(cell).color)).toBe('rgb(185, 28, 28)');
  });

  it('charts the latency series of the selected load run', async () => {
    const chartData = () =>
      page.evaluate(() => {
        const chart = (window as unknown as { Chart: { getChart(id: string): { data: { labels: unknown[]; datasets: { label: string; data: unknown[] }[] } } } })
          .Chart.getChart('latency-chart');
        return { labels: chart.data.labels, datasets: chart.data.datasets.map((d) => [d.label, d.data]) };
      });

    // The latest run is charted first.
    expect(await chartData()).toEqual({
      labels: [0, 1],
      datasets: [
        ['p50', [300, 321]],
        ['p95', [620.5, 660]],
        ['p99', [880, 922.6]],
        ['p95 limit (500 ms)', [500, 500]],
      ],
    });
    await page.locator('tr.load-run[data-file="load/kiosk-payment.json"]').click();
    expect(await page.locator('#chart-title').textContent()).toBe(
      'Latency of kiosk-payment (load/kiosk-payment.json): the run wrote no latency series',
    );
    expect((await chartData()).labels).toEqual([]);
    await page.locator('tr.load-run[data-file="load/bench.json[0]"]').click();
    expect(await chartData()).toEqual({
      labels: [0, 1, 2],
      datasets: [
        ['p50', [9.25, 9.5, 9.75]],
        ['p95', [20.5, 21.5, 21.75]],
        ['p99', [29.75, 30.25, 31.5]],
        ['p95 limit (500 ms)', [500, 500, 500]],
      ],
    });
    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('names a load summary that lacks the documented fields instead of hiding it', async () => {
    expect(await page.locator('#problems').isVisible()).toBe(true);
    const problem = await page.locator('#problems-list li').allTextContents();
    expect(problem).toHaveLength(1);
    expect(problem[0]).toContain('load/half-written.json');
    expect(problem[0]).toContain('requests must be a number');
  });

  it("shows the running stack's live figures, reconciled to zero mismatches", async () => {
    const counts = (client: pg.PoolClient) =>
      client.query<{ customers: string; transactions: string }>(
        'select (select count(*) from public.customers) as customers, (select count(*) from public.transactions) as transactions',
      ).then((result) => result.rows[0]!);
    // The generator replaces its dataset in one transaction, which may shrink both counts at once;
    // holding its lock keeps it out while the page is read.
    const figure = async (name: string) =>
      Number((await page.locator(`[data-figure="${name}"] .value`).textContent())!.replace(/[₩,]/g, ''));
    const names = ['customers', 'transactions', 'mismatches', 'outstanding_balance', 'outstanding_paid_balance', 'outstanding_bonus_balance'];
    const client = await db().connect();
    let before: { customers: string; transactions: string };
    let after: typeof before;
    let shown: Record<string, number>;
    try {
      await client.query('select pg_advisory_lock(hashtext($1))', [GENERATOR_LOCK]);
      before = await counts(client);
      await page.reload();
      await page.waitForSelector('body[data-live="ready"] [data-figure="mismatches"]', { timeout: 20_000 });
      // Read while the generator is still held off (the page refreshes itself every 10 s, and a refresh
      // after a generator run that replaced its dataset may show fewer rows than `before`), then count again.
      shown = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await figure(name)] as const)));
      after = await counts(client);
    } finally {
      await client.query('select pg_advisory_unlock(hashtext($1))', [GENERATOR_LOCK]);
      client.release();
    }

    // Other suites write concurrently, and with the generator held off customers and the ledger
    // only grow: the page's snapshot lies between the counts taken just before and just after it.
    expect(shown.customers).toBeGreaterThanOrEqual(Number(before.customers));
    expect(shown.customers).toBeLessThanOrEqual(Number(after.customers));
    expect(shown.transactions).toBeGreaterThanOrEqual(Number(before.transactions));
    expect(shown.transactions).toBeLessThanOrEqual(Number(after.transactions));
    expect(shown.mismatches).toBe(0);
    // Paid money (the shops' debt) and bonus, read in the same snapshot, add up to the total.
    expect(shown.outstanding_paid_balance + shown.outstanding_bonus_balance).toBe(shown.outstanding_balance);
  });

  it('says that no stack answers when the database is down', async () => {
    const closedPort = await freePort();
    const offline = await startDashboard({
      port: 0,
      host: '127.0.0.1',
      reportsDir,
      dbUrl: `postgresql://postgres:postgres@127.0.0.1:${closedPort}/postgres`,
    });
    try {
      const other = await browser.newPage();
      await other.goto(`${offline.url}/dashboard.html`);
      await other.waitForSelector('body[data-live="ready"]', { timeout: 20_000 });
      expect(await other.locator('#live-unavailable').textContent()).toMatch(/^No stack answering \(.*ECONNREFUSED.*\)\. Start one with npm start\.$/);
      expect(await other.locator('[data-figure]').count()).toBe(0);
      await other.close();
    } finally {
      await offline.close();
    }
  });
});
