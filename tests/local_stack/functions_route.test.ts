// The functions host sends a function's service-role calls to `SUPABASE_URL/rest/v1` straight to
// PostgREST (stack/functions-host.ts), where the gateway would only relay them; the bench's figures
// for edge calls rest on it (README, "Where the time goes", 5.). No answer shows which way a call
// went, so this reads the host's TCP connections from /proc (Linux, as the local stack runs): after
// a kiosk payment and a charge, the host holds connections to PostgREST and none to the gateway.
// A stack of its own, so that the ports, and the process listening on the functions port, are known.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startStack, type RunningStack } from '../../stack/stack.ts';
import { PIN, poster, setUpShop, staffHeaders } from '../chaos/driver.ts';
import { listeningPid, socketInodesOf, TCP_ESTABLISHED, tcpSockets } from '../support/tcp.ts';

let dataDir: string;
let stack: RunningStack;
let db: pg.Client;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'comings-functions-route-'));
  stack = await startStack({ dataDir, ports: 'free', warn: () => undefined });
  db = new pg.Client({ connectionString: stack.dbUrl });
  await db.connect();
}, 60_000);

afterAll(async () => {
  await db?.end();
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

test("the functions host sends its service-role calls straight to PostgREST, never back through the gateway", async () => {
  const post = poster(stack);
  const { actors, customers } = await setUpShop(stack, db, 1, post);
  const customer = customers[0]!;
  const charged = await post('transactions/charge', { ...staffHeaders(stack, actors.owner), 'idempotency-key': randomUUID() }, {
    customer_id: customer.id,
    amount: 10_000,
  });
  expect(charged.status).toBe(200);
  const paid = await post(
    'kiosk/pay',
    { apikey: stack.keys.anonKey, authorization: `Bearer ${stack.keys.anonKey}`, 'x-kiosk-key': actors.kioskKey, 'idempotency-key': randomUUID() },
    { phone: customer.phone, pin: PIN, amount: 3_000 },
  );
  expect([paid.status, JSON.parse(paid.text).balance]).toEqual([200, 7_000]);

  const sockets = tcpSockets();
  const host = listeningPid(stack.ports.functions, sockets);
  expect(host).toBeDefined();
  const held = socketInodesOf(host!);
  const connectedTo = (port: number) =>
    sockets.filter((socket) => held.has(socket.inode) && socket.state === TCP_ESTABLISHED && socket.remotePort === port).length;
  expect(connectedTo(stack.ports.rest)).toBeGreaterThanOrEqual(1);
  expect(connectedTo(stack.ports.api)).toBe(0);
});
