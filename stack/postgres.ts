import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { appendFile, chown, mkdir, readdir, readFile, readlink, realpath, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { superviseProcess, type SupervisedChild } from './child.ts';
import { clusterFolder, postgresBinaries, postgresOsUser, type OsUser } from './postgres-access.ts';

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

// As on Supabase: UTF-8 with a collation that does not depend on the OS's installed locales.
const INITDB_FLAGS = ['--encoding=UTF8', '--locale-provider=builtin', '--builtin-locale=C.UTF-8', '--lc-messages=C'];

const SERVER_FLAGS = [
  '-c', 'listen_addresses=127.0.0.1',
  // TCP only: several stacks (the developer's and the tests') share /tmp without socket clashes.
  '-c', 'unix_socket_directories=',
  '-c', 'timezone=UTC',
  '-c', 'log_timezone=UTC',
  // PostgREST's pool, the functions, the tests' 50+ parallel connections and the load driver at once.
  '-c', 'max_connections=300',
  '-c', 'shared_buffers=256MB',
  // Logical decoding: the local Realtime reads committed broadcasts from a slot, as hosted Realtime
  // reads realtime.messages from the WAL (bootstrap.sql, realtime.ts).
  '-c', 'wal_level=logical',
];

/** Spawns a PostgreSQL program as `user` (or as this process's user), from `/`: the checkout may be out of its reach. */
function spawnAs(command: string, args: string[], user: OsUser | undefined): ChildProcess {
  return spawn(command, args, {
    cwd: '/',
    ...(user ?? {}),
    env: { ...process.env, LC_MESSAGES: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function initialise(binaries: { initdb: string }, cluster: string, user: OsUser | undefined, logFile: string): Promise<void> {
  // Beside the cluster, where its user can read it, and gone once initdb has hashed it.
  const passwordFile = `${cluster}.pwfile`;
  await writeFile(passwordFile, `${DB_PASSWORD}\n`, { mode: 0o600 });
  if (user) await chown(passwordFile, user.uid, user.gid);
  try {
    const initdb = spawnAs(binaries.initdb, [
      `--pgdata=${cluster}`, '--auth=scram-sha-256', `--username=${DB_USER}`, `--pwfile=${passwordFile}`, ...INITDB_FLAGS,
    ], user);
    let output = '';
    initdb.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    initdb.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      initdb.once('error', reject);
      initdb.once('close', resolve);
    });
    await appendFile(logFile, output);
    if (code !== 0) throw new Error(`initdb exited with ${code}: ${output.trim().split('\n').slice(-3).join(' ')}`);
  } finally {
    await rm(passwordFile, { force: true });
  }
}

/** Starts the server and resolves once it accepts connections; its output goes to the log. */
function startServer(binaries: { postgres: string }, cluster: string, port: number, user: OsUser | undefined, logFile: string): Promise<ChildProcess> {
  const server = spawnAs(binaries.postgres, ['-D', cluster, '-p', String(port), ...SERVER_FLAGS], user);
  // One stream for the server's life: an appendFile per chunk opened and closed the file each time.
  const log = createWriteStream(logFile, { flags: 'a' });
  server.once('close', () => log.end());
  const writeLog = (chunk: Buffer) => {
    log.write(chunk);
  };
  server.stdout!.on('data', writeLog);
  return new Promise((resolve, reject) => {
    let tail = '';
    const onOutput = (chunk: Buffer) => {
      writeLog(chunk);
      tail = (tail + chunk.toString()).slice(-2_000);
      if (tail.includes('database system is ready to accept connections')) {
        server.stderr!.off('data', onOutput);
        server.stderr!.on('data', writeLog);
        server.off('exit', onEarlyExit);
        resolve(server);
      }
    };
    const onEarlyExit = (code: number | null, signal: string | null) =>
      reject(new Error(`PostgreSQL exited while starting (code ${code}, signal ${signal}); see ${logFile}`));
    server.stderr!.on('data', onOutput);
    server.once('exit', onEarlyExit);
    server.once('error', reject);
  });
}

export async function startPostgres(options: PostgresOptions): Promise<RunningPostgres> {
  await mkdir(path.dirname(options.logFile), { recursive: true });
  // Everything that could stop PostgreSQL from reaching what it needs is settled before anything starts.
  const user = await postgresOsUser();
  const binaries = await postgresBinaries(user);
  const cluster = await clusterFolder(options.dataDir, user);

  const created = !existsSync(path.join(cluster, 'PG_VERSION'));
  if (created) await initialise(binaries, cluster, user, options.logFile);
  else await clearCrashedServer(cluster);
  const server = await startServer(binaries, cluster, options.port, user, options.logFile);

  const child = superviseProcess('postgres', server, {
    logFile: options.logFile,
    captureOutput: false,
    // Fast shutdown (SIGINT): rolls back open sessions instead of waiting for clients to leave.
    stopChild: async () => server.kill('SIGINT'),
  });
  return { url: databaseUrl(options.port), created, child };
}
