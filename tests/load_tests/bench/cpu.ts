// Where the time goes: the CPU each part of the stack spends per request in a phase, read from
// /proc before and after it. Unlike req/s, CPU time per request hardly changes when other work
// shares the machine, so it says which hop costs what even on a busy 2-core box, and how many
// requests per second the cores could carry at most (cores x 1000 / CPU ms per request).
//
// The parts are found from the stack's ports: the gateway (and auth) is the process listening on
// API_URL's port, PostgREST and Deno are its children (as `npm start` and startStack spawn them),
// PostgreSQL is the postmaster on DB_URL's port with its backends. A stack on another machine has
// no /proc here: the profile is then left out.
//
// A phase's backends are counted whatever they do during the reading: alive (their utime), exited
// but not yet waited for (a zombie keeps its times) or waited for (the postmaster's cutime); the
// reading is repeated when the postmaster waited for one during it, and the phase waits for the
// backends of the connections it closed to be gone before its last reading (settle), so that their
// CPU, exit included, is the phase's and not the next one's.

import { readFileSync } from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { allPids, listeningPid, tcpSockets } from '../../support/tcp.ts';

export const COMPONENTS = ['gateway', 'functions', 'postgrest', 'postgres', 'driver'] as const;
export type Component = (typeof COMPONENTS)[number];

export interface CpuProfile {
  /** CPU milliseconds per measured request, per part of the stack and the load driver itself. */
  ms_per_request: Record<Component | 'total', number>;
  /** cores x 1000 / total: the most req/s these cores could give this work with nothing else running. */
  cpu_ceiling_rps: number;
}

export interface ProcStat {
  ppid: number;
  comm: string;
  /** R, S, D, Z (exited, not yet waited for by its parent), ... */
  state: string;
  /** utime + stime, in clock ticks. */
  own: number;
  /** cutime + cstime: children that exited and were waited for. */
  reaped: number;
}

/** The kernel's clock ticks per second (USER_HZ), in which /proc gives CPU times. */
export const TICKS_PER_SECOND = 100;

function procStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const fields = text.slice(close + 2).split(' ');
    // After the comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    return {
      ppid: Number(fields[1]),
      comm: text.slice(text.indexOf('(') + 1, close),
      state: fields[0]!,
      own: Number(fields[11]) + Number(fields[12]),
      reaped: Number(fields[13]) + Number(fields[14]),
    };
  } catch {
    return undefined;
  }
}

/** Where the meter reads processes: /proc, or a table a test writes. */
export interface ProcessTable {
  pids(): number[];
  stat(pid: number): ProcStat | undefined;
}

export const LINUX_PROCESSES: ProcessTable = { pids: allPids, stat: procStat };

function childrenOf(table: ProcessTable, parent: number): { pid: number; stat: ProcStat }[] {
  return table.pids().flatMap((pid) => {
    const stat = table.stat(pid);
    return stat && stat.ppid === parent ? [{ pid, stat }] : [];
  });
}

const isLocal = (url: string) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);

/** How long a reading waits for the backends a phase closed to be gone, before it counts without them. */
const SETTLE_TIMEOUT_MS = 5_000;
const POLL_MS = 5;

export class CpuMeter {
  constructor(
    private readonly gateway: number,
    private readonly postmaster: number,
    private readonly table: ProcessTable = LINUX_PROCESSES,
    private readonly driverMs: () => number = () => {
      const used = process.cpuUsage();
      return (used.user + used.system) / 1000;
    },
  ) {}

  /** A meter for the stack at these URLs, or undefined when its processes are not on this machine. */
  static locate(apiUrl: string, dbUrl: string): CpuMeter | undefined {
    if (process.platform !== 'linux' || !isLocal(apiUrl) || !isLocal(dbUrl)) return undefined;
    const sockets = tcpSockets();
    const gateway = listeningPid(Number(new URL(apiUrl).port || 80), sockets);
    const postmaster = listeningPid(Number(new URL(dbUrl).port || 5432), sockets);
    if (gateway === undefined || postmaster === undefined || gateway === process.pid) return undefined;
    return new CpuMeter(gateway, postmaster);
  }

  /**
   * PostgreSQL's ticks: the postmaster, its live children (zombies included: an exited backend
   * keeps its times until the postmaster waits for it) and the children it has waited for (cutime).
   * A backend waited for between reading the postmaster and finding the backend in /proc would be in
   * neither sum, and one waited for after it was summed would be in both; so the postmaster is read
   * on both sides of the scan and the scan repeated until no backend was waited for during it.
   */
  async postgresTicks(): Promise<number> {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      const first = this.table.stat(this.postmaster);
      const children = childrenOf(this.table, this.postmaster);
      const last = this.table.stat(this.postmaster);
      if (!first || !last) return 0;
      if (first.reaped === last.reaped || Date.now() > deadline) {
        return last.own + last.reaped + children.reduce((sum, c) => sum + c.stat.own, 0);
      }
      await sleep(POLL_MS);
    }
  }

  /**
   * Waits until the given backends (the pids of the connections a phase opened and closed) have
   * exited and the postmaster has waited for them, and no other backend is left a zombie: their
   * whole CPU, exit included, is then in the postmaster's cutime, and counted in the phase that
   * caused them rather than in the next one. Closing a pool only asks its backends to end.
   */
  async settle(backends: Iterable<number> = []): Promise<void> {
    const waitFor = new Set(backends);
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      const pending = childrenOf(this.table, this.postmaster).filter((c) => waitFor.has(c.pid) || c.stat.state === 'Z');
      if (pending.length === 0 || Date.now() > deadline) return;
      await sleep(POLL_MS);
    }
  }

  /** Cumulative CPU milliseconds of each part now. */
  async read(): Promise<Record<Component, number>> {
    const ms = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND;
    const children = childrenOf(this.table, this.gateway);
    const byName = (name: string) => children.filter((c) => c.stat.comm === name).reduce((sum, c) => sum + c.stat.own, 0);
    return {
      gateway: ms(this.table.stat(this.gateway)?.own ?? 0),
      functions: ms(byName('deno')),
      postgrest: ms(byName('postgrest')),
      postgres: ms(await this.postgresTicks()),
      driver: this.driverMs(),
    };
  }
}

export function cpuProfile(before: Record<Component, number>, after: Record<Component, number>, requests: number): CpuProfile | null {
  if (requests === 0) return null;
  const perRequest = {} as CpuProfile['ms_per_request'];
  let total = 0;
  for (const component of COMPONENTS) {
    const value = Math.max(0, after[component] - before[component]) / requests;
    perRequest[component] = Math.round(value * 1000) / 1000;
    total += value;
  }
  perRequest.total = Math.round(total * 1000) / 1000;
  return { ms_per_request: perRequest, cpu_ceiling_rps: total > 0 ? Math.round((os.cpus().length * 1000) / total) : 0 };
}
