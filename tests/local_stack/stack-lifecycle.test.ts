import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from '@supabase/supabase-js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEMO } from '../../stack/demo.ts';
import { startStack, type RunningStack } from '../../stack/stack.ts';
import { openScreen } from '../realtime/support.ts';
import { clientOptions, createShopWithStaff } from '../support/index.ts';

async function query<T extends pg.QueryResultRow>(dbUrl: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('the launcher on its own data folder', () => {
  let dataDir: string;
  let stack: RunningStack | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'comings-lifecycle-'));
  });
  afterAll(async () => {
    await stack?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('a first start bootstraps, migrates and seeds the demo shop whose balances equal its ledger', async () => {
    stack = await startStack({ dataDir, ports: 'free' });
    expect(stack.database).toEqual({ created: true, seed: 'seeded' });

    const owner = createClient(stack.apiUrl, stack.keys.anonKey, clientOptions);
    const login = DEMO.logins.find((l) => l.role === 'owner')!;
    const signedIn = await owner.auth.signInWithPassword({ email: login.email, password: login.password });
    expect(signedIn.error).toBeNull();

    const shops = await owner.from('shops').select('name');
    expect(shops.data).toEqual([{ name: DEMO.shopName }]);
    const customers = await owner.from('customers').select('name, phone, current_balance').order('phone');
    expect(customers.data).toEqual(
      DEMO.customers.map((c) => ({ name: c.name, phone: c.phone, current_balance: c.balance })),
    );
    const mismatches = await query(stack.dbUrl, 'select * from public.reconcile_balances()');
    expect(mismatches).toEqual([]);
    const ledger = await query<{ type: string; n: string }>(
      stack.dbUrl,
      'select type, count(*) as n from public.transactions group by type order by type',
    );
    expect(ledger).toEqual([
      { type: 'charge', n: '4' },
      { type: 'deduct', n: '4' },
      { type: 'deduct_cancel', n: '1' },
    ]);
  });

  test('an invitation mail goes to logs/auth.log, where `supabase start` would catch it, with its link', async () => {
    const address = `invited-${Date.now()}@test.comings.kr`;
    const admin = createClient(stack!.apiUrl, stack!.keys.serviceRoleKey, clientOptions);
    expect((await admin.auth.admin.inviteUserByEmail(address)).error).toBeNull();
    const [{ confirmation_token: token }] = await query<{ confirmation_token: string }>(
      stack!.dbUrl,
      `select confirmation_token from auth.users where email = '${address}'`,
    );
    const log = await readFile(path.join(dataDir, 'logs', 'auth.log'), 'utf8');
    expect(log).toContain(
      `mail to ${address}: You have been invited: ${stack!.apiUrl}/auth/v1/verify?token=${token}&type=invite&redirect_to=http%3A%2F%2F127.0.0.1%3A3000`,
    );
  });

  test('a restart keeps the data and neither bootstraps nor seeds again', async () => {
    const before = await query<{ count: string }>(stack!.dbUrl, 'select count(*) from public.transactions');
    // As a folder bootstrapped before auth.users had GoTrue's invitation columns.
    await query(stack!.dbUrl, 'alter table auth.users drop column invited_at, drop column confirmation_sent_at');
    await stack!.stop();
    stack = await startStack({ dataDir, ports: 'free' });
    expect(stack.database).toEqual({ created: false, seed: 'kept' });
    const after = await query<{ count: string }>(stack.dbUrl, 'select count(*) from public.transactions');
    expect(after).toEqual(before);
    expect(after).toEqual([{ count: '9' }]);
    const admin = createClient(stack.apiUrl, stack.keys.serviceRoleKey, clientOptions);
    expect((await admin.auth.admin.inviteUserByEmail(`after-restart-${Date.now()}@test.comings.kr`)).error).toBeNull();
  });

  test('a folder whose broadcasts a trigger copied into logical messages reads them from Realtime\'s publication after a restart', async () => {
    // As a folder bootstrapped when a trigger wrote each broadcast again as a logical message, for a
    // publication that named no table.
    await query(
      stack!.dbUrl,
      `drop publication supabase_realtime_messages_publication;
       create publication realtime_local_messages;
       create function realtime.notify_local_server() returns trigger language plpgsql as $$
       begin
         perform pg_catalog.pg_logical_emit_message(true, 'realtime_local_messages', new.id::text);
         return null;
       end $$;
       create trigger messages_notify_local_server after insert on realtime.messages
         for each row when (new.extension = 'broadcast') execute function realtime.notify_local_server();`,
    );
    await stack!.stop();
    stack = await startStack({ dataDir, ports: 'free' });

    const [delivery] = await query<{ triggers: string[]; function_gone: boolean }>(
      stack.dbUrl,
      `select array(select tgname::text from pg_catalog.pg_trigger
                     where tgrelid = 'realtime.messages'::regclass and not tgisinternal) as triggers,
              to_regprocedure('realtime.notify_local_server()') is null as function_gone`,
    );
    expect(delivery).toEqual({ triggers: [], function_gone: true });
    const publications = await query(
      stack.dbUrl,
      `select p.pubname, p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate, t.schemaname, t.tablename
         from pg_catalog.pg_publication p left join pg_catalog.pg_publication_tables t using (pubname)
        order by p.pubname`,
    );
    expect(publications).toEqual([{
      pubname: 'supabase_realtime_messages_publication',
      pubinsert: true, pubupdate: false, pubdelete: false, pubtruncate: false,
      schemaname: 'realtime', tablename: 'messages',
    }]);

    // The shop's live screen hears a broadcast committed after the upgrade.
    const owner = createClient(stack.apiUrl, stack.keys.anonKey, clientOptions);
    const login = DEMO.logins.find((l) => l.role === 'owner')!;
    expect((await owner.auth.signInWithPassword({ email: login.email, password: login.password })).error).toBeNull();
    const shop = (await owner.from('shops').select('id').single()).data!;
    const screen = await openScreen(owner, shop.id);
    try {
      expect(screen.status).toBe('SUBSCRIBED');
      await query(stack.dbUrl, `select realtime.send('{"note": "after the upgrade"}', 'movement', 'shop:${shop.id}', true)`);
      const [heard] = await screen.waitFor(1);
      expect(heard.payload).toEqual({ note: 'after the upgrade', id: heard.meta!.id });
    } finally {
      await screen.close();
    }
  });

  test('a broadcast stream that fails is told once, with its cause, and comes back when the cause is gone', async () => {
    const warnings: string[] = [];
    await stack!.stop();
    stack = await startStack({ dataDir, ports: 'free', warn: (line) => warnings.push(line) });
    const owner = createClient(stack.apiUrl, stack.keys.anonKey, clientOptions);
    const login = DEMO.logins.find((l) => l.role === 'owner')!;
    expect((await owner.auth.signInWithPassword({ email: login.email, password: login.password })).error).toBeNull();
    const shop = (await owner.from('shops').select('id').single()).data!;
    const send = (note: string) => query(stack!.dbUrl, `select realtime.send('{"note": "${note}"}', 'movement', 'shop:${shop.id}', true)`);
    const told = () => warnings.filter((line) => line.startsWith('realtime: the broadcast stream stopped'));

    // Without its publication, pgoutput refuses to decode: the stream fails at every change it meets.
    await query(stack.dbUrl, 'drop publication supabase_realtime_messages_publication');
    for (let n = 0; n < 20 && told().length === 0; n++) {
      await send(`lost ${n}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await send('lost again');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(told()).toHaveLength(1);
    expect(told()[0]).toMatch(/supabase_realtime_messages_publication.*; reconnecting$/);

    await query(stack.dbUrl, "create publication supabase_realtime_messages_publication for table realtime.messages with (publish = 'insert')");
    const screen = await openScreen(owner, shop.id);
    try {
      expect(screen.status).toBe('SUBSCRIBED');
      // The reader reconnects every 500 ms while it fails; a broadcast a little later reaches it.
      let heard: Awaited<ReturnType<typeof screen.waitFor>> = [];
      for (let n = 0; n < 10 && heard.length === 0; n++) {
        await send('back');
        heard = await screen.waitFor(1, 1_000).catch(() => []);
      }
      expect(heard[0]?.payload).toMatchObject({ note: 'back' });
    } finally {
      await screen.close();
    }
    expect(told()).toHaveLength(1);
  });

  test('a reset wipes what was added and rebuilds only the demo data', async () => {
    await query(stack!.dbUrl, `insert into public.shops (name) values ('지워질 가게')`);
    await stack!.stop();
    stack = await startStack({ dataDir, ports: 'free', reset: true });
    expect(stack.database).toEqual({ created: true, seed: 'seeded' });
    const shops = await query<{ name: string }>(stack.dbUrl, 'select name from public.shops order by name');
    expect(shops).toEqual([{ name: DEMO.shopName }]);
  });

  test('the migration history is the Supabase CLI\'s own table, one row per migration file', async () => {
    const history = await query<{ n: string }>(
      stack!.dbUrl,
      'select count(*) as n from supabase_migrations.schema_migrations',
    );
    const { readdir } = await import('node:fs/promises');
    const files = (await readdir(path.resolve(import.meta.dirname, '../../supabase/migrations'))).filter((f) =>
      f.endsWith('.sql'),
    );
    expect(Number(history[0].n)).toBe(files.length);
  });

  test('a child that dies on its own is restarted with a backoff, said loudly; one that keeps dying stops the stack', async () => {
    await stack!.stop();
    const warnings: string[] = [];
    // Three deaths a minute instead of five, so that the test kills less.
    stack = await startStack({
      dataDir,
      ports: 'free',
      supervision: { maxDeaths: 3, windowMs: 60_000, firstBackoffMs: 100 },
      warn: (line) => warnings.push(line),
    });
    const running = stack;
    let gaveUp: unknown = null;
    void running.died.then((exit) => (gaveUp = exit));
    const { execFileSync } = await import('node:child_process');
    const killPostgrest = () => {
      const pid = execFileSync('pgrep', ['-f', `postgrest ${running.dataDir}/postgrest.conf`]).toString().trim();
      process.kill(Number(pid), 'SIGKILL');
    };

    for (const death of [1, 2]) {
      const restarted = running.nextRestart('postgrest');
      killPostgrest();
      const restart = await restarted;
      expect([restart.service, restart.exit.signal, restart.exit.expected, restart.deathsInWindow, restart.backoffMs]).toEqual([
        'postgrest', 'SIGKILL', false, death, 100 * 2 ** (death - 1),
      ]);
      // Back without anyone's help: the REST root answers again, and the stack is not dead.
      expect((await fetch(`${running.restUrl}/`)).status).toBe(200);
      expect(gaveUp).toBeNull();
    }
    expect(warnings.filter((line) => line.startsWith('!!! postgrest died (exit code null, signal SIGKILL'))).toHaveLength(2);
    const supervisorLog = await readFile(path.join(running.dataDir, 'logs', 'supervisor.log'), 'utf8');
    expect(supervisorLog.match(/postgrest restarted/g)).toHaveLength(2);

    killPostgrest();
    const death = await running.died;
    expect(death).toEqual({ name: 'postgrest', code: null, signal: 'SIGKILL', expected: false });
    expect(warnings.at(-1)).toMatch(/^!!! postgrest died 3 times within 60 s .*: not restarting it again$/);
    expect(running.restarts).toHaveLength(2);
  });
});

describe('the shared fixtures', () => {
  test('createShopWithStaff gives a shop whose three members each read it through RLS', async () => {
    const { shop, owner, manager, staff } = await createShopWithStaff({ maxBalance: 500_000 });
    expect(shop.max_balance).toBe(500_000);
    for (const member of [owner, manager, staff]) {
      const { data, error } = await member.client.from('shops').select('id, max_balance');
      expect(error).toBeNull();
      expect(data).toEqual([{ id: shop.id, max_balance: 500_000 }]);
    }
    const roles = await owner.client.from('shop_members').select('user_id, role').eq('shop_id', shop.id).order('role');
    expect(roles.data).toEqual([
      { user_id: manager.id, role: 'manager' },
      { user_id: owner.id, role: 'owner' },
      { user_id: staff.id, role: 'staff' },
    ]);
  });
});
