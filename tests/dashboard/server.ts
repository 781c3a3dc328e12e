/**
 * The test dashboard's server: tests/dashboard.html, its script and style, chart.js from the
 * project's node_modules (the machines here are offline: no CDN), the reports the runs wrote, and
 * live figures from the database when a stack is running.
 *
 *   tests/run_dashboard.sh     # http://localhost:8080/dashboard.html
 *
 * PORT (8080), HOST (127.0.0.1), REPORTS_DIR (reports/), DB_URL (the local stack's).
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { readReports } from './reports.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const LOCAL_DB_URL = 'postgresql://postgres:postgres@127.0.0.1:54322/postgres';

const STATIC: Record<string, { file: string; type: string }> = {
  '/dashboard.html': { file: path.join(root, 'tests/dashboard.html'), type: 'text/html; charset=utf-8' },
  '/assets/dashboard.js': { file: path.join(here, 'assets/dashboard.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/dashboard.css': { file: path.join(here, 'assets/dashboard.css'), type: 'text/css; charset=utf-8' },
  '/assets/chart.umd.min.js': {
    file: path.join(root, 'node_modules/chart.js/dist/chart.umd.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
};

export interface LiveFigures {
  available: true;
  checked_at: string;
  customers: number;
  transactions: number;
  outstanding_balance: number;
  /** The shops' debt to their customers (refundable) and the bonus they gave (not refundable). */
  outstanding_paid_balance: number;
  outstanding_bonus_balance: number;
  mismatches: number;
}

export type LiveAnswer = LiveFigures | { available: false; checked_at: string; reason: string };

/** Figures from one consistent snapshot; reconcile_balances() is the contract's own check. */
async function readLiveFigures(dbUrl: string): Promise<LiveAnswer> {
  const client = new pg.Client({ connectionString: dbUrl, connectionTimeoutMillis: 2_000, application_name: 'test-dashboard' });
  const checkedAt = new Date().toISOString();
  let connected = false;
  try {
    await client.connect();
    connected = true;
    await client.query('begin isolation level repeatable read read only');
    await client.query(`set local statement_timeout = '30s'`);
    const { rows: [figures] } = await client.query<Record<string, string>>(`
      select c.customers, c.outstanding_balance, c.outstanding_paid_balance, c.outstanding_bonus_balance,
             (select count(*) from public.transactions) as transactions,
             (select count(*) from public.reconcile_balances()) as mismatches
        from (select count(*) as customers,
                     coalesce(sum(current_balance), 0) as outstanding_balance,
                     coalesce(sum(paid_balance), 0) as outstanding_paid_balance,
                     coalesce(sum(bonus_balance), 0) as outstanding_bonus_balance
                from public.customers) as c`);
    await client.query('commit');
    return {
      available: true,
      checked_at: checkedAt,
      customers: Number(figures!.customers),
      transactions: Number(figures!.transactions),
      outstanding_balance: Number(figures!.outstanding_balance),
      outstanding_paid_balance: Number(figures!.outstanding_paid_balance),
      outstanding_bonus_balance: Number(figures!.outstanding_bonus_balance),
      mismatches: Number(figures!.mismatches),
    };
  } catch (error) {
    return { available: false, checked_at: checkedAt, reason: (error as Error).message || String(error) };
  } finally {
    // end() on a client whose connect failed can wait forever for a socket that never opened.
    if (connected) await client.end().catch(() => undefined);
  }
}

export interface DashboardOptions {
  port: number;
  host: string;
  reportsDir: string;
  dbUrl: string;
  /** How long open pages share one reading of the live figures (default 5 s). */
  liveCacheMs?: number;
}

export interface RunningDashboard {
  url: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  // Counting a 10-million-row ledger and reconciling it takes seconds: every open page polls, so
  // they share one answer for a few seconds and never run two reads at once.
  let live: { at: number; answer: Promise<LiveAnswer> } | undefined;
  const cacheMs = options.liveCacheMs ?? 5_000;
  const liveFigures = (): Promise<LiveAnswer> => {
    if (!live || Date.now() - live.at > cacheMs) live = { at: Date.now(), answer: readLiveFigures(options.dbUrl) };
    return live.answer;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { pathname } = new URL(req.url ?? '/', 'http://dashboard');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed');
    if (pathname === '/') {
      res.writeHead(302, { location: '/dashboard.html' });
      return void res.end();
    }
    if (pathname === '/api/reports') {
      return send(res, 200, 'application/json', JSON.stringify(await readReports(options.reportsDir)));
    }
    if (pathname === '/api/live') return send(res, 200, 'application/json', JSON.stringify(await liveFigures()));
    const asset = STATIC[pathname];
    if (!asset) return send(res, 404, 'text/plain', 'not found');
    return send(res, 200, asset.type, await readFile(asset.file));
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, 'text/plain', (error as Error).message));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dashboard = await startDashboard({
    port: Number(process.env.PORT ?? 8080),
    host: process.env.HOST ?? '127.0.0.1',
    reportsDir: path.resolve(process.env.REPORTS_DIR ?? path.join(root, 'reports')),
    dbUrl: process.env.DB_URL ?? LOCAL_DB_URL,
  });
  console.log(`Test dashboard: http://localhost:${new URL(dashboard.url).port}/dashboard.html (Ctrl-C stops it)`);
  const stop = () => void dashboard.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
