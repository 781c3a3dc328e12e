// What `supabase functions deploy` bundles: each function's entrypoint with functions/deno.json as its
// import map, and nothing else (no package.json, no node_modules). This proves the functions resolve
// through that file alone, as the bundler would, with Deno fetching the pinned npm: packages itself.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const DENO = path.join(ROOT, 'node_modules/.bin/deno');

interface FunctionBlock {
  entrypoint?: string;
  import_map?: string;
}

// Imports every function with Deno.serve swapped for a recorder, as the edge runtime loads a worker.
const LOADER = `
const loaded = [];
for (const name of Deno.args) {
  let handler;
  const realServe = Deno.serve;
  Object.defineProperty(Deno, 'serve', { configurable: true, writable: true, value: (...args) => {
    handler = args.find((a) => typeof a === 'function') ?? args[0]?.handler;
    return { finished: new Promise(() => {}), shutdown: async () => {}, ref() {}, unref() {} };
  } });
  await import(new URL('./functions/' + name + '/index.ts', import.meta.url).href);
  Object.defineProperty(Deno, 'serve', { configurable: true, writable: true, value: realServe });
  if (typeof handler !== 'function') throw new Error(name + ' registered no handler');
  loaded.push(name);
}
console.log(JSON.stringify(loaded));
`;

describe('functions/deno.json is all a deployed function needs', () => {
  let workDir: string;
  let names: string[];
  let denoEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'comings-deploy-'));
    await cp(path.join(ROOT, 'functions'), path.join(workDir, 'functions'), { recursive: true });
    await writeFile(path.join(workDir, 'loader.js'), LOADER);
    names = (await readdir(path.join(ROOT, 'functions'), { withFileTypes: true }))
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('_'))
      .map((entry) => entry.name)
      .sort();
    denoEnv = {
      // The caller's proxy and CA settings reach Deno, which fetches from the npm registry.
      ...process.env,
      NO_COLOR: '1',
      DENO_DIR: path.join(workDir, 'deno-dir'),
      // What the edge runtime gives every function; nothing is called while loading.
      SUPABASE_URL: 'http://127.0.0.1:9',
      SUPABASE_ANON_KEY: 'anon',
      SUPABASE_SERVICE_ROLE_KEY: 'service-role',
      JWT_SECRET: 'a-secret-long-enough-for-hs256-keys-000000',
    };
  });

  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  test('config.toml points every function at its entrypoint and at functions/deno.json', async () => {
    const config = parseToml(await readFile(path.join(ROOT, 'supabase/config.toml'), 'utf8')) as unknown as { functions: Record<string, FunctionBlock> };
    expect(Object.keys(config.functions).sort()).toEqual(names);
    for (const name of names) {
      expect(config.functions[name]).toMatchObject({
        entrypoint: `../functions/${name}/index.ts`,
        import_map: '../functions/deno.json',
      });
    }
  });

  test('the import map pins exactly the versions package-lock.json installs', async () => {
    const { imports } = JSON.parse(await readFile(path.join(ROOT, 'functions/deno.json'), 'utf8')) as { imports: Record<string, string> };
    const lock = JSON.parse(await readFile(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
    for (const [name, target] of Object.entries(imports)) {
      expect(target).toBe(`npm:${name}@${lock.packages[`node_modules/${name}`].version}`);
    }
  });

  test('every function type-checks and loads from a bare copy, in an empty DENO_DIR', async () => {
    const options = { cwd: workDir, env: denoEnv, timeout: 120_000 };
    const config = ['--config', 'functions/deno.json', '--no-lock'];
    await run(DENO, ['check', ...config, ...names.map((name) => `functions/${name}/index.ts`)], options);
    const { stdout } = await run(DENO, ['run', ...config, '--allow-env', '--allow-read', '--allow-net', 'loader.js', ...names], options);
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual(names);
    // Deno kept the packages in its own cache: nothing was installed beside the functions.
    expect((await readdir(workDir)).sort()).toEqual(['deno-dir', 'functions', 'loader.js']);
  }, 150_000);
});
