// The crash-and-retry drill shared by `npm run chaos` and tests/chaos/crash_and_retry.test.ts.
//
// It starts a stack of its own (it kills that stack's processes, so never the shared test stack), drives
// concurrent money traffic through the edge functions with an idempotency key on every request, and
// kills PostgreSQL, PostgREST and the Deno functions host with SIGKILL while the traffic runs; the
// stack's supervisor restarts each (the drill never does), and the drill only waits to see it back.
// Each round also freezes PostgREST (SIGSTOP) for longer than the functions' bound on it, so money calls
// in flight answer 504 without knowing whether they applied. Clients retry every request that got no
// answer or a 5xx (503 down, 504 too slow) with the same key and the same body until it is answered:
// the retry tells which, as a replay of the applied call or its first application. Afterwards the
// ledger is compared with what the clients were told.
//
// The invariant checked for the drill's shop: every request was eventually answered (none unresolved);
// each key answered 2xx has exactly one ledger row, whose id, type, customer and amount are the ones the
// answer carried; each key refused with a 4xx has none; no row carries a key the clients never sent.
// So the ledger holds exactly as many rows as distinct acknowledged keys. A request applied before its
// answer was lost is among them: its retry is answered with the original transaction (a replay), which
// is counted separately as "applied, answer lost".
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { ChildExit } from '../../stack/child.ts';
import { abortableSleep, startStack, type ChildRestart, type RunningStack, type ServiceName } from '../../stack/stack.ts';
import type { MoneyTransaction } from '../../functions/_shared/money.ts';
import { signedAmount, signedSql } from '../support/movements.ts';

export type MoneyKind = 'charge' | 'deduct' | 'kiosk_pay' | 'cancel';
const KINDS: MoneyKind[] = ['charge', 'deduct', 'kiosk_pay', 'cancel'];

export interface ChaosOptions {
  /** How long traffic runs at least; it also runs until the last crash has been restarted plus `tailMs`. */
  durationMs: number;
  /** Each round kills PostgreSQL, then PostgREST, then the functions host, then freezes PostgREST. */
  crashRounds: number;
  /** Requests in flight at once. */
  concurrency: number;
  customers?: number;
  /** Traffic before the first crash, and between one restart and the next kill. */
  gapMs?: number;
  /** How long PostgREST stays frozen (SIGSTOP): longer than `functionsTimeoutMs`, so calls in flight time out. */
  stallMs?: number;
  /** The functions' bound on PostgREST on the drill's stack (the gateway's is twice that). */
  functionsTimeoutMs?: number;
  tailMs?: number;
  /** One attempt's limit; a request that takes longer counts as unanswered and is retried. */
  attemptTimeoutMs?: number;
  /** After this, a request still unanswered is given up and reported as unresolved. */
  giveUpAfterMs?: number;
  log?: (line: string) => void;
  /** Ends the traffic and the crash drill early (Ctrl-C); the ledger is still checked and the stack stopped. */
  signal?: AbortSignal;
}

interface Operation {
  kind: MoneyKind;
  key: string;
  route: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  customerId: string;
  /** For a cancel: the transaction it reverses. */
  targetId?: string;
}

type TransactionAnswer = Pick<MoneyTransaction, 'id' | 'type' | 'amount' | 'customer_id' | 'original_transaction_id'>;

interface Outcome {
  operation: Operation;
  /** The final answer's status; null when the request was never answered. */
  status: number | null;
  code: string | null;
  transaction: TransactionAnswer | null;
  replayed: boolean;
  attempts: number;
  /** An attempt was answered 504: the call may or may not have applied, and only its retry could tell. */
  timedOut: boolean;
}

export interface CrashRecord {
  service: ServiceName;
  round: number;
  exit: ChildExit;
  /** From the kill to the restarted process answering (the supervisor's restart). */
  outageMs: number;
  /** Attempts that failed (no answer or 5xx) between this kill and the next crash. */
  failedAttempts: number;
}

export interface ChaosReport {
  trafficMs: number;
  operations: number;
  byKind: Record<MoneyKind, { sent: number; applied: number; refused: number }>;
  acknowledged: number;
  refusals: Record<string, number>;
  unresolved: number;
  unexpectedAnswers: { kind: MoneyKind; status: number; code: string | null }[];
  crashes: CrashRecord[];
  /** The supervisor's automatic restarts, in order. */
  restarts: ChildRestart[];
  /** Set when the supervisor gave up on a child that kept dying (`died`): the drill must never see it. */
  supervisorGaveUp: ChildExit | null;
  /** PostgREST freezes, each longer than the functions' bound. */
  stalls: number;
  retries: number;
  requestsRetried: number;
  failedAttemptsByCause: Record<string, number>;
  appliedAnswerLost: number;
  /**
   * Requests answered 504 at least once, by what their retry with the same key showed: the call had
   * applied after all (a replay), had not (applied by the retry), or was refused; each has one row at most.
   */
  timedOutThen: { replayed: number; appliedByRetry: number; refused: number };
  ledgerRows: number;
  duplicates: number;
  missingAcknowledged: number;
  answerMismatches: number;
  refusedButApplied: number;
  unknownRows: number;
  reconcileMismatches: number;
  negativeBalances: number;
  balanceSum: number;
  ledgerSum: number;
  /** Customers whose balance differs from the opening balance plus the acknowledged answers' effects. */
  clientViewMismatches: number;
  /** Kept only when something failed, for the post-mortem. */
  logsDir: string | null;
}

const BUSINESS_REFUSALS = new Set(['insufficient_balance', 'balance_ceiling_exceeded']);
const OPENING_BALANCE = 100_000;
export const PIN = '4821';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];
const thousands = (min: number, max: number) => 1_000 * (min + Math.floor(Math.random() * (max - min + 1)));

interface Actors {
  owner: string;
  manager: string;
  staff: string;
  kioskKey: string;
}

interface Customer {
  id: string;
  phone: string;
}

async function authFetch(stack: RunningStack, route: string, body: unknown): Promise<any> {
  const response = await fetch(`${stack.apiUrl}/auth/v1/${route}`, {
    method: 'POST',
    headers: {
      apikey: stack.keys.serviceRoleKey,
      authorization: `Bearer ${stack.keys.serviceRoleKey}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`auth ${route} answered ${response.status}: ${JSON.stringify(answer)}`);
  return answer;
}

/** A confirmed user made through GoTrue's admin API and signed in: the id and an access token. */
async function signedInUser(stack: RunningStack, label: string): Promise<{ id: string; token: string }> {
  const email = `chaos-${label}-${randomUUID().slice(0, 8)}@test.comings.kr`;
  const password = `pw-${randomUUID()}`;
  const user = await authFetch(stack, 'admin/users', { email, password, email_confirm: true });
  const session = await authFetch(stack, 'token?grant_type=password', { email, password });
  return { id: user.id, token: session.access_token };
}

export async function setUpShop(stack: RunningStack, db: pg.Client, customerCount: number, post: Poster) {
  const [owner, manager, staff] = await Promise.all(
    ['owner', 'manager', 'staff'].map((role) => signedInUser(stack, role)),
  );
  const { rows } = await db.query<{ id: string }>(
    `insert into public.shops (name, max_balance) values ('카오스 테스트 가게', 100000000) returning id`,
  );
  const shopId = rows[0].id;
  await db.query(
    `insert into public.shop_members (shop_id, user_id, role) values ($1, $2, 'owner'), ($1, $3, 'manager'), ($1, $4, 'staff')`,
    [shopId, owner.id, manager.id, staff.id],
  );
  const ownerHeaders = staffHeaders(stack, owner.token);
  const kiosk = await post('shop-kiosks', ownerHeaders, { shop_id: shopId, name: '카오스 키오스크' });
  if (kiosk.status !== 201) throw new Error(`register kiosk answered ${kiosk.status}: ${kiosk.text}`);
  const customers: Customer[] = [];
  for (let i = 0; i < customerCount; i++) {
    const phone = `010-7${String(i).padStart(3, '0')}-${String(1000 + i).slice(-4)}`;
    const created = await post('customers', ownerHeaders, { shop_id: shopId, name: `손님 ${i + 1}`, phone, pin: PIN });
    if (created.status !== 201) throw new Error(`create customer answered ${created.status}: ${created.text}`);
    customers.push({ id: JSON.parse(created.text).customer.id, phone });
  }
  const actors: Actors = {
    owner: owner.token,
    manager: manager.token,
    staff: staff.token,
    kioskKey: JSON.parse(kiosk.text).device_key,
  };
  return { shopId, actors, customers };
}

export function staffHeaders(stack: RunningStack, token: string): Record<string, string> {
  return { apikey: stack.keys.anonKey, authorization: `Bearer ${token}` };
}

export type Poster = (
  route: string,
  headers: Record<string, string>,
  body: unknown,
  timeoutMs?: number,
) => Promise<{ status: number; text: string; replayed: boolean; retryAfter: string | null }>;

export function poster(stack: RunningStack): Poster {
  return async (route, headers, body, timeoutMs = 10_000) => {
    const response = await fetch(`${stack.apiUrl}/functions/v1/${route}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    return {
      status: response.status,
      text,
      replayed: response.headers.get('idempotent-replayed') === 'true',
      retryAfter: response.headers.get('retry-after'),
    };
  };
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const gapMs = options.gapMs ?? 2_500;
  const stallMs = options.stallMs ?? 3_000;
  const functionsTimeoutMs = options.functionsTimeoutMs ?? 1_500;
  const tailMs = options.tailMs ?? 1_500;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 10_000;
  const giveUpAfterMs = options.giveUpAfterMs ?? 60_000;

  const dataDir = await mkdtemp(path.join(tmpdir(), 'comings-chaos-'));
  const stack = await startStack({
    dataDir,
    ports: 'free',
    timeouts: { functionsMs: functionsTimeoutMs, gatewayMs: 2 * functionsTimeoutMs },
    warn: (line) => log(`supervisor: ${line}`),
  });
  log(`chaos stack at ${stack.apiUrl} (db ${stack.dbUrl}), started in ${stack.startupMs} ms; data in ${dataDir}`);
  let supervisorGaveUp: ChildExit | null = null;
  void stack.died.then((exit) => (supervisorGaveUp = exit));
  let stalls = 0;

  let report: ChaosReport | undefined;
  try {
    const db = new pg.Client({ connectionString: stack.dbUrl });
    await db.connect();
    const post = poster(stack);
    const { shopId, actors, customers } = await setUpShop(stack, db, options.customers ?? 20, post);
    await db.end();

    const failures: { at: number; cause: string }[] = [];
    const outcomes: Outcome[] = [];
    const cancellable: TransactionAnswer[] = [];
    let sequence = 0;
    const runId = randomUUID().slice(0, 8);

    async function send(operation: Operation): Promise<Outcome> {
      const giveUpAt = Date.now() + giveUpAfterMs;
      const headers = { ...operation.headers, 'idempotency-key': operation.key };
      let timedOut = false;
      for (let attempt = 1; ; attempt++) {
        let cause: string;
        try {
          const answer = await post(operation.route, headers, operation.body, attemptTimeoutMs);
          if (answer.status < 500) {
            const body = JSON.parse(answer.text);
            const ok = answer.status >= 200 && answer.status < 300;
            return {
              operation,
              status: answer.status,
              code: ok ? null : (body?.error?.code ?? null),
              transaction: ok ? body.transaction : null,
              replayed: answer.replayed,
              attempts: attempt,
              timedOut,
            };
          }
          cause = `http ${answer.status}`;
          if (answer.status === 504) timedOut = true;
        } catch (error) {
          cause = error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : 'no answer';
        }
        failures.push({ at: Date.now(), cause });
        if (Date.now() > giveUpAt) {
          return { operation, status: null, code: null, transaction: null, replayed: false, attempts: attempt, timedOut };
        }
        // Exponential backoff with jitter, so that a restarted service is not met by every client at once.
        await sleep(Math.min(1_000, 50 * 2 ** (attempt - 1)) * (0.5 + Math.random()));
      }
    }

    function nextOperation(kind: MoneyKind): Operation | null {
      const key = `chaos-${runId}-${++sequence}`;
      const customer = pick(customers);
      switch (kind) {
        case 'charge':
          return {
            kind, key, route: 'transactions/charge', headers: staffHeaders(stack, actors.owner),
            body: { customer_id: customer.id, amount: thousands(10, 50) }, customerId: customer.id,
          };
        case 'deduct':
          return {
            kind, key, route: 'transactions/deduct', headers: staffHeaders(stack, actors.staff),
            body: { customer_id: customer.id, amount: thousands(1, 30) }, customerId: customer.id,
          };
        case 'kiosk_pay':
          return {
            kind, key, route: 'kiosk/pay',
            headers: { apikey: stack.keys.anonKey, authorization: `Bearer ${stack.keys.anonKey}`, 'x-kiosk-key': actors.kioskKey },
            body: { phone: customer.phone, pin: PIN, amount: thousands(1, 20) }, customerId: customer.id,
          };
        case 'cancel': {
          // Each acknowledged transaction is targeted at most once, so `already_cancelled` would be a fault.
          if (cancellable.length === 0) return null;
          const [target] = cancellable.splice(Math.floor(Math.random() * cancellable.length), 1);
          return {
            kind, key, route: 'transactions/cancel', headers: staffHeaders(stack, actors.manager),
            body: { transaction_id: target.id, reason: 'chaos' }, customerId: target.customer_id, targetId: target.id,
          };
        }
      }
    }

    async function perform(operation: Operation): Promise<void> {
      const outcome = await send(operation);
      outcomes.push(outcome);
      if (outcome.transaction && operation.kind !== 'cancel' && Math.random() < 0.5) cancellable.push(outcome.transaction);
    }

    // Opening balances, through the same path, before anything is killed.
    await Promise.all(
      customers.map((customer) =>
        perform({
          kind: 'charge', key: `chaos-${runId}-open-${customer.id}`, route: 'transactions/charge',
          headers: staffHeaders(stack, actors.owner), body: { customer_id: customer.id, amount: OPENING_BALANCE },
          customerId: customer.id,
        }),
      ),
    );

    let trafficOn = true;
    const trafficStart = Date.now();
    const weights: [MoneyKind, number][] = [['charge', 0.3], ['deduct', 0.25], ['kiosk_pay', 0.3], ['cancel', 0.15]];
    const chooseKind = (): MoneyKind => {
      let roll = Math.random();
      for (const [kind, weight] of weights) {
        roll -= weight;
        if (roll < 0) return kind;
      }
      return 'charge';
    };
    const workers = Array.from({ length: options.concurrency }, async () => {
      while (trafficOn) {
        const operation = nextOperation(chooseKind()) ?? nextOperation('charge')!;
        await perform(operation);
      }
    });

    const crashes: (Omit<CrashRecord, 'failedAttempts'> & { killedAt: number })[] = [];
    const crashDrill = (async () => {
      for (let round = 1; round <= options.crashRounds; round++) {
        for (const service of ['postgres', 'postgrest', 'functions'] as const) {
          await abortableSleep(gapMs, options.signal);
          if (options.signal?.aborted) return;
          const killedAt = Date.now();
          const restarted = stack.nextRestart(service);
          const exit = await stack.kill(service, 'SIGKILL');
          await restarted;
          const outageMs = Date.now() - killedAt;
          crashes.push({ service, round, exit, outageMs, killedAt });
          log(`round ${round}: ${service} killed (${exit.signal}), restarted by the supervisor after ${outageMs} ms`);
        }
        await abortableSleep(gapMs, options.signal);
        if (options.signal?.aborted) return;
        stack.signal('postgrest', 'SIGSTOP');
        await sleep(stallMs);
        stack.signal('postgrest', 'SIGCONT');
        stalls++;
        log(`round ${round}: postgrest frozen for ${stallMs} ms (the functions give up after ${functionsTimeoutMs} ms)`);
      }
    })();
    await Promise.all([crashDrill, abortableSleep(options.durationMs, options.signal)]);
    await abortableSleep(tailMs, options.signal);
    trafficOn = false;
    await Promise.all(workers);
    const trafficMs = Date.now() - trafficStart;
    log(`traffic stopped after ${trafficMs} ms; checking the ledger`);

    report = await verify(stack, shopId, customers, outcomes, failures, crashes, trafficMs);
    report.supervisorGaveUp = supervisorGaveUp;
    report.restarts = [...stack.restarts];
    report.stalls = stalls;
    return report;
  } finally {
    await stack.stop();
    if (report && violations(report).length === 0) await rm(dataDir, { recursive: true, force: true });
    else if (report) report.logsDir = path.join(dataDir, 'logs');
  }
}

async function verify(
  stack: RunningStack,
  shopId: string,
  customers: Customer[],
  outcomes: Outcome[],
  failures: { at: number; cause: string }[],
  crashes: (Omit<CrashRecord, 'failedAttempts'> & { killedAt: number })[],
  trafficMs: number,
): Promise<ChaosReport> {
  const db = new pg.Client({ connectionString: stack.dbUrl });
  await db.connect();
  try {
    const ledger = (
      await db.query<{ id: string; idempotency_key: string; type: string; amount: string; customer_id: string }>(
        'select id, idempotency_key, type, amount, customer_id from public.transactions where shop_id = $1',
        [shopId],
      )
    ).rows;
    const rowsByKey = new Map<string, typeof ledger>();
    for (const row of ledger) rowsByKey.set(row.idempotency_key, [...(rowsByKey.get(row.idempotency_key) ?? []), row]);

    const byKind = Object.fromEntries(KINDS.map((kind) => [kind, { sent: 0, applied: 0, refused: 0 }])) as ChaosReport['byKind'];
    const refusals: Record<string, number> = {};
    const unexpectedAnswers: ChaosReport['unexpectedAnswers'] = [];
    const expected = new Map(customers.map((customer) => [customer.id, 0]));
    let acknowledged = 0, unresolved = 0, missingAcknowledged = 0, answerMismatches = 0, refusedButApplied = 0;
    let appliedAnswerLost = 0, retries = 0, requestsRetried = 0;
    const timedOutThen = { replayed: 0, appliedByRetry: 0, refused: 0 };

    for (const outcome of outcomes) {
      const { operation, transaction } = outcome;
      byKind[operation.kind].sent++;
      retries += outcome.attempts - 1;
      if (outcome.attempts > 1) requestsRetried++;
      const rows = rowsByKey.get(operation.key) ?? [];
      if (outcome.timedOut && outcome.status !== null) {
        if (!transaction) timedOutThen.refused++;
        else if (outcome.replayed) timedOutThen.replayed++;
        else timedOutThen.appliedByRetry++;
      }
      if (outcome.status === null) {
        unresolved++;
      } else if (transaction) {
        acknowledged++;
        byKind[operation.kind].applied++;
        if (outcome.replayed) appliedAnswerLost++;
        if (rows.length === 0) missingAcknowledged++;
        const row = rows[0];
        const requestedAmount = operation.body.amount;
        const matches =
          row !== undefined &&
          row.id === transaction.id &&
          row.type === transaction.type &&
          Number(row.amount) === transaction.amount &&
          row.customer_id === operation.customerId &&
          transaction.customer_id === operation.customerId &&
          (operation.kind === 'cancel' ? transaction.original_transaction_id === operation.targetId : transaction.amount === requestedAmount);
        if (!matches) answerMismatches++;
        expected.set(operation.customerId, expected.get(operation.customerId)! + signedAmount(transaction));
      } else {
        byKind[operation.kind].refused++;
        const label = `${outcome.status} ${outcome.code}`;
        refusals[label] = (refusals[label] ?? 0) + 1;
        if (!BUSINESS_REFUSALS.has(outcome.code ?? '')) {
          unexpectedAnswers.push({ kind: operation.kind, status: outcome.status, code: outcome.code });
        }
        if (rows.length > 0) refusedButApplied++;
      }
    }
    const sentKeys = new Set(outcomes.map((outcome) => outcome.operation.key));
    const unknownRows = ledger.filter((row) => !sentKeys.has(row.idempotency_key)).length;
    const duplicates = [...rowsByKey.values()].filter((rows) => rows.length > 1).length;

    const reconcile = await db.query('select * from public.reconcile_balances()');
    // One statement, one snapshot: the balances and the ledger are compared as of the same instant.
    const totals = (
      await db.query<{ balances: string; ledger: string; negative: string }>(
        `select
           (select coalesce(sum(current_balance), 0) from public.customers) as balances,
           (select coalesce(sum(${signedSql('amount')}), 0)
              from public.transactions) as ledger,
           (select count(*) from public.customers where current_balance < 0) as negative`,
      )
    ).rows[0];
    const balances = (
      await db.query<{ id: string; current_balance: string }>(
        'select id, current_balance from public.customers where shop_id = $1',
        [shopId],
      )
    ).rows;
    const clientViewMismatches = balances.filter((row) => Number(row.current_balance) !== expected.get(row.id)).length;

    const failedAttemptsByCause: Record<string, number> = {};
    for (const failure of failures) failedAttemptsByCause[failure.cause] = (failedAttemptsByCause[failure.cause] ?? 0) + 1;
    const crashRecords: CrashRecord[] = crashes.map(({ killedAt, ...crash }, index) => {
      const until = crashes[index + 1]?.killedAt ?? Infinity;
      return { ...crash, failedAttempts: failures.filter((failure) => failure.at >= killedAt && failure.at < until).length };
    });

    return {
      trafficMs,
      operations: outcomes.length,
      byKind,
      acknowledged,
      refusals,
      unresolved,
      unexpectedAnswers,
      crashes: crashRecords,
      restarts: [],
      supervisorGaveUp: null,
      stalls: 0,
      retries,
      requestsRetried,
      failedAttemptsByCause,
      appliedAnswerLost,
      timedOutThen,
      ledgerRows: ledger.length,
      duplicates,
      missingAcknowledged,
      answerMismatches,
      refusedButApplied,
      unknownRows,
      reconcileMismatches: reconcile.rowCount ?? 0,
      negativeBalances: Number(totals.negative),
      balanceSum: Number(totals.balances),
      ledgerSum: Number(totals.ledger),
      clientViewMismatches,
      logsDir: null,
    };
  } finally {
    await db.end();
  }
}

/** Every broken guarantee, in words; empty when the drill passed. */
export function violations(report: ChaosReport): string[] {
  const broken: string[] = [];
  const mustBeZero: [string, number][] = [
    ['unresolved requests', report.unresolved],
    ['unexpected answers', report.unexpectedAnswers.length],
    ['duplicates', report.duplicates],
    ['acknowledged but missing from the ledger', report.missingAcknowledged],
    ['answers that differ from their ledger row', report.answerMismatches],
    ['refused but applied', report.refusedButApplied],
    ['ledger rows with a key no client sent', report.unknownRows],
    ['reconciliation mismatches', report.reconcileMismatches],
    ['negative balances', report.negativeBalances],
    ['balances that differ from the clients\' view', report.clientViewMismatches],
  ];
  for (const [what, count] of mustBeZero) if (count !== 0) broken.push(`${what}: ${count}`);
  if (report.ledgerRows !== report.acknowledged) {
    broken.push(`ledger rows ${report.ledgerRows} != acknowledged keys ${report.acknowledged}`);
  }
  if (report.balanceSum !== report.ledgerSum) broken.push(`sum of balances ${report.balanceSum} != signed ledger sum ${report.ledgerSum}`);
  for (const crash of report.crashes) {
    if (crash.exit.signal !== 'SIGKILL' || crash.exit.expected) broken.push(`${crash.service} did not die of SIGKILL unasked`);
  }
  if (report.supervisorGaveUp) broken.push(`the supervisor gave up on ${report.supervisorGaveUp.name}`);
  if (report.restarts.length !== report.crashes.length) {
    broken.push(`${report.crashes.length} crashes but ${report.restarts.length} restarts by the supervisor`);
  }
  // An outage is a 503 or a 504, never a 500 that looks like a bug.
  const internalErrors = report.failedAttemptsByCause['http 500'] ?? 0;
  if (internalErrors > 0) broken.push(`attempts answered 500 during outages: ${internalErrors}`);
  return broken;
}

export function formatReport(report: ChaosReport): string {
  const kinds = KINDS.map((kind) => {
    const k = report.byKind[kind];
    return `    ${kind.padEnd(10)} sent ${String(k.sent).padStart(6)}  applied ${String(k.applied).padStart(6)}  refused ${String(k.refused).padStart(5)}`;
  });
  const crashes = report.crashes.map(
    (c) => `    round ${c.round} ${c.service.padEnd(10)} ${c.exit.signal}  back after ${c.outageMs} ms  failed attempts ${c.failedAttempts}`,
  );
  const gaveUp = report.supervisorGaveUp;
  const lines = [
    `operations            ${report.operations} in ${(report.trafficMs / 1000).toFixed(1)} s (${Math.round((report.operations / report.trafficMs) * 1000)}/s)`,
    ...kinds,
    `refusals              ${JSON.stringify(report.refusals)}`,
    `crashes               ${report.crashes.length}`,
    ...crashes,
    `supervisor restarted  ${report.restarts.map((r) => `${r.service} (${r.downMs} ms)`).join(', ') || 'nothing'}`,
    `supervisor gave up    ${gaveUp ? `on ${gaveUp.name} (signal ${gaveUp.signal})` : 'never'}`,
    `postgrest frozen      ${report.stalls} times`,
    `retries               ${report.retries} (requests retried ${report.requestsRetried}; failed attempts ${JSON.stringify(report.failedAttemptsByCause)})`,
    `applied, answer lost  ${report.appliedAnswerLost} (answered by a replay on retry)`,
    `answered 504, then    ${report.timedOutThen.replayed} replayed (had applied), ${report.timedOutThen.appliedByRetry} applied by the retry, ${report.timedOutThen.refused} refused`,
    `unresolved            ${report.unresolved}`,
    `unexpected answers    ${report.unexpectedAnswers.length}${report.unexpectedAnswers.length ? ` ${JSON.stringify(report.unexpectedAnswers.slice(0, 5))}` : ''}`,
    `acknowledged keys     ${report.acknowledged}`,
    `ledger rows           ${report.ledgerRows}`,
    `duplicates found      ${report.duplicates}`,
    `missing acknowledged  ${report.missingAcknowledged}`,
    `answer/ledger diffs   ${report.answerMismatches}`,
    `refused but applied   ${report.refusedButApplied}`,
    `unknown ledger rows   ${report.unknownRows}`,
    `mismatches            ${report.reconcileMismatches} (reconcile_balances)`,
    `client-view diffs     ${report.clientViewMismatches}`,
    `negative balances     ${report.negativeBalances}`,
    `sum of balances       ${report.balanceSum} = signed ledger sum ${report.ledgerSum}: ${report.balanceSum === report.ledgerSum}`,
  ];
  if (report.logsDir) lines.push(`logs kept in          ${report.logsDir}`);
  return lines.join('\n');
}
