// `npm run status [-- -o env|json|pretty]`: the running stack's URLs and keys, as `supabase status` prints them.
import { cliStackOptions } from './options.ts';
import { readStatus, statusEnvLines, statusValues } from './status-file.ts';

const USAGE = `Usage: npm run -s status -- [-o pretty|env|json]

Prints the URLs and keys of the stack that \`npm start\` runs (on STACK_DATA_DIR, default .stack/),
with the names \`supabase status\` uses: API_URL, DB_URL, REST_URL, FUNCTIONS_URL, ANON_KEY,
SERVICE_ROLE_KEY, JWT_SECRET. Every URL is the gateway's; the same values in each format.

  -o, --output pretty   a table (the default)
  -o, --output env      NAME="value" lines: eval "$(npm run -s status -- -o env)"
  -o, --output json     one JSON object with the same names
  -h, --help            this text

Exits with 1 when no stack is running, 2 on a bad argument.`;

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

/** The output format the arguments ask for. */
function outputFormat(args: string[]): 'pretty' | 'env' | 'json' | 'help' {
  let format: string = 'pretty';
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '-h' || arg === '--help') return 'help';
    if (arg === '-o' || arg === '--output') format = args[++i] ?? fail(`${arg} needs a format`);
    else if (arg.startsWith('--output=')) format = arg.slice('--output='.length);
    else fail(`Unknown argument ${arg}.`);
  }
  if (format !== 'pretty' && format !== 'env' && format !== 'json') fail(`Unknown output format ${format}: use pretty, env or json.`);
  return format;
}

async function main(): Promise<void> {
  const format = outputFormat(process.argv.slice(2));
  if (format === 'help') {
    console.log(USAGE);
    return;
  }
  const { dataDir } = cliStackOptions();
  const status = await readStatus(dataDir);
  if (!status) {
    console.error(`No local stack is running on ${dataDir}. Start it with \`npm start\`.`);
    process.exit(1);
  }
  const values = statusValues(status);
  if (format === 'env') console.log(statusEnvLines(status).join('\n'));
  else if (format === 'json') console.log(JSON.stringify(Object.fromEntries(values), null, 2));
  else for (const [name, value] of values) console.log(`${name.padStart(16)}: ${value}`);
}

void main();
