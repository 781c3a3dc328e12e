// `npm run status [-- -o env|json]`: the running stack's URLs and keys, as `supabase status` prints them.
import { cliStackOptions } from './options.ts';
import { readStatus, statusEnvLines } from './status-file.ts';

async function main(): Promise<void> {
  const flag = process.argv.findIndex((arg) => arg === '-o' || arg === '--output');
  const format = flag === -1 ? 'pretty' : process.argv[flag + 1];
  const { dataDir } = cliStackOptions();
  const status = await readStatus(dataDir);
  if (!status) {
    console.error(`No local stack is running on ${dataDir}. Start it with \`npm start\`.`);
    process.exit(1);
  }
  if (format === 'env') console.log(statusEnvLines(status).join('\n'));
  else if (format === 'json') console.log(JSON.stringify(status, null, 2));
  else if (format === 'pretty') {
    for (const line of statusEnvLines(status)) {
      const [name, value] = line.split(/=(.*)/);
      console.log(`${name.padStart(16)}: ${value.slice(1, -1)}`);
    }
  } else {
    console.error(`Unknown output format ${format}: use env, json or pretty.`);
    process.exit(2);
  }
}

void main();
