// Which stack the benchmark measures, in this order:
//   1. the one the environment names (API_URL, DB_URL, ANON_KEY, SERVICE_ROLE_KEY, as
//      `npm run status -- -o env` or `supabase status -o env` print them), with DATASET or
//      .stack/dataset.json as its dataset;
//   2. the one `npm start` runs (its .stack/status.json), with the dataset `npm run generate` wrote;
//   3. otherwise, or with --own-stack, a stack of its own: `npm start`'s stack/start.ts on free ports
//      with a temporary data folder, filled by the generator with the 100,000-transaction dataset,
//      stopped and removed at the end. It never touches .stack/ or the default ports, so it can run
//      beside `npm start`. It runs as a process of its own, as `npm start` does: startStack in this
//      process would put the gateway and the load driver on one event loop, and each would slow
//      the other.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../../../stack/database.ts';
import { cliStackOptions } from '../../../stack/options.ts';
import { freePort } from '../../../stack/stack.ts';
import { readStatus, type StackStatus } from '../../../stack/status-file.ts';
import { DEFAULT_MANIFEST_PATH } from '../dataset_manifest.ts';

export interface BenchTarget {
  apiUrl: string;
  dbUrl: string;
  anonKey: string;
  serviceRoleKey: string;
  datasetPath: string;
  /** Said in the report: whose stack was measured. */
  origin: 'environment' | 'npm start' | 'own stack';
  stop(): Promise<void>;
}

export interface OwnStackDataset {
  customers: number;
  transactions: number;
  /** The generator's default (4) when not given. */
  shops?: number;
  /** Customers per shop the manifest lists; the generator's default (200) when not given. */
  sample?: number;
}

const nothingToStop = async () => undefined;

function fromEnvironment(datasetPath: string): BenchTarget | undefined {
  const { API_URL, DB_URL, ANON_KEY, SERVICE_ROLE_KEY } = process.env;
  if (!API_URL || !DB_URL || !ANON_KEY || !SERVICE_ROLE_KEY) return undefined;
  return {
    apiUrl: API_URL.replace(/\/+$/, ''),
    dbUrl: DB_URL,
    anonKey: ANON_KEY,
    serviceRoleKey: SERVICE_ROLE_KEY,
    datasetPath,
    origin: 'environment',
    stop: nothingToStop,
  };
}

/** A stack of this repository's launcher, from the status file it wrote. */
function fromStatus(status: StackStatus, datasetPath: string, origin: BenchTarget['origin'], stop: () => Promise<void>): BenchTarget {
  const { apiUrl, dbUrl, anonKey, serviceRoleKey } = status;
  return { apiUrl, dbUrl, anonKey, serviceRoleKey, datasetPath, origin, stop };
}

async function fromNpmStart(datasetPath: string): Promise<BenchTarget | undefined> {
  const status = await readStatus(cliStackOptions().dataDir);
  return status ? fromStatus(status, datasetPath, 'npm start', nothingToStop) : undefined;
}

// `node --import tsx` rather than the tsx command: the latter runs the script in a second process,
// and a signal to the outer one does not always reach the stack's supervisor, which must stop its
// children itself.
const NODE_TSX = [process.execPath, '--import', 'tsx'] as const;

function runTs(script: string, args: string[], options: { env: NodeJS.ProcessEnv; stdio: 'inherit' | 'pipe' }): ChildProcess {
  const [node, ...flags] = NODE_TSX;
  return spawn(node, [...flags, script, ...args], { cwd: PROJECT_ROOT, env: options.env, stdio: options.stdio });
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

export function generate(dbUrl: string, out: string, dataset: OwnStackDataset): Promise<void> {
  const generator = path.join(PROJECT_ROOT, 'tests', 'load_tests', 'generate_test_data.ts');
  const args = ['--customers', String(dataset.customers), '--transactions', String(dataset.transactions), '--out', out];
  if (dataset.shops !== undefined) args.push('--shops', String(dataset.shops));
  if (dataset.sample !== undefined) args.push('--sample', String(dataset.sample));
  const child = runTs(generator, args, { env: { ...process.env, DB_URL: dbUrl }, stdio: 'inherit' });
  return exitOf(child).then(({ code, signal }) => {
    if (code !== 0) throw new Error(`the data generator failed (exit code ${code}, signal ${signal})`);
  });
}

const STACK_START_TIMEOUT_MS = 120_000;
const STACK_STOP_TIMEOUT_MS = 30_000;

async function ownStack(dataset: OwnStackDataset, log: (line: string) => void): Promise<BenchTarget> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'comings-bench-'));
  const env = {
    ...process.env,
    STACK_DATA_DIR: dataDir,
    STACK_API_PORT: String(await freePort()),
    STACK_DB_PORT: String(await freePort()),
    STACK_REST_PORT: String(await freePort()),
    STACK_FUNCTIONS_PORT: String(await freePort()),
  };
  const logFile = path.join(dataDir, 'npm-start.log');
  log(`Starting a stack of its own (stack/start.ts) in ${dataDir} on free ports; its output goes to ${logFile}`);
  const child = runTs(path.join(PROJECT_ROOT, 'stack', 'start.ts'), [], { env, stdio: 'pipe' });
  const output = createWriteStream(logFile);
  child.stdout!.pipe(output);
  child.stderr!.pipe(output);
  const exited = exitOf(child);
  let running = true;
  let stopping = false;
  void exited.then(({ code }) => {
    running = false;
    if (!stopping) log(`!!! the benchmark's stack exited (code ${code}) before the benchmark ended; see ${logFile}`);
  });

  const stop = async () => {
    stopping = true;
    if (running) {
      child.kill('SIGTERM');
      const stopped = await Promise.race([exited, sleep(STACK_STOP_TIMEOUT_MS, 'timeout' as const)]);
      if (stopped === 'timeout') child.kill('SIGKILL');
      await exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + STACK_START_TIMEOUT_MS;
    let status = await readStatus(dataDir);
    while (!status) {
      if (!running) throw new Error(`the stack did not start; see ${logFile}`);
      if (Date.now() > deadline) throw new Error(`the stack did not start within ${STACK_START_TIMEOUT_MS / 1000} s; see ${logFile}`);
      await sleep(250);
      status = await readStatus(dataDir);
    }
    log(`  up at ${status.apiUrl} in ${(status.startupMs / 1000).toFixed(1)} s`);
    const datasetPath = path.join(dataDir, 'dataset.json');
    log(`Generating ${dataset.customers} customers${dataset.shops === undefined ? '' : ` in ${dataset.shops} shops`} and ${dataset.transactions} transactions into it...`);
    await generate(status.dbUrl, datasetPath, dataset);
    return fromStatus(status, datasetPath, 'own stack', stop);
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function benchTarget(
  options: { ownStack: boolean; dataset: OwnStackDataset },
  log: (line: string) => void,
): Promise<BenchTarget> {
  if (!options.ownStack) {
    const datasetPath = path.resolve(PROJECT_ROOT, process.env.DATASET ?? DEFAULT_MANIFEST_PATH);
    const running = fromEnvironment(datasetPath) ?? (await fromNpmStart(datasetPath));
    if (running) {
      if (!existsSync(datasetPath)) {
        throw new Error(
          `No dataset manifest at ${datasetPath}: run \`npm run generate -- --customers 1000 --transactions 100000\` ` +
            'against this stack first (or set DATASET), or use --own-stack.',
        );
      }
      return running;
    }
    log('No running stack (no API_URL/DB_URL/ANON_KEY/SERVICE_ROLE_KEY, no `npm start`).');
  }
  return ownStack(options.dataset, log);
}
