// The two ways the benchmark offers load.
//
// Closed loop: a fixed number of clients, each sending its next request when the previous one is
// answered. It finds what the path can carry at that concurrency (the throughput the ratios compare).
//
// Open loop: requests are due at a fixed rate whatever the answers do, as shoppers arrive. Latency
// is counted from when a request was due, not from when it could be sent, so a stack that falls
// behind shows the queue it built instead of quietly lowering the load (coordinated omission), and
// the requests it never got to are counted as unsent.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Outcome } from '../../../k6/lib/journey-rules.ts';
import { PhaseRecorder } from './stats.ts';

export interface Answer {
  /** The kind of request, for the per-request breakdown. */
  name: string;
  outcome: Outcome;
  /** Why an error is one (status, code, a slice of the body). */
  why?: string;
}

/** One request. `client` is the index of the closed-loop client sending it (0 in the open loop). */
export type Iteration = (client: number) => Promise<Answer>;

export interface Measured {
  recorder: PhaseRecorder;
  durationMs: number;
  startedAt: Date;
  /** Open loop only: requests that were due but never sent because too many were in flight. */
  unsent: number;
  /** Successful answers per kind of request, warm-up included: what the ledger must have gained. */
  okByName: Record<string, number>;
  /** Every answer, warm-up included: what the stack did work for. */
  answered: number;
}

function answerCounter() {
  const counted = { okByName: {} as Record<string, number>, answered: 0 };
  return {
    counted,
    count(answer: Answer) {
      counted.answered += 1;
      if (answer.outcome === 'ok') counted.okByName[answer.name] = (counted.okByName[answer.name] ?? 0) + 1;
    },
  };
}

async function answerOf(iteration: Iteration, client: number): Promise<Answer> {
  try {
    return await iteration(client);
  } catch (error) {
    return { name: 'exception', outcome: 'error', why: String(error instanceof Error ? error.message : error).slice(0, 200) };
  }
}

export interface ClosedLoopOptions {
  clients: number;
  warmupMs: number;
  durationMs: number;
}

export async function closedLoop(iteration: Iteration, options: ClosedLoopOptions): Promise<Measured> {
  const warmupEnd = performance.now() + options.warmupMs;
  const end = warmupEnd + options.durationMs;
  const recorder = new PhaseRecorder(warmupEnd);
  const startedAt = new Date(Date.now() + options.warmupMs);
  const ok = answerCounter();
  const client = async (index: number) => {
    for (let sentAt = performance.now(); sentAt < end; sentAt = performance.now()) {
      const answer = await answerOf(iteration, index);
      ok.count(answer);
      // Requests sent while warming up (connections, caches, JIT) are not measured.
      if (sentAt >= warmupEnd) recorder.record(answer.name, sentAt, performance.now() - sentAt, answer.outcome, answer.why);
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, index) => client(index)));
  return { recorder, durationMs: options.durationMs, startedAt, unsent: 0, ...ok.counted };
}

export interface OpenLoopOptions {
  /** Requests per second. */
  rate: number;
  warmupMs: number;
  durationMs: number;
  /** More in flight than this and due requests wait (their wait counts in their latency). */
  maxInFlight: number;
}

export async function openLoop(iteration: Iteration, options: OpenLoopOptions): Promise<Measured> {
  const start = performance.now();
  const warmupEnd = start + options.warmupMs;
  const end = warmupEnd + options.durationMs;
  const recorder = new PhaseRecorder(warmupEnd);
  const startedAt = new Date(Date.now() + options.warmupMs);
  const interval = 1000 / options.rate;
  const inFlight = new Set<Promise<void>>();
  const ok = answerCounter();
  let next = 0;

  // Measured are the requests sent after the warm-up: when the stack falls behind, those are the
  // ones that waited here, and their wait is in their latency.
  const send = (dueAt: number) => {
    const sentAt = performance.now();
    const sent = answerOf(iteration, 0).then((answer) => {
      ok.count(answer);
      if (sentAt >= warmupEnd) recorder.record(answer.name, sentAt, performance.now() - dueAt, answer.outcome, answer.why);
      inFlight.delete(sent);
    });
    inFlight.add(sent);
  };

  for (let now = performance.now(); now < end; now = performance.now()) {
    while (start + next * interval <= now && inFlight.size < options.maxInFlight) {
      send(start + next * interval);
      next += 1;
    }
    // A timer tick is about a millisecond: at 1,000 req/s a request or two are due per tick.
    await sleep(1);
  }
  const due = Math.floor(options.durationMs / interval + options.warmupMs / interval);
  await Promise.all(inFlight);
  return { recorder, durationMs: options.durationMs, startedAt, unsent: Math.max(0, due - next), ...ok.counted };
}
