// The local stand-in for Supabase's API gateway (Kong): one port, a path router, the `apikey` check.
// Bodies stream through untouched in both directions over keep-alive connections, so the gateway adds
// one hop and nothing else to what PostgREST and the functions cost.
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
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
const BAD_UPSTREAM = JSON.stringify({ message: 'An invalid response was received from the upstream server' });

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

function sendJson(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'access-control-allow-origin': '*',
  });
  res.end(body);
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

function proxy(req: IncomingMessage, res: ServerResponse, target: Upstream, path: string): void {
  const upstreamReq = http.request({
    hostname: target.hostname,
    port: target.port,
    agent: target.agent,
    method: req.method,
    path,
    headers: forwardHeaders(req),
  });
  upstreamReq.on('response', (upstreamRes) => {
    res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, responseHeaders(upstreamRes));
    upstreamRes.pipe(res);
    upstreamRes.on('error', () => res.destroy());
  });
  upstreamReq.on('error', () => {
    if (res.headersSent) res.destroy();
    else sendJson(res, 502, BAD_UPSTREAM);
  });
  // A client that goes away mid-request must not leave the upstream working for nobody.
  res.on('close', () => {
    if (!res.writableFinished) upstreamReq.destroy();
  });
  req.pipe(upstreamReq);
}

/** Refuses an upgrade with a plain HTTP answer, as Kong does before any websocket exists. */
function refuseUpgrade(socket: Duplex, status: string, body: string): void {
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * Realtime's websocket: browsers cannot set headers on it, so supabase-js sends the key as the
 * `apikey` query parameter, which key-auth accepts as it does for any route.
 */
function upgradeRealtime(options: GatewayOptions, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const url = req.url ?? '/';
  const pathname = url.split('?', 1)[0];
  if (!options.realtime || (pathname !== '/realtime/v1/websocket' && pathname !== '/realtime/v1/websocket/')) {
    return refuseUpgrade(socket, '404 Not Found', NOT_FOUND);
  }
  const header = req.headers.apikey;
  const apiKey = typeof header === 'string' ? header : queryApiKey(url);
  if (apiKey === undefined) return refuseUpgrade(socket, '401 Unauthorized', NO_API_KEY);
  if (apiKey !== options.apiKeys.anon && apiKey !== options.apiKeys.serviceRole) {
    return refuseUpgrade(socket, '401 Unauthorized', INVALID_API_KEY);
  }
  options.realtime.handleUpgrade(req, socket, head, apiKey);
}

function isOpenAuthPath(remainder: string): boolean {
  const pathname = remainder.split('?')[0].replace(/\/+$/, '');
  return pathname === '/verify';
}

export function startGateway(options: GatewayOptions): Promise<Gateway> {
  const rest = upstream(options.restUrl);
  const functions = upstream(options.functionsUrl);
  const { anon, serviceRole } = options.apiKeys;

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

    // Browsers send preflights without credentials; Kong's cors plugin answers them before key-auth.
    // The link in an auth mail is opened by a browser with no key: Kong serves /auth/v1/verify open.
    if (req.method !== 'OPTIONS' && !(service === 'auth' && isOpenAuthPath(remainder))) {
      const header = req.headers.apikey;
      const apiKey = typeof header === 'string' ? header : queryApiKey(url);
      if (apiKey === undefined) return sendJson(res, 401, NO_API_KEY);
      if (apiKey !== anon && apiKey !== serviceRole) return sendJson(res, 401, INVALID_API_KEY);
      if (header === undefined) remainder = withoutApiKeyParam(remainder);
      // As the Supabase CLI's Kong: a request with only an apikey acts with that key's role.
      if (req.headers.authorization === undefined) req.headers.authorization = `Bearer ${apiKey}`;
    }

    if (service === 'rest') proxy(req, res, rest, remainder);
    else if (service === 'functions') proxy(req, res, functions, remainder);
    else options.auth(req, res, remainder);
  });
  server.keepAliveTimeout = 65_000;
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
