// `npm run lock:platforms [-- --check]`: the registry these machines reach serves only the linux-x64
// build of some of the stack's npm parts (Deno, PostgREST, the Supabase CLI), so `npm install` leaves
// their other platform builds out of package-lock.json, and `npm ci` then refuses the lock as out of
// sync. This writes the missing entries as npm itself would for a build of another platform: optional,
// with the os, cpu and libc that the package's name states, so npm ci skips them here and installs the
// right one on a Mac, Windows or arm64 machine. Run it after every `npm install`; `npm test` checks it.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from './database.ts';

const LOCK_FILE = path.join(PROJECT_ROOT, 'package-lock.json');

interface LockEntry {
  version?: string;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
  libc?: string[];
  optionalDependencies?: Record<string, string>;
}

interface Lock {
  packages: Record<string, LockEntry>;
}

const OS: Record<string, string> = { darwin: 'darwin', linux: 'linux', win32: 'win32', windows: 'win32' };
const CPU = new Set(['x64', 'arm64', 'ia32']);
const LIBC = new Set(['glibc', 'musl']);

/** The platform a build's name states, e.g. `@supabase/cli-linux-arm64-musl`; null when it states none. */
export function platformOf(name: string): Pick<LockEntry, 'os' | 'cpu' | 'libc'> | null {
  const tokens = name.split('/').pop()!.split('-');
  const os = tokens.find((token) => token in OS);
  const cpu = tokens.find((token) => CPU.has(token));
  if (!os || !cpu) return null;
  const libc = tokens.find((token) => LIBC.has(token));
  return { os: [OS[os]], cpu: [cpu], ...(libc ? { libc: [libc] } : {}) };
}

/** Names of the platform builds a package lists as optional but the lock lacks, with their entries. */
export function missingPlatformBuilds(lock: Lock): Map<string, LockEntry> {
  const missing = new Map<string, LockEntry>();
  for (const [location, entry] of Object.entries(lock.packages)) {
    for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
      const platform = platformOf(name);
      if (!platform || lock.packages[`node_modules/${name}`] || lock.packages[`${location}/node_modules/${name}`]) continue;
      missing.set(`node_modules/${name}`, { version, optional: true, ...platform });
    }
  }
  return missing;
}

async function main(): Promise<void> {
  const lock = JSON.parse(await readFile(LOCK_FILE, 'utf8')) as Lock;
  const missing = missingPlatformBuilds(lock);
  if (process.argv.includes('--check')) {
    if (missing.size > 0) {
      console.error(`package-lock.json lacks ${[...missing.keys()].join(', ')}: run \`npm run lock:platforms\`.`);
      process.exit(1);
    }
    console.log('package-lock.json lists every platform build');
    return;
  }
  for (const [location, entry] of missing) lock.packages[location] = entry;
  lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
  await writeFile(LOCK_FILE, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(`added ${missing.size} platform builds to package-lock.json`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
