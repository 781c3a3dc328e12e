// What the load scripts (`npm run generate`, `bench`, `bench:profile`, `bench:reads`, `bench:shops`) share as commands:
// reading their options (each refuses a bad value with the same sentence), saying how they were
// called and on what machine, writing their JSON report, and failing with a message and exit code 1.

import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../stack/database.ts';

/** Each option's default: a string option takes a value (`--clients 32`), a boolean one is a flag (`--own-stack`). */
export type OptionDefaults = Record<string, string | boolean>;

export interface CommandLine<D extends OptionDefaults> {
  /** A whole number in min..max, or an error naming the option. */
  integer(name: keyof D & string, min: number, max: number): number;
  text(name: keyof D & string): string;
  flag(name: keyof D & string): boolean;
  /** A file the script writes, relative to the project root (npm runs scripts from there). */
  outPath(name: keyof D & string): string;
}

/** `raw` as a whole number in min..max, or an error naming `--name` (also for an item of a list option). */
export function integerOption(name: string, raw: unknown, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`--${name} must be an integer in ${min}..${max}, got ${String(raw)}`);
  }
  return value;
}

/** Reads `argv` strictly: an option not in `defaults` is refused. */
export function readCommandLine<D extends OptionDefaults>(argv: string[], defaults: D): CommandLine<D> {
  const options = Object.fromEntries(
    Object.entries(defaults).map(([name, value]) =>
      typeof value === 'boolean' ? [name, { type: 'boolean' as const, default: value }] : [name, { type: 'string' as const, default: value }],
    ),
  );
  const { values } = parseArgs({ args: argv, strict: true, options });
  const value = (name: string) => (values as Record<string, string | boolean | undefined>)[name];
  return {
    integer: (name, min, max) => integerOption(name, value(name), min, max),
    text: (name) => String(value(name)),
    flag: (name) => value(name) === true,
    outPath: (name) => path.resolve(PROJECT_ROOT, String(value(name))),
  };
}

/** How the script was called, as its report records it: `npm run bench -- --duration 2`. */
export function invocation(npmScript: string): string {
  return [`npm run ${npmScript}`, ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
}

/** The machine a report's figures come from; timings depend on how busy it was when the run began. */
export function machineFacts(loadAverageAtStart: number[]) {
  return {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    load_average_at_start: loadAverageAtStart.map((n) => Math.round(n * 100) / 100),
  };
}

/** Writes a report as indented JSON, making its folder. */
export async function writeReport(file: string, report: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
}

/**
 * On Ctrl-C (SIGINT) or SIGTERM: says so, runs `cleanup` (drop what the run made, stop a stack or a
 * server of its own, remove its folder), then exits 130 or 143. `npm run` and tsx pass a terminal's
 * Ctrl-C on as well: the same signal may come more than once, and cleans up once. Returns what
 * removes the handlers, for a script that cleans up more than one thing in turn.
 */
export function onInterrupt(log: (line: string) => void, cleanup: () => Promise<unknown>, doing = 'stopping'): () => void {
  let stopping = false;
  const interrupted = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`\n${signal}: ${doing}...`);
    void cleanup()
      .catch(() => undefined)
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  return () => {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  };
}

/** Runs a script's main: a failure prints its message (and, with `stack`, where it came from) and exits 1. */
export function runScript(main: () => Promise<void>, { stack = false } = {}): void {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (stack ? error.stack : error.message) : error);
    process.exitCode = 1;
  });
}
