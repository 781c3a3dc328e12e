/**
 * The one error table in its three places: README's "Error codes", `ERROR_STATUS` of the functions and
 * `private.raise_error` in SQL must give every code the same status, so that a code added in one
 * place and forgotten in another fails here rather than answering 500.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ERROR_STATUS } from '../../functions/_shared/errors.ts';
import { closeDb, db } from '../support/index.ts';

afterAll(closeDb);

// Refusals decided by the edge functions before any SQL runs, and the outages they name when SQL could
// not answer at all (PostgREST down or too slow).
const FUNCTION_ONLY = new Set([
  'invalid_json', 'unsupported_media_type', 'payload_too_large', 'route_not_found', 'method_not_allowed',
  'service_unavailable', 'upstream_timeout',
]);

function readmeStatuses(): Record<string, number> {
  const readme = readFileSync(path.join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.split('\n## Error codes\n')[1]?.split('\n## ')[0] ?? '';
  const statuses: Record<string, number> = {};
  for (const line of section.split('\n').filter((row) => /^\| `/.test(row))) {
    const [codes, status] = line.slice(1).split('|').map((cell) => cell.trim());
    for (const [, code] of codes.matchAll(/`([a-z_]+)`/g)) statuses[code] = Number(status);
  }
  return statuses;
}

it("README's error table, ERROR_STATUS and private.raise_error agree on every code", async () => {
  expect(readmeStatuses()).toEqual({ ...ERROR_STATUS });
  // raise_error always raises: its DETAIL carries the status PostgREST will answer with.
  const rows: { code: string; status: number }[] = [];
  for (const code of Object.keys(ERROR_STATUS).filter((name) => !FUNCTION_ONLY.has(name))) {
    const error = await db().query('select private.raise_error($1, $2)', [code, 'probe']).then(() => null, (caught: { detail?: string }) => caught);
    rows.push({ code, status: JSON.parse(error?.detail ?? '{}').status });
  }
  expect(Object.fromEntries(rows.map((row) => [row.code, row.status]))).toEqual(
    Object.fromEntries(Object.entries(ERROR_STATUS).filter(([code]) => !FUNCTION_ONLY.has(code))),
  );
});
