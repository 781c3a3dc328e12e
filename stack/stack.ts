import { existsSync } from 'node:fs';
import { appendFile, chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createAuthHandler } from './auth.ts';
import type { ChildExit, SupervisedChild } from './child.ts';
import { applyMigrations, bootstrap, catchUpBootstrap, seed, type SeedOutcome } from './database.ts';
import { spawnFunctionsHost } from './functions.ts';
import { startGateway, type Gateway } from './gateway.ts';
import { stackKeys, type StackKeys } from './keys.ts';
import { databaseUrl, startPostgres } from './postgres.ts';
import { removeCluster } from './postgres-access.ts';
import { startPostgrest } from './postgrest.ts';
import { startRealtime, type RealtimeServer } from './realtime.ts';

export interface StackPorts {
  /** The public gateway: API_URL. */
  api: number;
  db: number;
  /** PostgREST, behind the gateway. */
  rest: number;
  /** The Deno functions host, behind the gateway. */
  functions: number;
}

export const DEFAULT_PORTS: StackPorts = { api: 54321, db: 54322, rest: 54330, functions: 54331 };

export interface StartStackOptions {
  /** Everything the stack keeps: PostgreSQL's data, generated config, logs. */
  dataDir: string;
  /** Missing ports are the defaults; `'free'` picks unused ones (for isolated test stacks). */
  ports?: Partial<StackPorts> | 'free';
  /** Wipe the data folder first. */
  reset?: boolean;
  keys?: StackKeys;
  /** Progress lines; silent when omitted. */
  log?: (line: string) => void;
  /** A child's death and restart, said loudly; stderr unless told (always also in logs/supervisor.log). */
  warn?: (line: string) => void;
  supervision?: Partial<SupervisionPolicy>;
  /** How long the gateway and the functions wait for an upstream before answering 504. */
  timeouts?: Partial<UpstreamTimeouts>;
}

/** When the supervisor restarts a child that died, and when it gives up on the stack. */
export interface SupervisionPolicy {
  /** A child that dies this many times within `windowMs` is not restarted again: the stack stops. */
  maxDeaths: number;
  windowMs: number;
  /** The wait before the first restart, doubled for each further death in the window, up to `maxBackoffMs`. */
  firstBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_SUPERVISION: SupervisionPolicy = { maxDeaths: 5, windowMs: 60_000, firstBackoffMs: 250, maxBackoffMs: 8_000 };

export interface UpstreamTimeouts {
  /** The functions' bound on one PostgREST call: above the API roles' 8 s statement timeout, so SQL answers first. */
  functionsMs: number;
  /** The gateway's bound on any upstream's first byte: above the functions' bound, so theirs answers first. */
  gatewayMs: number;
}

export const DEFAULT_UPSTREAM_TIMEOUTS: UpstreamTimeouts = { functionsMs: 10_000, gatewayMs: 15_000 };

/** One automatic restart of a child that died unasked. */
export interface ChildRestart {
  service: ServiceName;
  exit: ChildExit;
  /** Deaths of this child within the policy's window, this one included. */
  deathsInWindow: number;
  backoffMs: number;
  /** From the death to the new child answering. */
  downMs: number;
}

export type ServiceName = 'postgres' | 'postgrest' | 'functions';

export interface RunningStack {
  apiUrl: string;
  dbUrl: string;
  restUrl: string;
  functionsUrl: string;
  keys: StackKeys;
  ports: StackPorts;
  dataDir: string;
  /** What this start did to the database. */
  database: { created: boolean; seed: SeedOutcome | 'kept' };
  /** Milliseconds per start-up step, in order, and the total. */
  timings: { step: string; ms: number }[];
  startupMs: number;
  /**
   * Resolves with the last exit of a child that kept dying (the policy's `maxDeaths` within its window):
   * the supervisor has given up and the stack is broken. A single death is restarted, not reported here.
   */
  died: Promise<ChildExit>;
  /** Every automatic restart so far, oldest first. */
  restarts: ChildRestart[];
  /** Resolves at the next automatic restart of `service` (crash drills wait on it). */
  nextRestart(service: ServiceName): Promise<ChildRestart>;
  /** Crash drills: SIGSTOP or SIGCONT to one child (a hung process, not a dead one). */
  signal(service: ServiceName, signal: 'SIGSTOP' | 'SIGCONT'): void;
  /** Restarts one child in place with the same settings (crash drills); the data is kept. */
  restart(service: ServiceName): Promise<void>;
  /**
   * Crash drills: sends the signal (SIGKILL unless told) to one child and resolves with its exit. The
   * supervisor is not told beforehand, so the exit counts as a death (`expected: false`) and is restarted.
   */
  kill(service: ServiceName, signal?: 'SIGKILL' | 'SIGTERM' | 'SIGQUIT'): Promise<ChildExit>;
  /** Stops every part, Realtime first (its slot reader), then the gateway, PostgreSQL last. Safe to call more than once. */
  stop(): Promise<void>;
}

interface StackState {
  seeded: boolean;
}

/** A port nothing listens on now, chosen by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves when something already listens on the port: a clear refusal beats a child's bind error. */
function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

async function resolvePorts(ports: StartStackOptions['ports']): Promise<StackPorts> {
  if (ports === 'free') {
    return { api: await freePort(), db: await freePort(), rest: await freePort(), functions: await freePort() };
  }
  const chosen = { ...DEFAULT_PORTS, ...ports };
  for (const [part, port] of Object.entries(chosen)) {
    if (await portInUse(port)) {
      throw new Error(`port ${port} (${part}) is already in use: stop what holds it, or set STACK_${part.toUpperCase()}_PORT`);
    }
  }
  return chosen;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Refuses to wipe a data folder that a running PostgreSQL still uses. */
export async function wipeDataDir(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'db', 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
    if (isAlive(pid)) throw new Error(`A stack is running on ${dataDir} (PostgreSQL pid ${pid}); stop it first.`);
  }
  await removeCluster(path.join(dataDir, 'db'));
  await rm(dataDir, { recursive: true, force: true });
}

/** Waits `ms`, or less when `signal` aborts first; never rejects. */
export async function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    // Node rejects an aborted wait with an AbortError; here an abort only ends the wait early.
    if ((error as Error).name !== 'AbortError') throw error;
  }
}

async function readState(file: string): Promise<StackState> {
  if (!existsSync(file)) return { seeded: false };
  return JSON.parse(await readFile(file, 'utf8')) as StackState;
}

export async function startStack(options: StartStackOptions): Promise<RunningStack> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const policy = { ...DEFAULT_SUPERVISION, ...options.supervision };
  const upstreamTimeouts = { ...DEFAULT_UPSTREAM_TIMEOUTS, ...options.timeouts };
  const timings: { step: string; ms: number }[] = [];
  async function step<T>(name: string, work: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    const result = await work();
    const ms = Math.round(performance.now() - t0);
    timings.push({ step: name, ms });
    log(`${name.padEnd(28)} ${String(ms).padStart(6)} ms`);
    return result;
  }

  const dataDir = path.resolve(options.dataDir);
  if (options.reset) await step('wipe data folder', () => wipeDataDir(dataDir));
  const logDir = path.join(dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  // PostgreSQL runs as the unprivileged `postgres` user and must reach its data folder inside this one
  // (a mkdtemp folder is 0700).
  await chmod(dataDir, 0o755);
  const ports = await resolvePorts(options.ports);
  const keys = options.keys ?? stackKeys();
  const apiUrl = `http://127.0.0.1:${ports.api}`;
  const restUrl = `http://127.0.0.1:${ports.rest}`;
  const functionsUrl = `http://127.0.0.1:${ports.functions}`;
  const stateFile = path.join(dataDir, 'state.json');

  const children = new Map<ServiceName, SupervisedChild>();
  let gateway: Gateway | undefined;
  let authPool: pg.Pool | undefined;
  let realtime: RealtimeServer | undefined;
  let stopping = false;
  let reportDeath!: (exit: ChildExit) => void;
  const died = new Promise<ChildExit>((resolve) => (reportDeath = resolve));

  const supervisorLog = path.join(logDir, 'supervisor.log');
  const warn = (line: string) => {
    (options.warn ?? ((text: string) => console.error(text)))(line);
    void appendFile(supervisorLog, `${new Date().toISOString()} ${line}\n`).catch(() => undefined);
  };
  const deaths = new Map<ServiceName, number[]>();
  const restarts: ChildRestart[] = [];
  const restartWaiters: { service: ServiceName; resolve: (restart: ChildRestart) => void }[] = [];
  const stopped = new AbortController();
  const recoveries = new Set<Promise<void>>();

  function watch(service: ServiceName, child: SupervisedChild): void {
    children.set(service, child);
    void child.exited.then((exit) => {
      // A child replaced by restart() is no longer the one this stack runs.
      if (exit.expected || stopping || children.get(service) !== child) return;
      const recovery = recover(service, exit, child.logFile).finally(() => recoveries.delete(recovery));
      recoveries.add(recovery);
    });
  }

  /** Restarts a child that died unasked, after a backoff; gives up when it keeps dying. */
  async function recover(service: ServiceName, exit: ChildExit, logFile: string): Promise<void> {
    const diedAt = Date.now();
    const recent = (deaths.get(service) ?? []).filter((at) => diedAt - at < policy.windowMs);
    recent.push(diedAt);
    deaths.set(service, recent);
    const how = `exit code ${exit.code}, signal ${exit.signal}; log ${logFile}`;
    if (recent.length >= policy.maxDeaths) {
      warn(`!!! ${service} died ${recent.length} times within ${policy.windowMs / 1000} s (${how}): not restarting it again`);
      reportDeath(exit);
      return;
    }
    const backoffMs = Math.min(policy.maxBackoffMs, policy.firstBackoffMs * 2 ** (recent.length - 1));
    warn(`!!! ${service} died (${how}); restarting it in ${backoffMs} ms (death ${recent.length} of ${policy.maxDeaths} allowed within ${policy.windowMs / 1000} s)`);
    await abortableSleep(backoffMs, stopped.signal);
    if (stopping) return;
    let child: SupervisedChild;
    try {
      child = await startService[service]();
    } catch (error) {
      if (stopping) return;
      warn(`!!! ${service} did not restart: ${error instanceof Error ? error.message : String(error)}`);
      return recover(service, { name: service, code: null, signal: null, expected: false }, logFile);
    }
    // stop() ran while the child was starting: it must not outlive the stack.
    if (stopping) return void (await child.stop());
    watch(service, child);
    const restart: ChildRestart = { service, exit, deathsInWindow: recent.length, backoffMs, downMs: Date.now() - diedAt };
    restarts.push(restart);
    warn(`${service} restarted, answering again ${restart.downMs} ms after it died`);
    for (const waiter of restartWaiters.filter((w) => w.service === service)) {
      restartWaiters.splice(restartWaiters.indexOf(waiter), 1);
      waiter.resolve(restart);
    }
  }

  const startService: Record<ServiceName, () => Promise<SupervisedChild>> = {
    postgres: async () => {
      const db = await startPostgres({
        dataDir: path.join(dataDir, 'db'),
        port: ports.db,
        logFile: path.join(logDir, 'postgres.log'),
      });
      return db.child;
    },
    postgrest: () =>
      startPostgrest({
        dbUrl,
        port: ports.rest,
        jwtSecret: keys.jwtSecret,
        configFile: path.join(dataDir, 'postgrest.conf'),
        logFile: path.join(logDir, 'postgrest.log'),
      }),
    functions: () =>
      spawnFunctionsHost({
        port: ports.functions,
        apiUrl,
        restUrl,
        dbUrl,
        keys,
        upstreamTimeoutMs: upstreamTimeouts.functionsMs,
        logFile: path.join(logDir, 'functions.log'),
      }),
  };

  async function stop(): Promise<void> {
    if (stopping) return;
    stopping = true;
    stopped.abort();
    await Promise.allSettled([...recoveries]);
    await realtime?.close();
    await gateway?.close();
    await authPool?.end();
    const stopOne = (service: ServiceName) => children.get(service)?.stop();
    await Promise.all([stopOne('postgrest'), stopOne('functions')]);
    await stopOne('postgres');
  }

  const dbUrl = databaseUrl(ports.db);
  try {
    const created = !existsSync(path.join(dataDir, 'db', 'PG_VERSION'));
    await step(created ? 'postgres (initdb + start)' : 'postgres', async () =>
      watch('postgres', await startService.postgres()),
    );
    if (created) await step('bootstrap', () => bootstrap(dbUrl));
    else await step('bootstrap catch-up', () => catchUpBootstrap(dbUrl));
    await step('migrations (supabase CLI)', () => applyMigrations(dbUrl));

    const state = await readState(stateFile);
    let seedOutcome: SeedOutcome | 'kept' = 'kept';
    if (!state.seeded) {
      seedOutcome = await step('seed', () => seed(dbUrl));
      if (seedOutcome === 'seeded') await writeFile(stateFile, JSON.stringify({ seeded: true } satisfies StackState));
      else log('seed skipped: the schema is not migrated yet; it runs on a later start');
    }

    // Deno's start-up is the slowest step and needs nothing from the database: overlap it.
    // Both are awaited even when one fails, so that the one that did start is watched and the
    // cleanup below stops it instead of leaving it behind.
    await step('postgrest + functions', async () => {
      const outcomes = await Promise.allSettled([
        startService.postgrest().then((child) => watch('postgrest', child)),
        startService.functions().then((child) => watch('functions', child)),
      ]);
      const failed = outcomes.find((outcome) => outcome.status === 'rejected');
      if (failed) throw failed.reason;
    });

    authPool = new pg.Pool({ connectionString: dbUrl, max: 10, idleTimeoutMillis: 10_000 });
    // A dropped idle connection (PostgreSQL restarted) is replaced on next use, not a crash.
    authPool.on('error', () => undefined);
    const pool = authPool;
    realtime = await step('realtime', () => startRealtime({ dbUrl, pool, jwtSecret: keys.jwtSecret, warn }));
    const realtimeServer = realtime;
    gateway = await step('gateway + auth', () =>
      startGateway({
        host: '127.0.0.1',
        port: ports.api,
        apiKeys: { anon: keys.anonKey, serviceRole: keys.serviceRoleKey },
        restUrl,
        functionsUrl,
        upstreamTimeoutMs: upstreamTimeouts.gatewayMs,
        auth: createAuthHandler({
          pool,
          jwtSecret: keys.jwtSecret,
          issuer: `${apiUrl}/auth/v1`,
          // Where `supabase start` would catch the mail: logs/auth.log, and the supervisor's output.
          sendMail: ({ to, subject, link }) => {
            const line = `mail to ${to}: ${subject}: ${link}`;
            void appendFile(path.join(logDir, 'auth.log'), `${new Date().toISOString()} ${line}\n`).catch(() => undefined);
            log(line);
          },
        }),
        realtime: realtimeServer,
      }),
    );

    return {
      apiUrl,
      dbUrl,
      restUrl,
      functionsUrl,
      keys,
      ports,
      dataDir,
      database: { created, seed: seedOutcome },
      timings,
      startupMs: Math.round(performance.now() - started),
      died,
      restarts,
      nextRestart: (service) => new Promise((resolve) => restartWaiters.push({ service, resolve })),
      signal(service, signal) {
        const child = children.get(service);
        if (!child) throw new Error(`${service} is not running`);
        child.process.kill(signal);
      },
      async restart(service) {
        const previous = children.get(service);
        children.delete(service);
        await previous?.stop();
        watch(service, await startService[service]());
      },
      async kill(service, signal = 'SIGKILL') {
        const child = children.get(service);
        if (!child) throw new Error(`${service} is not running`);
        child.process.kill(signal);
        return child.exited;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
