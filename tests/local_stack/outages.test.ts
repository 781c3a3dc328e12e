// Outages get fast, honest answers: 503 while a part is down, 504 when it is too slow, each with
// Retry-After, from the functions (in the error contract) and from the gateway (in Kong's shape); a
// money call cut short either applied or not, and its retry with the same key tells which. A stack of
// its own, with short bounds (functions 1 s, gateway 2 s), because the test freezes and kills its parts.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type RunningStack } from '../../stack/stack.ts';
import { poster, setUpShop, staffHeaders, type Poster } from '../chaos/driver.ts';

let dataDir: string;
let stack: RunningStack;
let db: pg.Client;
let post: Poster;
let owner: Record<string, string>;
let customerId: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'comings-outages-'));
  stack = await startStack({ dataDir, ports: 'free', timeouts: { functionsMs: 1_000, gatewayMs: 2_000 }, warn: () => undefined });
  db = new pg.Client({ connectionString: stack.dbUrl });
  await db.connect();
  post = poster(stack);
  const shop = await setUpShop(stack, db, 1, post);
  owner = staffHeaders(stack, shop.actors.owner);
  customerId = shop.customers[0].id;
}, 60_000);

afterAll(async () => {
  await db?.end();
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = Date.now();
  const value = await work();
  return { ms: Date.now() - started, value };
}

const charge = (key: string) => post('transactions/charge', { ...owner, 'idempotency-key': key }, { customer_id: customerId, amount: 1_000 }, 15_000);

async function restRead() {
  const response = await fetch(`${stack.apiUrl}/rest/v1/customers?select=id`, {
    headers: { ...owner },
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() };
}

async function rowsFor(key: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>('select count(*) as n from public.transactions where idempotency_key = $1', [key]);
  return Number(rows[0].n);
}

describe('a frozen PostgREST (SIGSTOP)', () => {
  test('a money call answers 504 upstream_timeout after the functions\' bound; its retry with the same key applies it exactly once', async () => {
    const key = `outage-${randomUUID()}`;
    stack.signal('postgrest', 'SIGSTOP');
    try {
      const { ms, value } = await timed(() => charge(key));
      expect([value.status, value.retryAfter]).toEqual([504, '2']);
      expect(JSON.parse(value.text).error).toMatchObject({ code: 'upstream_timeout', details: null, request_id: expect.any(String) });
      expect(ms).toBeGreaterThanOrEqual(900);
      // Upper bounds are generous (bound + 5 s): on 2 busy cores they prove an answer, not a hang.
      expect(ms).toBeLessThan(6_900);

      const read = await timed(restRead);
      expect([read.value.status, read.value.retryAfter, read.value.body]).toEqual([504, '2', { message: 'The upstream server is timing out' }]);
      expect(read.ms).toBeLessThan(8_500);
    } finally {
      stack.signal('postgrest', 'SIGCONT');
    }
    // The timed-out call may have run once PostgREST woke up, or not: the retry tells, and never twice.
    const retry = await charge(key);
    expect(retry.status).toBe(200);
    expect(await rowsFor(key)).toBe(1);
  });
});

describe('a dead PostgREST (SIGKILL), until the supervisor has it back', () => {
  test('a money call and a read answer 503 with Retry-After at once, and work again after the restart', async () => {
    const key = `outage-${randomUUID()}`;
    const restarted = stack.nextRestart('postgrest');
    await stack.kill('postgrest');
    const { ms, value } = await timed(() => charge(key));
    expect([value.status, JSON.parse(value.text).error.code]).toEqual([503, 'service_unavailable']);
    expect(ms).toBeLessThan(6_000);
    const read = await restRead();
    expect([read.status, read.retryAfter, read.body]).toEqual([503, '1', { message: 'The upstream server is currently unavailable' }]);
    await restarted;
    expect((await charge(key)).status).toBe(200);
    expect(await rowsFor(key)).toBe(1);
  });
});

describe('a frozen functions host', () => {
  test('the gateway answers 504 after its own bound, in its JSON shape', async () => {
    stack.signal('functions', 'SIGSTOP');
    try {
      const { ms, value } = await timed(() => charge(`outage-${randomUUID()}`));
      expect([value.status, JSON.parse(value.text)]).toEqual([504, { message: 'The upstream server is timing out' }]);
      expect(ms).toBeGreaterThanOrEqual(1_900);
      expect(ms).toBeLessThan(8_500);
    } finally {
      stack.signal('functions', 'SIGCONT');
    }
  });
});
