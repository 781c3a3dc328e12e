// The local Realtime reads the broadcasts (the inserts of realtime.messages) from a logical replication
// slot as hosted Realtime does: streamed by a walsender (START_REPLICATION), which decodes each WAL
// record once and sends a transaction at its commit. Until then it polled the slot with SQL, and every
// read decoded the WAL again from the slot's restart point (issue 13). A streaming reader must confirm
// what it delivered: PostgreSQL keeps the WAL after the confirmed position for the slot, and a reader
// that stayed silent would be ended after wal_sender_timeout.
import { expect, test } from 'vitest';
import { db } from '../support/index.ts';
import { shopWithCustomer } from '../functions/http.ts';

const SLOT = 'realtime_local_messages';

test("the local Realtime streams its slot from one walsender of its own, which holds the slot for its session only", async () => {
  const pool = db();
  const { rows: senders } = await pool.query<{ pid: number; state: string }>(
    `select pid, state from pg_catalog.pg_stat_replication where application_name = 'realtime (local)'`,
  );
  expect(senders).toEqual([{ pid: expect.any(Number), state: 'streaming' }]);
  const { rows: slots } = await pool.query(
    `select slot_type, temporary, plugin, database, active, active_pid
       from pg_catalog.pg_replication_slots where slot_name = $1`,
    [SLOT],
  );
  expect(slots).toEqual([
    { slot_type: 'logical', temporary: true, plugin: 'pgoutput', database: 'postgres', active: true, active_pid: senders[0]!.pid },
  ]);
});

test("the local Realtime confirms the movements it delivered: the slot's confirmed position passes them within seconds", async () => {
  const { owner, customer } = await shopWithCustomer();
  const pool = db();
  const start = await pool.query<{ lsn: string }>('select pg_catalog.pg_current_wal_lsn()::text as lsn');

  // Sixty movements, each broadcast: over 100 kB of WAL for the walsender to decode (about 2.4 kB each).
  for (let n = 0; n < 60; n++) {
    await pool.query('select public.charge_balance($1, $2, 1000, $3)', [owner.id, customer.id, `slot-${customer.id}-${n}`]);
  }
  const end = await pool.query<{ lsn: string; written: string }>(
    'select pg_catalog.pg_current_wal_lsn()::text as lsn, pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), $1)::text as written',
    [start.rows[0]!.lsn],
  );
  expect(Number(end.rows[0]!.written)).toBeGreaterThan(100_000);

  const deadline = Date.now() + 5_000;
  let confirmedPast = false;
  while (!confirmedPast && Date.now() < deadline) {
    const { rows } = await pool.query<{ confirmed_past: boolean }>(
      `select confirmed_flush_lsn >= $2::pg_lsn as confirmed_past
         from pg_catalog.pg_replication_slots where slot_name = $1`,
      [SLOT, end.rows[0]!.lsn],
    );
    expect(rows).toHaveLength(1);
    confirmedPast = rows[0]!.confirmed_past;
    if (!confirmedPast) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(confirmedPast).toBe(true);
});
