// `npm run chaos`: the long crash-and-retry drill (several rounds of SIGKILL on PostgreSQL, PostgREST and
// the functions host, each restarted by the supervisor, and a freeze of PostgREST past the functions'
// bound, under money traffic). Options: --duration <s> --rounds <n> --concurrency <n>.
import { parseArgs } from 'node:util';
import { formatReport, runChaos, violations } from './driver.ts';
import { takeOverShutdownSignals } from '../../stack/signals.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
  },
});
const positive = (name: string, value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`--${name} ${value} is not a positive integer`);
  return parsed;
};
const durationMs = positive('duration', values.duration) * 1000;
const crashRounds = positive('rounds', values.rounds);
// Spread the crashes over the run: three kills and a freeze per round, with traffic before, between and after them.
const gapMs = Math.max(1_500, Math.floor(durationMs / (crashRounds * 4 + 1)) - 1_000);

// Ctrl-C ends the drill early instead of leaving PostgREST and Deno behind: the ledger is still checked,
// then the whole stack is stopped; a second Ctrl-C exits at once.
const interrupted = new AbortController();
takeOverShutdownSignals((signal) => {
  if (interrupted.signal.aborted) process.exit(130);
  console.log(`\n${signal}: ending the drill early`);
  interrupted.abort();
});

const report = await runChaos({
  durationMs,
  crashRounds,
  concurrency: positive('concurrency', values.concurrency),
  gapMs,
  signal: interrupted.signal,
  log: (line) => console.log(`  ${line}`),
});
console.log(`\nCrash and retry: ${formatReport(report).replaceAll('\n', '\n  ')}`);
if (interrupted.signal.aborted) console.log(`\nInterrupted after ${report.crashes.length} crashes: the figures cover the traffic until then.`);
const broken = violations(report);
if (broken.length > 0) {
  console.error(`\nFAILED:\n  ${broken.join('\n  ')}`);
  process.exit(1);
}
console.log('\nPASSED: nothing lost, nothing applied twice, balances equal the ledger.');
