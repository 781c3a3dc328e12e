// The machine's TCP sockets as Linux's /proc shows them: which process listens on a port, and what a
// process is connected to. The bench's CPU meter finds the stack's processes by their ports with it,
// and a local-stack test reads where the functions host's connections go.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** TCP states in /proc/net/tcp. */
export const TCP_ESTABLISHED = 0x01;
export const TCP_LISTEN = 0x0a;

export interface TcpSocket {
  inode: number;
  localPort: number;
  remotePort: number;
  state: number;
}

/** Every TCP socket of this network namespace, IPv4 and IPv6, from /proc/net/tcp{,6}. */
export function tcpSockets(): TcpSocket[] {
  const sockets: TcpSocket[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode;
      // an address is ADDR:PORT in hex.
      const cols = line.trim().split(/\s+/);
      if (cols.length <= 9) continue;
      const port = (address: string) => Number.parseInt(address.split(':').at(-1)!, 16);
      sockets.push({ localPort: port(cols[1]!), remotePort: port(cols[2]!), state: Number.parseInt(cols[3]!, 16), inode: Number(cols[9]) });
    }
  }
  return sockets;
}

export function allPids(): number[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
}

/** The inodes of the sockets a process holds open (none for another user's process, which /proc hides). */
export function socketInodesOf(pid: number): Set<number> {
  const inodes = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (link.startsWith('socket:[')) inodes.add(Number(link.slice(8, -1)));
    } catch {
      // The descriptor closed while we looked.
    }
  }
  return inodes;
}

/** The process listening on a TCP port, if one of this user's does. */
export function listeningPid(port: number, sockets: TcpSocket[] = tcpSockets()): number | undefined {
  const listening = new Set(sockets.filter((s) => s.state === TCP_LISTEN && s.localPort === port).map((s) => s.inode));
  if (listening.size === 0) return undefined;
  return allPids().find((pid) => [...socketInodesOf(pid)].some((inode) => listening.has(inode)));
}
