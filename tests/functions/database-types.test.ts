import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generateTypes, TYPES_FILE } from '../../stack/gen-types.ts';
import { stackEnv } from '../support/env.ts';

describe('functions/_shared/database.types.ts', () => {
  // The stack under test was migrated from supabase/migrations, so its schema is what they make.
  it('matches what supabase gen types makes from the migrated database (else run npm run gen:types)', async () => {
    const generated = await generateTypes(stackEnv().DB_URL);
    const committed = await readFile(TYPES_FILE, 'utf8');
    expect(committed.trim() === generated.trim(), 'run `npm run gen:types` and commit the result').toBe(true);
  }, 120_000);
});
