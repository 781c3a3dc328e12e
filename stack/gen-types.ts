// `npm run gen:types [-- --check]`: the `Database` types that `supabase gen types typescript` makes from
// the migrated schema, written to functions/_shared/database.types.ts (the functions and the tests import
// them). With --check it writes nothing and exits 1 when the committed file no longer matches.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT, supabaseCli } from './database.ts';
import { startStack } from './stack.ts';

export const TYPES_FILE = path.join(PROJECT_ROOT, 'functions', '_shared', 'database.types.ts');

export async function generateTypes(dbUrl: string): Promise<string> {
  return supabaseCli(['gen', 'types', 'typescript', `--remote=${dbUrl}`, '--schema', 'public']).then(
    // The CLI mixes its warnings into the output stream; the types start at the first export.
    (output) => output.slice(output.indexOf('export type Json')),
  );
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  // A fresh database migrated from supabase/migrations, never whatever a developer's stack holds.
  const dataDir = await mkdtemp(path.join(tmpdir(), 'comings-gen-types-'));
  const stack = await startStack({ dataDir, ports: 'free' });
  try {
    const types = await generateTypes(stack.dbUrl);
    if (!check) {
      await writeFile(TYPES_FILE, types);
      console.log(`wrote ${path.relative(PROJECT_ROOT, TYPES_FILE)}`);
      return;
    }
    const committed = await readFile(TYPES_FILE, 'utf8').catch(() => '');
    if (committed.trim() !== types.trim()) {
      console.error(`${path.relative(PROJECT_ROOT, TYPES_FILE)} does not match the migrations: run \`npm run gen:types\`.`);
      process.exitCode = 1;
    } else console.log('database types match the migrations');
  } finally {
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

// Imported by the drift test for generateTypes(); run as a script by `npm run gen:types`.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
