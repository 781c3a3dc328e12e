/**
 * Makes `onSignal` the one handler of SIGINT, SIGTERM and SIGHUP, so that the supervisor owns the
 * shutdown order (gateway, PostgREST and Deno before PostgreSQL) and nothing exits half-way.
 * It must not use process.removeAllListeners: that also drops tsx's hidden handler, which tells tsx's
 * parent process that the signal was handled; without it the parent SIGKILLs this process about 60 ms
 * later, mid-shutdown. process.listeners() leaves that hidden handler out, so removing what it lists is safe.
 */
export function takeOverShutdownSignals(onSignal: (signal: NodeJS.Signals) => void): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    for (const listener of process.listeners(signal)) process.removeListener(signal, listener);
    process.on(signal, () => onSignal(signal));
  }
}
