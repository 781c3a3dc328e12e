import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, test } from 'vitest';

const K6 = path.resolve(import.meta.dirname, '../../k6');

// k6 fetches a remote module when the run starts, before any request: one such import and a
// scenario cannot start offline, or wherever jslib.k6.io is unreachable.
test('no k6 script imports a module from the network', async () => {
  const files = (await readdir(K6, { recursive: true })).filter((file) => /\.(ts|js)$/.test(file) && !file.startsWith('run.'));
  expect(files.length).toBeGreaterThan(10);
  const remote: string[] = [];
  for (const file of files) {
    const source = await readFile(path.join(K6, file), 'utf8');
    for (const match of source.matchAll(/(?:from|import|require)\s*\(?\s*['"]([a-z]+:\/\/[^'"]+)['"]/g)) remote.push(`${file}: ${match[1]}`);
  }
  expect(remote).toEqual([]);
});
