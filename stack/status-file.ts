import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunningStack } from './stack.ts';

/** What `npm run status` reads while `npm start` runs. */
export interface StackStatus {
  pid: number;
  apiUrl: string;
  dbUrl: string;
  restUrl: string;
  functionsUrl: string;
  anonKey: string;
  serviceRoleKey: string;
  jwtSecret: string;
  startedAt: string;
  startupMs: number;
}

export function statusFile(dataDir: string): string {
  return path.join(dataDir, 'status.json');
}

export async function writeStatus(stack: RunningStack): Promise<void> {
  const status: StackStatus = {
    pid: process.pid,
    apiUrl: stack.apiUrl,
    dbUrl: stack.dbUrl,
    restUrl: stack.restUrl,
    functionsUrl: stack.functionsUrl,
    anonKey: stack.keys.anonKey,
    serviceRoleKey: stack.keys.serviceRoleKey,
    jwtSecret: stack.keys.jwtSecret,
    startedAt: new Date().toISOString(),
    startupMs: stack.startupMs,
  };
  // Written aside, then renamed into place: a reader polling for the file (the bench's own stack) never
  // meets it half written.
  const file = statusFile(stack.dataDir);
  await writeFile(`${file}.tmp`, JSON.stringify(status, null, 2), { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

export async function removeStatus(dataDir: string): Promise<void> {
  await rm(statusFile(dataDir), { force: true });
}

/** The running stack's status, or undefined when none runs (a stale file from a crash is ignored). */
export async function readStatus(dataDir: string): Promise<StackStatus | undefined> {
  const file = statusFile(dataDir);
  if (!existsSync(file)) return undefined;
  const status = JSON.parse(await readFile(file, 'utf8')) as StackStatus;
  try {
    process.kill(status.pid, 0);
    return status;
  } catch {
    return undefined;
  }
}

/**
 * The names and order of `supabase status -o env`, with the values a client uses: every URL is the
 * gateway's (PostgREST and the functions host behind it are internal, as Kong's upstreams are).
 */
export function statusValues(status: StackStatus): [string, string][] {
  return [
    ['API_URL', status.apiUrl],
    ['DB_URL', status.dbUrl],
    ['REST_URL', `${status.apiUrl}/rest/v1`],
    ['FUNCTIONS_URL', `${status.apiUrl}/functions/v1`],
    ['ANON_KEY', status.anonKey],
    ['SERVICE_ROLE_KEY', status.serviceRoleKey],
    ['JWT_SECRET', status.jwtSecret],
  ];
}

export function statusEnvLines(status: StackStatus): string[] {
  return statusValues(status).map(([name, value]) => `${name}="${value}"`);
}
