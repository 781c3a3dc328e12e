// The local stand-in for Supabase's API gateway (Kong): one port, a path router, the `apikey` check.
// Bodies stream through untouched in both directions over keep-alive connections, so the gateway adds
// one hop and nothing else to what PostgREST and the functions cost.
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { RETRY_AFTER_SECONDS } from '../functions/_shared/error_status.ts';
import type { AuthHandler } from './auth.ts';
import type { RealtimeServer } from './realtime.ts';

export interface GatewayOptions {
  host: string;
  port: number;
  apiKeys: { anon: string; serviceRole: string };
  /** PostgREST's base URL; `/rest/v1/x` is forwarded as `/x`. */
  restUrl: string;
  /** The functions host's base URL; `/functions/v1/name/x` is forwarded as `/name/x`, as Kong does. */
  functionsUrl: string;
  auth: AuthHandler;
  /** No answer from an upstream within this many ms is a 504 (Kong's 60 s proxy timeouts, shortened). */
  upstreamTimeoutMs: number;
  /** Takes the websocket upgrades of `/realtime/v1/websocket`. */
  realtime?: RealtimeServer;
}

export interface Gateway {
  url: string;
  close(): Promise<void>;
}

interface Upstream {
  hostname: string;
  port: number;
  agent: http.Agent;
}

// Kong's key-auth answers, with the hints Supabase's hosted gateway adds.
const NO_API_KEY = JSON.stringify({
  message: 'No API key found in request',
  hint: 'No `apikey` request header or url param was found.',
});
const INVALID_API_KEY = JSON.stringify({
  message: 'Invalid API key',
  hint: 'Double check your Supabase `anon` or `service_role` API key.',
});
const NOT_FOUND = JSON.stringify({ message: 'no Route matched with those values' });
// An upstream that is down (refused, reset) or too slow: the client may retry, and is told when.
const UPSTREAM_UNAVAILABLE = JSON.stringify({ message: 'The upstream server is currently unavailable' });
const UPSTREAM_TIMEOUT = JSON.stringify({ message: 'The upstream server is timing out' });
// PostgREST's own parse error, for a query string that is not UTF-8 (PostgREST itself answers 500).
const INVALID_QUERY_ENCODING = JSON.stringify({
  code: 'PGRST100',
  details: 'the path or query string is not valid percent-encoded UTF-8',
  hint: null,
  message: '"failed to parse filter" (invalid UTF-8)',
});
// What Node refuses before a request reaches the handler, answered in the gateway's JSON shape.
const CLIENT_ERRORS: Record<string, { status: number; reason: string; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, reason: 'Request Header Fields Too Large', message: 'Request header or URL too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: 'Request Timeout', message: 'The request was not received in time' },
};
const BAD_REQUEST = { status: 400, reason: 'Bad Request', message: 'Bad request' };

// Connection-level headers belong to one hop and must not be relayed (RFC 9110 §7.6.1); relaying a
// client's `Connection: close` would also close the pooled upstream socket.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer']);

function upstream(base: string): Upstream {
  const url = new URL(base);
  return {
    hostname: url.hostname,
    port: Number(url.port || 80),
    // No socket cap: the callers' concurrency decides, as it would against PostgREST directly.
    agent: new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256, scheduling: 'lifo' }),
  };
}

function sendJson(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'access-control-allow-origin': '*',
    ...headers,
  });
  res.end(body);
}

function sendUpstreamFailure(res: ServerResponse, status: 503 | 504): void {
  sendJson(res, status, status === 503 ? UPSTREAM_UNAVAILABLE : UPSTREAM_TIMEOUT, {
    'retry-after': RETRY_AFTER_SECONDS[status === 503 ? 'service_unavailable' : 'upstream_timeout'],
  });
}

/**
 * Answers 504 when nothing has been answered within the bound, whatever the service; `onTimeout` abandons
 * the upstream work. A response already under way is left to finish.
 */
function boundResponse(res: ServerResponse, timeoutMs: number, onTimeout: () => void): void {
  const timer = setTimeout(() => {
    if (res.headersSent) return;
    onTimeout();
    sendUpstreamFailure(res, 504);
  }, timeoutMs);
  // 'close' follows every response, finished or not.
  res.once('close', () => clearTimeout(timer));
}

/** A request line or header Node refused (too large, malformed) gets the error JSON, then the socket closes. */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') return void socket.destroy();
  const { status, reason, message } = CLIENT_ERRORS[error.code ?? ''] ?? BAD_REQUEST;
  endSocketWithJson(socket, `${status} ${reason}`, JSON.stringify({ message }), { cors: true });
}

/**
 * A JSON answer written straight to a socket no `ServerResponse` owns, which then closes. `cors` adds
 * the header browsers need to read an HTTP answer; a websocket handshake is not subject to CORS.
 */
function endSocketWithJson(socket: Duplex, status: string, body: string, { cors }: { cors: boolean }): void {
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n${cors ? 'access-control-allow-origin: *\r\n' : ''}` +
      `connection: close\r\n\r\n${body}`,
  );
}

/**
 * Percent-escapes that do not decode to UTF-8 (`%ff%fe`), which PostgREST would answer with a 500. A `%`
 * that starts no escape (`like.50%`) is a literal to PostgREST, and stays one.
 */
function hasInvalidPercentEncoding(path: string): boolean {
  if (!path.includes('%')) return false;
  try {
    decodeURIComponent(path.replace(/%(?![0-9a-fA-F]{2})/g, '%25'));
    return false;
  } catch {
    return true;
  }
}

/**
 * Planned and estimated counts are the planner's guess from whole-table statistics, before RLS: on the
 * ledger they tell any user the platform's size. Only the service role may ask for them; API roles get
 * the rows without a count (`count=exact`, which RLS scopes, stays theirs).
 */
function withoutPlannerCounts(headers: IncomingHttpHeaders): void {
  const prefer = headers.prefer;
  if (typeof prefer !== 'string' || !/count\s*=\s*(planned|estimated)/i.test(prefer)) return;
  const kept = prefer.split(',').filter((part) => !/^\s*count\s*=\s*(planned|estimated)\s*$/i.test(part));
  if (kept.length === 0) delete headers.prefer;
  else headers.prefer = kept.join(',');
}

/** The `apikey` query parameter, which Kong's key-auth accepts when the header is absent. */
function queryApiKey(url: string): string | undefined {
  const query = url.indexOf('?');
  if (query === -1 || !url.includes('apikey=', query)) return undefined;
  return new URLSearchParams(url.slice(query + 1)).get('apikey') ?? undefined;
}

/** The credential is the gateway's, not the service's: PostgREST would read `apikey=` as a column filter. */
function withoutApiKeyParam(path: string): string {
  const query = path.indexOf('?');
  const params = new URLSearchParams(path.slice(query + 1));
  params.delete('apikey');
  const rest = params.toString();
  return rest === '' ? path.slice(0, query) : `${path.slice(0, query)}?${rest}`;
}

/** The client's headers minus the hop-by-hop ones; the parsed object is the request's own, reused. */
function forwardHeaders(req: IncomingMessage): IncomingHttpHeaders {
  const headers = req.headers;
  for (const name of HOP_BY_HOP) if (headers[name] !== undefined) delete headers[name];
  return headers;
}

function responseHeaders(upstreamRes: IncomingMessage): string[] {
  const raw = upstreamRes.rawHeaders;
  const kept: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!HOP_BY_HOP.has(raw[i].toLowerCase())) kept.push(raw[i], raw[i + 1]);
  }
  return kept;
}

function proxy(req: IncomingMessage, res: ServerResponse, target: Upstream, path: string, timeoutMs: number): void {
  const upstreamReq = http.request({
    hostname: target.hostname,
    port: target.port,
    agent: target.agent,
    method: req.method,
    path,
    headers: forwardHeaders(req),
  });
  upstreamReq.on('response', (upstreamRes) => {
    // An upstream may answer before reading the whole body (PostgREST's 503 while its schema cache
    // loads, a function's 413): the unread rest would be parsed as the next request on that socket, and
    // its 400 handed to whoever reuses it. Such sockets are closed after the answer, never pooled.
    if (!req.complete || !upstreamReq.writableFinished || (upstreamRes.statusCode ?? 500) >= 500) {
      upstreamReq.shouldKeepAlive = false;
    }
    res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, responseHeaders(upstreamRes));
    upstreamRes.pipe(res);
    upstreamRes.on('error', () => res.destroy());
    upstreamRes.on('aborted', () => res.destroy());
    // Answered before the whole body arrived (a 413): the rest is read from the client and dropped here,
    // and the upstream socket, left mid-request, is not reused.
    upstreamRes.on('end', () => {
      if (req.complete) return;
      req.unpipe(upstreamReq);
      req.resume();
      upstreamReq.destroy();
    });
  });
  upstreamReq.on('error', () => {
    // Refused or reset before an answer: the service is down (or restarting). After an answer was sent,
    // either the upstream stopped reading a body it had already refused (a 413: its answer finishes) or
    // the 504 bound destroyed it: either way the rest of the client's body is read and discarded, so the
    // client sees the answer, not a reset.
    if (!res.headersSent) return sendUpstreamFailure(res, 503);
    req.unpipe(upstreamReq);
    req.resume();
  });
  boundResponse(res, timeoutMs, () => upstreamReq.destroy());
  // A client that goes away mid-request must not leave the upstream working for nobody.
  res.on('close', () => {
    if (!res.writableFinished) upstreamReq.destroy();
  });
  req.pipe(upstreamReq);
}

/** Kong's key-auth: the `apikey` header, else the query parameter, must be one of the project's keys. */
function checkApiKey(
  req: IncomingMessage,
  keys: GatewayOptions['apiKeys'],
): { apiKey: string; inHeader: boolean } | { refusal: string } {
  const header = req.headers.apikey;
  const apiKey = typeof header === 'string' ? header : queryApiKey(req.url ?? '/');
  if (apiKey === undefined) return { refusal: NO_API_KEY };
  if (apiKey !== keys.anon && apiKey !== keys.serviceRole) return { refusal: INVALID_API_KEY };
  return { apiKey, inHeader: typeof header === 'string' };
}

/** Refuses an upgrade with a plain HTTP answer, as Kong does before any websocket exists. */
function refuseUpgrade(socket: Duplex, status: string, body: string): void {
  endSocketWithJson(socket, status, body, { cors: false });
}

/**
 * Realtime's websocket: browsers cannot set headers on it, so supabase-js sends the key as the
 * `apikey` query parameter, which key-auth accepts as it does for any route.
 */
function upgradeRealtime(options: GatewayOptions, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const url = req.url ?? '/';
  const pathname = url.split('?', 1)[0];
  if (!options.realtime || (pathname !== '/realtime/v1/websocket' && pathname !== '/realtime/v1/websocket/')) {
    refuseUpgrade(socket, '404 Not Found', NOT_FOUND);
    return;
  }
  const key = checkApiKey(req, options.apiKeys);
  if ('refusal' in key) refuseUpgrade(socket, '401 Unauthorized', key.refusal);
  else options.realtime.handleUpgrade(req, socket, head, key.apiKey);
}

function isOpenAuthPath(remainder: string): boolean {
  const pathname = remainder.split('?')[0].replace(/\/+$/, '');
  return pathname === '/verify';
}

export function startGateway(options: GatewayOptions): Promise<Gateway> {
  const rest = upstream(options.restUrl);
  const functions = upstream(options.functionsUrl);
  const serviceBearer = `Bearer ${options.apiKeys.serviceRole}`;

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    let service: 'rest' | 'auth' | 'functions';
    let remainder: string;
    if (url.startsWith('/rest/v1')) {
      service = 'rest';
      remainder = url.slice(8);
    } else if (url.startsWith('/auth/v1')) {
      service = 'auth';
      remainder = url.slice(8);
    } else if (url.startsWith('/functions/v1')) {
      service = 'functions';
      remainder = url.slice(13);
    } else {
      return sendJson(res, 404, NOT_FOUND);
    }
    // `/rest/v1x` is not `/rest/v1`: the prefix must end at a path or query boundary.
    const next = remainder.charCodeAt(0);
    if (remainder !== '' && next !== 47 /* / */ && next !== 63 /* ? */) return sendJson(res, 404, NOT_FOUND);
    if (remainder === '' || next === 63) remainder = `/${remainder}`;
    // `_internal` (the host's own listing and health) and `_shared` are not functions: never public.
    if (service === 'functions' && remainder.startsWith('/_')) return sendJson(res, 404, NOT_FOUND);

    // Browsers send preflights without credentials; Kong's cors plugin answers them before key-auth.
    // The link in an auth mail is opened by a browser with no key: Kong serves /auth/v1/verify open.
    if (req.method !== 'OPTIONS' && !(service === 'auth' && isOpenAuthPath(remainder))) {
      const key = checkApiKey(req, options.apiKeys);
      if ('refusal' in key) return sendJson(res, 401, key.refusal);
      if (!key.inHeader) remainder = withoutApiKeyParam(remainder);
      // As the Supabase CLI's Kong: a request with only an apikey acts with that key's role.
      if (req.headers.authorization === undefined) req.headers.authorization = `Bearer ${key.apiKey}`;
    }

    if (service === 'rest') {
      if (hasInvalidPercentEncoding(remainder)) return sendJson(res, 400, INVALID_QUERY_ENCODING);
      if (req.headers.authorization !== serviceBearer) withoutPlannerCounts(req.headers);
      proxy(req, res, rest, remainder, options.upstreamTimeoutMs);
    } else if (service === 'functions') proxy(req, res, functions, remainder, options.upstreamTimeoutMs);
    else {
      boundResponse(res, options.upstreamTimeoutMs, () => undefined);
      options.auth(req, res, remainder);
    }
  });
  server.keepAliveTimeout = 65_000;
  server.on('clientError', answerClientError);
  server.on('upgrade', (req, socket, head) => upgradeRealtime(options, req, socket, head));

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      resolve({
        url: `http://${options.host}:${address.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
            rest.agent.destroy();
            functions.agent.destroy();
          }),
      });
    });
  });
}
