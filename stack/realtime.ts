// The local stand-in for Supabase Realtime: the subset that a shop's live screen uses, as small and
// honest as the auth subset. supabase-js's RealtimeClient speaks the Phoenix channels protocol over
// `/realtime/v1/websocket` (serializer vsn 1.0.0 or 2.0.0): heartbeats, phx_join with the access
// token and `config.private`, phx_leave, access_token updates, and broadcast.
//
// As on Supabase:
// - a private channel is authorized by the RLS policies on realtime.messages: inside a transaction
//   that is rolled back, a probe message of the topic is inserted, then read back as the token's role
//   with its claims in `request.jwt.claims` and the topic in `realtime.topic`; RLS decides. The same
//   check runs again when the client sends a new access token, and a channel whose reader lost the
//   right is shut down;
// - messages come from realtime.messages (realtime.send, realtime.broadcast_changes) after COMMIT only.
//   Hosted Realtime reads the table's inserts from the WAL, through its publication
//   supabase_realtime_messages_publication decoded with pgoutput; here too (the bootstrap makes the
//   publication, for inserts only): this server streams it, as hosted Realtime does, from a logical
//   replication slot of its own over a replication connection (START_REPLICATION), which hands the
//   inserted rows out at commit, in commit order, never for a rolled-back transaction;
// - a channel's token is watched: when it expires the channel is shut down with a `system` error.
// Not in the subset: postgres_changes and presence (a join asking for them is refused, so that a
// screen never waits for events that would not come), the REST broadcast endpoint, message replay.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import pg from 'pg';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { importJwtSecret } from './keys.ts';

export interface RealtimeOptions {
  dbUrl: string;
  /** Connections as `postgres`, for the authorization checks (shared with the auth subset). */
  pool: pg.Pool;
  jwtSecret: string;
  /** Messages older than this are deleted, as hosted Realtime drops its daily partitions. */
  retentionMs?: number;
  /** Where the broadcast stream's failures are told (the supervisor's warnings); standard error by default. */
  warn?: (line: string) => void;
}

export interface RealtimeServer {
  /** Takes over an HTTP upgrade of `/realtime/v1/websocket` whose apikey the gateway accepted. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, apiKey: string): void;
  close(): Promise<void>;
}

// Hosted Realtime's publication of realtime.messages (bootstrap.sql makes it), and this server's slot.
const PUBLICATION = 'supabase_realtime_messages_publication';
const SLOT = 'realtime_local_messages';
// How soon the reader confirms what it delivered, and how often it reports at the least (PostgreSQL
// ends a walsender whose reader is silent for wal_sender_timeout, 60 s).
const STATUS_MS = 100;
const HEARTBEAT_MS = 10_000;
// How long dropping the slot waits for a walsender that was ended to let go of it: 40 × 50 ms.
const DROP_ATTEMPTS = 40;
const DROP_RETRY_MS = 50;
// API roles a token may name; any other role (say `postgres`) would escape RLS, so it reads nothing.
const API_ROLES = new Set(['anon', 'authenticated', 'service_role']);
const MAX_TIMER_MS = 60 * 60 * 1000;
// Phoenix's websocket timeout: a client sends a heartbeat every 25 s (realtime-js), so a socket silent
// for a minute is gone, even if its TCP connection never said so.
const IDLE_TIMEOUT_MS = 60_000;

type Vsn = '1.0.0' | '2.0.0';

interface PhoenixMessage {
  join_ref: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: any;
}

interface Connection {
  ws: WebSocket;
  vsn: Vsn;
  apiKey: string;
  channels: Map<string, Channel>;
  lastSeen: number;
}

interface Channel {
  connection: Connection;
  /** As the client names it: `realtime:<subTopic>`. */
  topic: string;
  /** The topic of realtime.messages and of realtime.topic(). */
  subTopic: string;
  joinRef: string | null;
  private: boolean;
  ack: boolean;
  self: boolean;
  token: string;
  claims: JWTPayload;
  canRead: boolean;
  canWrite: boolean | undefined;
  tokenTimer: NodeJS.Timeout | undefined;
  /** When the join took effect (ms since the epoch): movements committed before it are not sent. */
  joinedAt: number;
}

type Verified = { ok: true; claims: JWTPayload } | { ok: false; code: string; message: string };

export async function startRealtime(options: RealtimeOptions): Promise<RealtimeServer> {
  const secret = importJwtSecret(options.jwtSecret, ['verify']);
  const { pool } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const connections = new Set<Connection>();
  /** Joined channels by subTopic: who hears a message of that topic. */
  const subscribers = new Map<string, Set<Channel>>();
  let closing = false;

  // ---- wire format -------------------------------------------------------------------------------

  function send(connection: Connection, message: PhoenixMessage): void {
    if (connection.ws.readyState !== connection.ws.OPEN) return;
    const { join_ref, ref, topic, event, payload } = message;
    connection.ws.send(
      connection.vsn === '2.0.0'
        ? JSON.stringify([join_ref, ref, topic, event, payload])
        : JSON.stringify({ topic, event, payload, ref }),
    );
  }

  function reply(connection: Connection, to: PhoenixMessage, status: 'ok' | 'error', response: unknown): void {
    send(connection, { join_ref: to.join_ref, ref: to.ref, topic: to.topic, event: 'phx_reply', payload: { status, response } });
  }

  function push(channel: Channel, event: string, payload: unknown): void {
    send(channel.connection, { join_ref: channel.joinRef, ref: null, topic: channel.topic, event, payload });
  }

  /** realtime-js sends a broadcast as a binary "user broadcast push" (kind 3) under vsn 2.0.0. */
  function decodeBinary(data: Buffer): PhoenixMessage | undefined {
    if (data.length < 7 || data[0] !== 3) return undefined;
    const sizes = [data[1], data[2], data[3], data[4], data[5]];
    const encoding = data[6];
    let offset = 7;
    const [joinRef, ref, topic, userEvent, metadata] = sizes.map((size) => {
      const text = data.subarray(offset, offset + size).toString('utf8');
      offset += size;
      return text;
    });
    const body = data.subarray(offset);
    const payload = encoding === 1 ? JSON.parse(body.toString('utf8') || 'null') : body.toString('base64');
    return {
      join_ref: joinRef || null,
      ref: ref || null,
      topic,
      event: 'broadcast',
      payload: { type: 'broadcast', event: userEvent, payload, ...(metadata ? JSON.parse(metadata) : {}) },
    };
  }

  function decode(connection: Connection, data: RawData, isBinary: boolean): PhoenixMessage | undefined {
    const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary) return decodeBinary(buffer);
    const parsed = JSON.parse(buffer.toString('utf8'));
    if (connection.vsn === '2.0.0') {
      if (!Array.isArray(parsed) || parsed.length !== 5) return undefined;
      const [join_ref, ref, topic, event, payload] = parsed;
      return { join_ref, ref, topic, event, payload };
    }
    return { join_ref: parsed.join_ref ?? null, ref: parsed.ref ?? null, topic: parsed.topic, event: parsed.event, payload: parsed.payload };
  }

  // ---- tokens and policies -----------------------------------------------------------------------

  async function verify(token: string): Promise<Verified> {
    try {
      const { payload } = await jwtVerify(token, await secret, { algorithms: ['HS256'] });
      if (typeof payload.role !== 'string' || typeof payload.exp !== 'number') {
        return { ok: false, code: 'InvalidJWTToken', message: 'Fields `role` and `exp` are required in JWT' };
      }
      return { ok: true, claims: payload };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) {
        const exp = Number(error.payload.exp);
        const ago = Math.max(0, Math.floor(Date.now() / 1000) - exp);
        return { ok: false, code: 'InvalidJWTToken', message: `Token has expired ${ago} seconds ago` };
      }
      if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
        return { ok: false, code: 'JwtSignatureError', message: 'Failed to validate JWT signature' };
      }
      return { ok: false, code: 'MalformedJWT', message: 'The token provided is not a valid JWT' };
    }
  }

  /**
   * Realtime Authorization: in a transaction that is always rolled back, a probe message of the topic
   * is written (read) or attempted as the role (write), as the role with its claims; RLS decides.
   */
  async function policyAllows(action: 'read' | 'write', subTopic: string, claims: JWTPayload): Promise<boolean> {
    const role = String(claims.role);
    if (!API_ROLES.has(role)) return false;
    const client = await pool.connect();
    try {
      await client.query('begin');
      let probeId: string | undefined;
      if (action === 'read') {
        const { rows } = await client.query<{ id: string }>(
          "insert into realtime.messages (topic, extension) values ($1, 'broadcast') returning id",
          [subTopic],
        );
        probeId = rows[0].id;
      }
      await client.query(
        `select set_config('role', $1, true), set_config('realtime.topic', $2, true),
                set_config('request.jwt.claims', $3, true), set_config('request.jwt.claim.sub', $4, true),
                set_config('request.jwt.claim.role', $1, true)`,
        [role, subTopic, JSON.stringify(claims), typeof claims.sub === 'string' ? claims.sub : ''],
      );
      if (action === 'read') {
        const { rowCount } = await client.query(
          "select 1 from realtime.messages where topic = $1 and extension = 'broadcast' and id = $2",
          [subTopic, probeId],
        );
        return rowCount === 1;
      }
      await client.query('savepoint probe');
      try {
        await client.query("insert into realtime.messages (topic, extension) values ($1, 'broadcast')", [subTopic]);
        return true;
      } catch (error) {
        if ((error as { code?: string }).code === '42501') return false;
        throw error;
      }
    } catch (error) {
      // A policy that fails (RlsPolicyError on Supabase) refuses; the cause is logged for the developer.
      console.error(`realtime: policy check for ${subTopic} failed:`, (error as Error).message);
      return false;
    } finally {
      // A connection that cannot even roll back is dropped, never handed out again with the role set.
      const broken = await client.query('rollback').then(
        () => false,
        () => true,
      );
      client.release(broken);
    }
  }

  // ---- channels ----------------------------------------------------------------------------------

  function forget(channel: Channel): void {
    clearTimeout(channel.tokenTimer);
    channel.connection.channels.delete(channel.topic);
    const set = subscribers.get(channel.subTopic);
    set?.delete(channel);
    if (set?.size === 0) subscribers.delete(channel.subTopic);
  }

  /** As Realtime's shutdown_response: a `system` error for the client, then the channel is closed. */
  function shutdown(channel: Channel, message: string): void {
    push(channel, 'system', { extension: 'system', status: 'error', message, channel: channel.subTopic });
    push(channel, 'phx_close', {});
    forget(channel);
  }

  /** Re-checks the token when it expires (at most an hour ahead, as Realtime's confirm_token). */
  function watchToken(channel: Channel): void {
    clearTimeout(channel.tokenTimer);
    const token = channel.token;
    const remaining = Number(channel.claims.exp) * 1000 - Date.now();
    channel.tokenTimer = setTimeout(async () => {
      const verified = await verify(token);
      // Left, or given another token, while the check ran: the newer state decides.
      if (channel.connection.channels.get(channel.topic) !== channel || channel.token !== token) return;
      if (!verified.ok) return shutdown(channel, verified.message);
      watchToken(channel);
    }, Math.min(Math.max(remaining, 0), MAX_TIMER_MS));
    channel.tokenTimer.unref();
  }

  async function join(connection: Connection, message: PhoenixMessage): Promise<void> {
    const refuse = (code: string, text: string) => reply(connection, message, 'error', { reason: `${code}: ${text}` });
    const subTopic = message.topic.replace(/^realtime:/, '');
    if (!message.topic.startsWith('realtime:') || subTopic === '') {
      return refuse('TopicNameRequired', 'You must provide a topic name');
    }
    const config = message.payload?.config ?? {};
    if (Array.isArray(config.postgres_changes) && config.postgres_changes.length > 0) {
      return refuse('LocalSubset', 'postgres_changes is not part of the local Realtime subset: listen to broadcast from the database');
    }
    // A second join of the same topic on one socket replaces the first, as in Phoenix.
    const previous = connection.channels.get(message.topic);
    if (previous) {
      push(previous, 'phx_close', {});
      forget(previous);
    }
    const token: string = message.payload?.access_token ?? message.payload?.user_token ?? connection.apiKey;
    const verified = await verify(token);
    if (!verified.ok) return refuse(verified.code, verified.message);
    const isPrivate = config.private === true;
    const canRead = isPrivate ? await policyAllows('read', subTopic, verified.claims) : true;
    if (!canRead) return refuse('Unauthorized', `You do not have permissions to read from this Channel topic: ${subTopic}`);
    if (connection.ws.readyState !== connection.ws.OPEN) return;

    const channel: Channel = {
      connection,
      topic: message.topic,
      subTopic,
      joinRef: message.join_ref ?? message.ref,
      private: isPrivate,
      ack: config.broadcast?.ack === true,
      self: config.broadcast?.self === true,
      token,
      claims: verified.claims,
      canRead,
      canWrite: undefined,
      tokenTimer: undefined,
      joinedAt: Date.now(),
    };
    connection.channels.set(channel.topic, channel);
    if (!subscribers.has(subTopic)) subscribers.set(subTopic, new Set());
    subscribers.get(subTopic)!.add(channel);
    watchToken(channel);
    reply(connection, message, 'ok', { postgres_changes: [] });
  }

  async function updateToken(channel: Channel, token: unknown): Promise<void> {
    if (typeof token !== 'string' || token === channel.token || token.startsWith('sb_')) return;
    const verified = await verify(token);
    if (!verified.ok) return shutdown(channel, verified.message);
    if (channel.private && !(await policyAllows('read', channel.subTopic, verified.claims))) {
      return shutdown(channel, `You no longer have permission to read from this Channel topic: ${channel.subTopic}`);
    }
    channel.token = token;
    channel.claims = verified.claims;
    channel.canWrite = undefined;
    watchToken(channel);
  }

  function fanOut(subTopic: string, isPrivate: boolean, payload: unknown, except?: Channel, committedAt = Infinity): void {
    for (const channel of subscribers.get(subTopic) ?? []) {
      if (channel === except || channel.private !== isPrivate || !channel.canRead) continue;
      // A transaction streams from the slot a little after its COMMIT: a channel that joined since then
      // was not listening yet.
      if (channel.joinedAt > committedAt) continue;
      push(channel, 'broadcast', payload);
    }
  }

  async function clientBroadcast(channel: Channel, message: PhoenixMessage): Promise<void> {
    if (channel.private) {
      channel.canWrite ??= await policyAllows('write', channel.subTopic, channel.claims);
      if (!channel.canWrite) {
        if (channel.ack) {
          reply(channel.connection, message, 'error', {
            reason: `Unauthorized: You do not have permissions to write to this Channel topic: ${channel.subTopic}`,
          });
        }
        return;
      }
    }
    const { event, payload } = message.payload ?? {};
    fanOut(channel.subTopic, channel.private, { type: 'broadcast', event, payload }, channel.self ? undefined : channel);
    if (channel.ack) reply(channel.connection, message, 'ok', {});
  }

  async function handle(connection: Connection, message: PhoenixMessage): Promise<void> {
    if (message.topic === 'phoenix' && message.event === 'heartbeat') return reply(connection, message, 'ok', {});
    if (message.event === 'phx_join') return join(connection, message);
    const channel = connection.channels.get(message.topic);
    if (!channel) {
      // Phoenix answers a push to a topic this socket has not joined with phx_close.
      if (message.event !== 'phx_leave') {
        send(connection, { join_ref: message.join_ref, ref: message.ref, topic: message.topic, event: 'phx_close', payload: {} });
      }
      return;
    }
    switch (message.event) {
      case 'phx_leave':
        forget(channel);
        return reply(connection, message, 'ok', {});
      case 'access_token':
        return updateToken(channel, message.payload?.access_token);
      case 'broadcast':
        return clientBroadcast(channel, message);
      case 'presence':
        return reply(connection, message, 'error', { reason: 'presence is not part of the local Realtime subset' });
      default:
        // Realtime ignores what it does not know.
        return;
    }
  }

  function accept(ws: WebSocket, apiKey: string, vsn: Vsn): void {
    const connection: Connection = { ws, vsn, apiKey, channels: new Map(), lastSeen: Date.now() };
    connections.add(connection);
    // Each socket's messages are handled one after another, in the order they were sent.
    let queue = Promise.resolve();
    ws.on('message', (data, isBinary) => {
      connection.lastSeen = Date.now();
      let message: PhoenixMessage | undefined;
      try {
        message = decode(connection, data, isBinary);
      } catch {
        message = undefined;
      }
      if (!message) return;
      const decoded = message;
      queue = queue.then(() => handle(connection, decoded)).catch((error) => console.error('realtime:', error));
    });
    ws.on('close', () => {
      for (const channel of [...connection.channels.values()]) forget(channel);
      connections.delete(connection);
    });
    ws.on('error', () => ws.terminate());
  }

  // ---- messages from the database ----------------------------------------------------------------

  let listener: pg.Client | undefined;
  const warn = options.warn ?? ((line: string) => console.error(line));
  // Told once, until a delivered transaction shows the stream works again.
  let outage = false;
  let reconnectTimer: NodeJS.Timeout | undefined;

  /** A column's value in pgoutput's TupleData: its text, null, or undefined for a TOAST value an update left unchanged. */
  type Value = string | null | undefined;

  /** The null-terminated string of pgoutput at `offset`, and the offset after it. */
  function readName(data: Buffer, offset: number): [string, number] {
    const end = data.indexOf(0, offset);
    return [data.toString('utf8', offset, end), end + 1];
  }

  /**
   * A Relation ('R': oid, namespace, name, replica identity, then per column flags, name, type oid and
   * modifier): its oid and column names, if it is realtime.messages.
   */
  function readRelation(data: Buffer): { oid: number; columns: string[] } | undefined {
    const oid = data.readUInt32BE(1);
    const [namespace, afterNamespace] = readName(data, 5);
    const [name, afterName] = readName(data, afterNamespace);
    if (namespace !== 'realtime' || name !== 'messages') return undefined;
    const count = data.readInt16BE(afterName + 1);
    const columns: string[] = [];
    let offset = afterName + 3;
    for (let n = 0; n < count; n++) {
      const [column, afterColumn] = readName(data, offset + 1);
      columns.push(column);
      offset = afterColumn + 8;
    }
    return { oid, columns };
  }

  /** An Insert ('I': relation oid, 'N', TupleData) as the row it inserted, by column name. */
  function readInsert(data: Buffer, columns: string[]): Map<string, Value> {
    const row = new Map<string, Value>();
    const count = data.readInt16BE(6);
    let offset = 8;
    for (let n = 0; n < count; n++) {
      const kind = data[offset];
      offset += 1;
      let value: Value = kind === 0x6e ? null : undefined;
      // 't': the value as text (the read does not ask for binary values).
      if (kind === 0x74) {
        const length = data.readInt32BE(offset);
        value = data.toString('utf8', offset + 4, offset + 4 + length);
        offset += 4 + length;
      }
      row.set(columns[n], value);
    }
    return row;
  }

  /** Hands an inserted broadcast to the channels of its topic; one that no channel hears is not even parsed. */
  function deliver(row: Map<string, Value>, committedAt: number): void {
    const topic = row.get('topic');
    if (row.get('extension') !== 'broadcast' || !topic || !subscribers.has(topic)) return;
    const payload = row.get('payload');
    fanOut(topic, row.get('private') === 't', {
      type: 'broadcast',
      event: row.get('event') ?? null,
      payload: payload == null ? null : JSON.parse(payload),
      meta: { id: row.get('id') },
    }, undefined, committedAt);
  }

  // pgoutput's Begin ('B': final lsn, commit time in µs since 2000-01-01, xid) precedes its changes.
  const POSTGRES_EPOCH_MS = Date.UTC(2000, 0, 1);
  const commitTimeOf = (begin: Buffer): number => POSTGRES_EPOCH_MS + Number(begin.readBigInt64BE(9)) / 1000;

  /** Drops the slot; a walsender still holding it (its reader has just gone) is ended first. */
  async function dropSlot(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await pool.query(
          `select pg_catalog.pg_terminate_backend(active_pid) from pg_catalog.pg_replication_slots
            where slot_name = $1 and active_pid is not null`,
          [SLOT],
        );
        await pool.query(
          'select pg_catalog.pg_drop_replication_slot(slot_name) from pg_catalog.pg_replication_slots where slot_name = $1',
          [SLOT],
        );
        return;
      } catch (error) {
        // object_in_use: the ended walsender has not exited yet.
        if ((error as { code?: string }).code !== '55006' || attempt === DROP_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, DROP_RETRY_MS));
      }
    }
  }

  async function listen(initial: boolean): Promise<void> {
    // A walsender streams the slot, as hosted Realtime reads it: it decodes each WAL record once, as it
    // is written, and sends a transaction at its commit. (A reader that polled the slot with SQL
    // started a decoding session per read, each decoding again from the slot's restart point.) The
    // slot is temporary: it lives as long as this session, and a reconnect starts a new one at the
    // present, so nothing ever resumes from it.
    const config: pg.ClientConfig & { replication: 'database' } = {
      connectionString: options.dbUrl,
      replication: 'database',
      application_name: 'realtime (local)',
      // Creating the slot and starting to stream it make PostgreSQL log LOG lines with the slot's
      // positions, of no use to a developer, at every reconnect. In the server log LOG ranks above
      // ERROR, so only `fatal` silences them; this session's errors reach this reader, which reconnects.
      options: '-c log_min_messages=fatal',
    };
    const client = new pg.Client(config);
    // node-pg hands the CopyData of START_REPLICATION to the connection, and sends ours through it.
    const connection = client.connection as pg.Connection & { sendCopyFromChunk(chunk: Buffer): void };
    let gone = false;
    // The first start's failure is the caller's to report (the stack does not start); a later one retries.
    let retry = !initial;
    let statusTimer: NodeJS.Timeout | undefined;
    let heartbeat: NodeJS.Timeout | undefined;
    const lost = (error?: unknown) => {
      if (gone) return;
      gone = true;
      clearTimeout(statusTimer);
      clearInterval(heartbeat);
      if (listener === client) listener = undefined;
      client.end().catch(() => undefined);
      if (!retry || closing) return;
      // PostgreSQL restarted (a crash drill): read again once it is back, from a new slot. What was
      // committed in between is not replayed (hosted Realtime keeps its slot; this subset has no replay).
      // PostgreSQL logs nothing of this session (log_min_messages), so the cause is told here, once
      // per outage: a stream that cannot start (no publication, no free slot) would otherwise retry
      // silently while the live screens hear nothing.
      if (!outage) {
        outage = true;
        warn(`realtime: the broadcast stream stopped (${error instanceof Error ? error.message : 'connection ended'}); reconnecting`);
      }
      reconnectTimer = setTimeout(() => void listen(false), 500);
    };
    client.on('error', lost);
    client.on('end', lost);
    listener = client;

    // What this reader confirms: the end of the last transaction delivered, or, between transactions,
    // the position a keepalive says the walsender has decoded up to (it sent every committed
    // transaction before that, and one still open commits after it). Confirming lets PostgreSQL
    // recycle the WAL before it, and lets a shutdown finish: the walsender waits until its reader has
    // confirmed all it sent.
    let confirmed = 0n;
    let reported = -1n;
    const reportStatus = () => {
      clearTimeout(statusTimer);
      statusTimer = undefined;
      if (gone) return;
      // Standby status update ('r'): written, flushed and applied positions, the clock in µs since
      // 2000-01-01, and no reply requested.
      const status = Buffer.alloc(34);
      status[0] = 0x72;
      status.writeBigUInt64BE(confirmed, 1);
      status.writeBigUInt64BE(confirmed, 9);
      status.writeBigUInt64BE(confirmed, 17);
      status.writeBigInt64BE(BigInt(Date.now() - POSTGRES_EPOCH_MS) * 1000n, 25);
      connection.sendCopyFromChunk(status);
      reported = confirmed;
    };
    const confirm = (lsn: bigint) => {
      if (lsn > confirmed) confirmed = lsn;
      // Under load the walsender pings after every transaction it sends: one answer per STATUS_MS is enough.
      if (confirmed !== reported && !statusTimer) statusTimer = setTimeout(reportStatus, STATUS_MS);
    };

    // The columns of realtime.messages by relation oid. pgoutput describes a relation ('R') before its
    // first change in a session, and again after the table changed: the latest description counts.
    const relations = new Map<number, string[]>();
    let committedAt = Infinity;
    let inTransaction = false;
    /** One pgoutput message. pgoutput sends a transaction only at its commit, whole, in commit order. */
    const receive = (data: Buffer) => {
      if (data[0] === 0x42) {
        inTransaction = true;
        committedAt = commitTimeOf(data);
      } else if (data[0] === 0x52) {
        const relation = readRelation(data);
        if (relation) relations.set(relation.oid, relation.columns);
      } else if (data[0] === 0x49) {
        const columns = relations.get(data.readUInt32BE(1));
        if (columns) deliver(readInsert(data, columns), committedAt);
      } else if (data[0] === 0x43) {
        // Commit ('C': flags, commit lsn, end lsn, commit time): delivered, so confirmed.
        inTransaction = false;
        outage = false;
        confirm(data.readBigUInt64BE(10));
      }
    };
    connection.on('copyData', ({ chunk }: { chunk: Buffer }) => {
      try {
        // XLogData ('w': start, end of WAL and clock, 8 bytes each), then a pgoutput message.
        if (chunk[0] === 0x77) receive(chunk.subarray(25));
        // Primary keepalive ('k': end of WAL, clock, and whether it asks for an answer now).
        else if (chunk[0] === 0x6b) {
          if (!inTransaction) confirm(chunk.readBigUInt64BE(1));
          if (chunk[17] === 1) reportStatus();
        }
      } catch (error) {
        console.error('realtime: delivery failed:', error);
      }
    });
    try {
      // A new slot starts at the present, as a LISTEN would: messages committed while no server read
      // them are not replayed. A slot of the same name still held by a walsender that has not exited
      // (or a permanent one an earlier version left) goes first.
      await dropSlot();
      await client.connect();
      await client.query(`CREATE_REPLICATION_SLOT ${SLOT} TEMPORARY LOGICAL pgoutput (SNAPSHOT 'nothing')`);
    } catch (error) {
      lost(error);
      if (initial) throw error;
      return;
    }
    // Stopped (close()) while this session was starting: it must not stream after the stop.
    if (closing || gone) {
      lost();
      return;
    }
    retry = true;
    // Pending while the slot streams; it ends with the connection.
    client
      .query(`START_REPLICATION SLOT ${SLOT} LOGICAL 0/0 (proto_version '1', publication_names '${PUBLICATION}')`)
      .then(lost, lost);
    // wal_sender_timeout (60 s) ends a reader that stays silent: it reports at least every 10 s.
    heartbeat = setInterval(reportStatus, HEARTBEAT_MS);
  }
  await listen(true);

  const retentionMs = options.retentionMs ?? 3 * 24 * 60 * 60 * 1000;
  const prune = () =>
    pool
      .query('delete from realtime.messages where inserted_at < now() - make_interval(secs => $1)', [retentionMs / 1000])
      .catch(() => undefined);
  void prune();
  const pruneTimer = setInterval(prune, 60 * 60 * 1000);
  pruneTimer.unref();
  const idleTimer = setInterval(() => {
    for (const connection of connections) {
      if (Date.now() - connection.lastSeen > IDLE_TIMEOUT_MS) connection.ws.terminate();
    }
  }, IDLE_TIMEOUT_MS / 4);
  idleTimer.unref();

  return {
    handleUpgrade(req, socket, head, apiKey) {
      const vsn = new URL(req.url ?? '/', 'http://local').searchParams.get('vsn') ?? '1.0.0';
      if (vsn !== '1.0.0' && vsn !== '2.0.0') {
        socket.end('HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nunsupported vsn\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => accept(ws, apiKey, vsn));
    },
    async close() {
      closing = true;
      clearTimeout(reconnectTimer);
      clearInterval(pruneTimer);
      clearInterval(idleTimer);
      // Each socket's 'close' forgets its channels; wss.close() below waits for every one of them.
      for (const connection of connections) connection.ws.terminate();
      const client = listener;
      listener = undefined;
      // The slot is temporary: it goes with its reader's session.
      await client?.end().catch(() => undefined);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
