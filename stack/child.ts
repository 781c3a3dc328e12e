import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';

export interface ChildExit {
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the stack asked the child to stop; false means it died on its own. */
  expected: boolean;
}

/** A long-running child of the stack: its output goes to a log file, its exit is never silent. */
export interface SupervisedChild {
  name: string;
  process: ChildProcess;
  logFile: string;
  exited: Promise<ChildExit>;
  stop(): Promise<ChildExit>;
}

export function superviseProcess(
  name: string,
  child: ChildProcess,
  options: {
    logFile: string;
    /** False when something else already writes the child's output to the log. */
    captureOutput?: boolean;
    /** How to ask this child to stop; SIGTERM unless it needs another signal. */
    stopChild?: () => Promise<unknown>;
  },
): SupervisedChild {
  let stopping = false;
  const { logFile } = options;
  const stopChild = options.stopChild ?? (async () => child.kill('SIGTERM'));
  const log = createWriteStream(logFile, { flags: 'a' });
  if (options.captureOutput !== false) {
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
  }
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => {
      log.end();
      resolve({ name, code, signal, expected: stopping });
    });
    child.once('error', (error) => {
      log.end(`spawn error: ${error.message}\n`);
      resolve({ name, code: null, signal: null, expected: stopping });
    });
  });
  return {
    name,
    process: child,
    logFile,
    exited,
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) {
        void stopChild();
        // A child that ignores SIGTERM must not keep the stack (or a test run) alive.
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        timer.unref();
        const exit = await exited;
        clearTimeout(timer);
        return exit;
      }
      return exited;
    },
  };
}

export function spawnSupervised(
  name: string,
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; logFile: string },
): SupervisedChild {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return superviseProcess(name, child, { logFile: options.logFile });
}

/** Runs a command to completion; a non-zero exit throws with the command's own output. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}

/** Polls until `probe` resolves true; the child's early death or the deadline fails fast. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; child?: SupervisedChild },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let died: ChildExit | undefined;
  void options.child?.exited.then((exit) => (died = exit));
  for (;;) {
    if (died) throw new Error(`${what}: ${died.name} exited (code ${died.code}, signal ${died.signal}) while starting; see ${options.child!.logFile}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${options.timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
