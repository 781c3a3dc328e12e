// `npm start` (and `npm run db:reset`, which passes --reset): the local Supabase stack in the foreground.
import { DEMO } from './demo.ts';
import { cliStackOptions } from './options.ts';
import { startStack, type RunningStack } from './stack.ts';
import { takeOverShutdownSignals } from './signals.ts';
import { readStatus, removeStatus, writeStatus } from './status-file.ts';


function statusTable(stack: RunningStack): string {
  const rows: [string, string][] = [
    ['API URL', stack.apiUrl],
    ['REST URL', `${stack.apiUrl}/rest/v1`],
    ['Functions URL', `${stack.apiUrl}/functions/v1`],
    ['DB URL', stack.dbUrl],
    ['JWT secret', stack.keys.jwtSecret],
    ['anon key', stack.keys.anonKey],
    ['service_role key', stack.keys.serviceRoleKey],
  ];
  if (stack.database.seed !== 'schema-missing') {
    rows.push(['Demo shop', DEMO.shopName]);
    for (const login of DEMO.logins) rows.push([`Demo ${login.role}`, `${login.email} / ${login.password}`]);
    rows.push([`Demo kiosk key`, `${DEMO.kiosk.deviceKey} (${DEMO.kiosk.name}, header X-Kiosk-Key)`]);
    for (const customer of DEMO.customers) {
      rows.push([`Demo customer`, `${customer.name} ${customer.phone} PIN ${customer.pin}`]);
    }
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${label.padStart(width)}: ${value}`).join('\n');
}

async function main(): Promise<void> {
  const reset = process.argv.includes('--reset');
  const { dataDir, ports } = cliStackOptions();
  const running = await readStatus(dataDir);
  if (running) {
    throw new Error(`A stack already runs on ${dataDir} (pid ${running.pid}, ${running.apiUrl}); stop it first.`);
  }

  console.log(reset ? `Wiping ${dataDir} and rebuilding the local stack...` : `Starting the local stack (${dataDir})...`);
  const stack = await startStack({ dataDir, ports, reset, log: (line) => console.log(`  ${line}`) });
  await writeStatus(stack);

  let shuttingDown = false;
  const shutdown = async (reason: string, exitCode: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    console.log(`\n${reason}: stopping the stack...`);
    await stack.stop();
    await removeStatus(dataDir);
    console.log('Stopped.');
    process.exit(exitCode);
  };
  takeOverShutdownSignals((signal) => void shutdown(signal, 0));
  // A single death is restarted by the supervisor (said on stderr); only a child that keeps dying ends the stack.
  void stack.died.then((exit) => {
    console.error(
      `\n!!! ${exit.name} keeps dying (last: exit code ${exit.code}, signal ${exit.signal}); its log is in ${dataDir}/logs/${exit.name}.log`,
    );
    void shutdown(`${exit.name} kept dying`, 1);
  });

  console.log(`\nLocal Comings stack is running (started in ${(stack.startupMs / 1000).toFixed(1)} s).\n`);
  console.log(statusTable(stack));
  if (stack.database.seed === 'schema-missing') {
    console.log('\n  No demo data yet: supabase/migrations has not created the tables.');
  }
  console.log(`\nLogs: ${dataDir}/logs. \`npm run -s status -- -o env\` prints the env lines. Ctrl-C stops.`);
}

main().catch((error: unknown) => {
  console.error(`\nThe stack did not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
