// The local Realtime reads the broadcasts (the inserts of realtime.messages) from a logical replication
// slot, and every read decodes the WAL again from the slot's restart point. That point moves only past a
// record of the running transactions, which PostgreSQL logs every 15 s on its own: under load each read
// re-decoded up to 15 s of WAL, 43 % of a core at 1,000 deducts/s (issue 13). The reader logs one before
// each read, so the restart point stays about one read behind what it has confirmed.
import { expect, test } from 'vitest';
import { db } from '../support/index.ts';
import { shopWithCustomer } from '../functions/http.ts';

const SLOT = 'realtime_local_messages';

interface SlotPosition {
  read_past: boolean;
  behind: string;
}

test("the local Realtime's slot keeps its restart point near what it has read, so no read decodes the WAL twice over", async () => {
  const { owner, customer } = await shopWithCustomer();
  const pool = db();
  const start = await pool.query<{ lsn: string }>('select pg_catalog.pg_current_wal_lsn()::text as lsn');

  // Sixty movements, each broadcast: over 100 kB of WAL for the reader to decode (about 2.4 kB each
  // since a broadcast is its insert alone, no second copy as a logical message).
  for (let n = 0; n < 60; n++) {
    await pool.query('select public.charge_balance($1, $2, 1000, $3)', [owner.id, customer.id, `slot-${customer.id}-${n}`]);
  }
  const end = await pool.query<{ lsn: string; written: string }>(
    'select pg_catalog.pg_current_wal_lsn()::text as lsn, pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), $1)::text as written',
    [start.rows[0]!.lsn],
  );
  const written = Number(end.rows[0]!.written);
  expect(written).toBeGreaterThan(100_000);

  // Other test files write too, and a transaction still open holds the restart point at its start:
  // wait for a read past our movements that left the restart point close behind.
  const deadline = Date.now() + 10_000;
  let position: SlotPosition | undefined;
  while (Date.now() < deadline) {
    const { rows } = await pool.query<SlotPosition>(
      `select confirmed_flush_lsn >= $2::pg_lsn as read_past,
              pg_catalog.pg_wal_lsn_diff(confirmed_flush_lsn, restart_lsn)::text as behind
         from pg_catalog.pg_replication_slots where slot_name = $1`,
      [SLOT, end.rows[0]!.lsn],
    );
    expect(rows).toHaveLength(1);
    position = rows[0]!;
    if (position.read_past && Number(position.behind) < written / 2) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(position!.read_past).toBe(true);
  expect(Number(position!.behind)).toBeLessThan(written / 2);
});
