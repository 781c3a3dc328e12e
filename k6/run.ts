// `npm run k6 -- <scenario> [shape] [k6 flags...]`: runs one k6 scenario against the local stack
// (or the one API_URL and the keys name), with the generated dataset, and leaves its summary in
// reports/load/<scenario>.json for the dashboard. A lone shape (`npm run k6 -- smoke`) runs the
// mix at that shape. Without k6 on the PATH it says how to install it and exits non-zero.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stackKeys } from '../stack/keys.ts';
import { DEFAULT_MANIFEST_PATH } from '../tests/load_tests/dataset_manifest.ts';
import { isShapeName, SHAPE_NAMES } from './lib/shape-names.ts';

const k6Dir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(k6Dir, '..');
const scenarioDir = join(k6Dir, 'scenarios');
const SCENARIOS = readdirSync(scenarioDir)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => file.slice(0, -'.ts'.length))
  .sort();

// k6 0.52 runs TypeScript behind a flag; from 0.57 it is the default.
const TYPESCRIPT_FLAG_SINCE = [0, 52] as const;
const TYPESCRIPT_NATIVE_SINCE = [0, 57] as const;

const INSTALL_HELP = `k6 is not installed: there is no \`k6\` on the PATH.

The load tests need k6 ${TYPESCRIPT_FLAG_SINCE.join('.')} or newer (${TYPESCRIPT_NATIVE_SINCE.join('.')}+ runs TypeScript with no flag). Install it:
  Debian/Ubuntu  add Grafana's apt repository (https://dl.k6.io/deb), then: sudo apt-get install k6
  Fedora/CentOS  sudo dnf install https://dl.k6.io/rpm/repo.rpm && sudo dnf install k6
  macOS          brew install k6
  Windows        winget install k6 --source winget
  any platform   a binary from https://github.com/grafana/k6/releases, put on the PATH
Guide: https://grafana.com/docs/k6/latest/set-up/install-k6/

Then: npm run k6 -- <scenario> [shape]
Without k6, \`npm run typecheck:k6\` still checks every script against @types/k6.`;

function usage(): string {
  return [
    'usage: npm run k6 -- <scenario> [shape] [k6 flags...]',
    '       npm run k6 -- <shape>            (the mix scenario at that shape)',
    `scenarios: ${SCENARIOS.join(', ')}`,
    `shapes:    ${SHAPE_NAMES.join(', ')} (default: each scenario's own)`,
    'env:       API_URL ANON_KEY SERVICE_ROLE_KEY DATASET | SHOP_ID KIOSK_KEYS STAFF_LOGINS CUSTOMER_PIN,',
    '           RATE VUS DURATION HOT_CUSTOMER_ID WRONG_PIN_SHARE REPORT_DIR (see k6/README.md)',
  ].join('\n');
}

function fail(message: string, code: number): never {
  console.error(message);
  process.exit(code);
}

interface Invocation {
  scenario: string;
  shape: string | undefined;
  k6Flags: string[];
}

function parseArgs(argv: string[]): Invocation {
  const flagStart = argv.findIndex((arg) => arg.startsWith('-'));
  const words = flagStart === -1 ? argv : argv.slice(0, flagStart);
  const k6Flags = flagStart === -1 ? [] : argv.slice(flagStart);
  const [first, second, ...rest] = words;
  if (!first || rest.length > 0) fail(usage(), 2);
  const [scenario, shape] = !SCENARIOS.includes(first) && isShapeName(first) && !second ? ['mix', first] : [first, second];
  if (!SCENARIOS.includes(scenario)) fail(`Unknown scenario "${scenario}".\n${usage()}`, 2);
  if (shape !== undefined && !isShapeName(shape)) fail(`Unknown shape "${shape}".\n${usage()}`, 2);
  return { scenario, shape, k6Flags };
}

function k6Version(): [number, number] | null {
  const probe = spawnSync('k6', ['version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return null;
  const match = /v(\d+)\.(\d+)\.\d+/.exec(probe.stdout);
  if (!match) fail(`Could not read the version of k6 from: ${probe.stdout.trim()}`, 1);
  return [Number(match[1]), Number(match[2])];
}

function atLeast(version: readonly [number, number], minimum: readonly [number, number]): boolean {
  return version[0] !== minimum[0] ? version[0] > minimum[0] : version[1] >= minimum[1];
}

/** Where the customers come from: DATASET, else the generator's default manifest, else SHOP_ID. */
function datasetEnv(): Record<string, string> {
  if (process.env.DATASET) return { DATASET: resolve(process.env.DATASET) };
  if (process.env.SHOP_ID) return {};
  const manifest = resolve(repoRoot, DEFAULT_MANIFEST_PATH);
  if (!existsSync(manifest)) {
    fail(
      `No dataset: ${DEFAULT_MANIFEST_PATH} does not exist. Load one into the stack with\n` +
        '  npm run generate -- --customers 1000 --transactions 100000\n' +
        'or set DATASET to a manifest, or SHOP_ID, KIOSK_KEYS, STAFF_LOGINS and CUSTOMER_PIN for one shop.',
      1,
    );
  }
  return { DATASET: manifest };
}

function main(): void {
  const { scenario, shape, k6Flags } = parseArgs(process.argv.slice(2));
  const version = k6Version();
  if (!version) fail(INSTALL_HELP, 1);
  if (!atLeast(version, TYPESCRIPT_FLAG_SINCE)) {
    fail(`k6 v${version.join('.')} cannot run TypeScript; upgrade to ${TYPESCRIPT_FLAG_SINCE.join('.')} or newer.\n\n${INSTALL_HELP}`, 1);
  }

  const keys = stackKeys();
  const reportDir = process.env.REPORT_DIR ?? 'reports/load';
  const env: Record<string, string> = {
    API_URL: process.env.API_URL ?? 'http://127.0.0.1:54321',
    ANON_KEY: keys.anonKey,
    SERVICE_ROLE_KEY: keys.serviceRoleKey,
    REPORT_DIR: reportDir,
    ...datasetEnv(),
    ...(shape ? { SHAPE: shape } : {}),
  };
  // k6 writes the summary file but does not create its folder.
  mkdirSync(resolve(repoRoot, reportDir), { recursive: true });

  const args = [
    'run',
    ...(atLeast(version, TYPESCRIPT_NATIVE_SINCE) ? [] : ['--compatibility-mode=experimental_enhanced']),
    ...Object.entries(env).flatMap(([name, value]) => ['-e', `${name}=${value}`]),
    ...k6Flags,
    join('k6', 'scenarios', `${scenario}.ts`),
  ];
  console.log(`k6 ${args.map((arg) => arg.replace(/^(ANON_KEY|SERVICE_ROLE_KEY)=.*/, '$1=…')).join(' ')}`);
  const child = spawn('k6', args, { cwd: repoRoot, stdio: 'inherit' });
  // Ctrl-C reaches k6 through the terminal; k6 then stops, runs teardown and writes the summary.
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

main();
