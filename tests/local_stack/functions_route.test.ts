// The functions host sends a function's service-role calls to `SUPABASE_URL/rest/v1` straight to
// PostgREST (stack/functions-host.ts), where the gateway would only relay them; the bench's figures
// for edge calls rest on it (README, "Where the time goes", 5.). No answer shows which way a call
// went, so this reads the host's TCP connections from /proc (Linux, as the local stack runs): after
// a kiosk payment and a charge, the host holds connections to PostgREST and none to the gateway.
// A stack of its own, so that the ports, and the process listening on the functions port, are known.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startStack, type RunningStack } from '../../stack/stack.ts';
import { PIN, poster, setUpShop, staffHeaders } from '../chaos/driver.ts';

const LISTEN = 0x0a;
const ESTABLISHED = 0x01;

interface TcpSocket {
  inode: number;
  localPort: number;
  remotePort: number;
  state: number;
}

/** Every TCP socket of this network namespace (IPv4 and IPv6), from /proc/net/tcp{,6}. */
async function tcpSockets(): Promise<TcpSocket[]> {
  const tables = await Promise.all(['/proc/net/tcp', '/proc/net/tcp6'].map((file) => readFile(file, 'utf8').catch(() => '')));
  return tables.flatMap((table) =>
    table
      .split('\n')
      .slice(1)
      .filter((line) => line.trim() !== '')
      .map((line) => {
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
        const fields = line.trim().split(/\s+/);
        const port = (address: string) => Number.parseInt(address.split(':').at(-1)!, 16);
        return { localPort: port(fields[1]!), remotePort: port(fields[2]!), state: Number.parseInt(fields[3]!, 16), inode: Number(fields[9]) };
      }),
  );
}

/** The inodes of the sockets a process holds open. */
async function socketInodes(pid: string): Promise<Set<number>> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  const links = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  return new Set(links.map((link) => /^socket:\[(\d+)\]$/.exec(link)?.[1]).filter((inode) => inode !== undefined).map(Number));
}

/** The process listening on a TCP port. */
async function listenerOf(port: number, sockets: TcpSocket[]): Promise<string> {
  const listening = sockets.find((socket) => socket.state === LISTEN && socket.localPort === port);
  if (!listening) throw new Error(`nothing listens on port ${port}`);
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    if ((await socketInodes(pid)).has(listening.inode)) return pid;
  }
  throw new Error(`no process of this user holds the socket listening on port ${port}`);
}

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

  const sockets = await tcpSockets();
  const host = await listenerOf(stack.ports.functions, sockets);
  const held = await socketInodes(host);
  const connectedTo = (port: number) =>
    sockets.filter((socket) => held.has(socket.inode) && socket.state === ESTABLISHED && socket.remotePort === port).length;
  expect(connectedTo(stack.ports.rest)).toBeGreaterThanOrEqual(1);
  expect(connectedTo(stack.ports.api)).toBe(0);
});
