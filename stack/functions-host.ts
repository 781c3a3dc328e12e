// Serves every edge function in functions/ from one Deno process, as the Supabase CLI's edge runtime does
// inside Docker: each function keeps its own `Deno.serve(handler)`, the host captures that handler and
// routes `/<name>/...` to it (the gateway strips `/functions/v1`, as Kong does), after the same
// `verify_jwt` check the edge runtime makes. Run by stack/functions.ts; it is local tooling, never deployed.
import { jwtVerify } from 'jose';
import { parse as parseToml } from 'smol-toml';
import { createRouter } from '../functions/_shared/router.ts';
import { importJwtSecret } from './keys.ts';

type ServeHandler = (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Response | Promise<Response>;

interface HostedFunction {
  handler: ServeHandler;
  verifyJwt: boolean;
}

interface FunctionsConfig {
  functions?: Record<string, { verify_jwt?: boolean; entrypoint?: string; enabled?: boolean }>;
}

// Read once, then removed, so that functions see only what Supabase gives them.
const port = Number(Deno.env.get('SUPABASE_INTERNAL_HOST_PORT'));
const restUrl = Deno.env.get('SUPABASE_INTERNAL_REST_URL') ?? '';
const jwtSecretText = Deno.env.get('JWT_SECRET') ?? '';
Deno.env.delete('SUPABASE_INTERNAL_HOST_PORT');
Deno.env.delete('SUPABASE_INTERNAL_REST_URL');
if (!Number.isInteger(port) || port <= 0) throw new Error('SUPABASE_INTERNAL_HOST_PORT must name the port to listen on');
if (restUrl === '') throw new Error("SUPABASE_INTERNAL_REST_URL must name PostgREST's URL");
if (jwtSecretText === '') throw new Error('JWT_SECRET must be set: verify_jwt checks tokens against it');
// Imported once: handing jose the raw secret would import a fresh HMAC key on every request.
const jwtKey = await importJwtSecret(jwtSecretText, ['verify']);

routeServiceCallsToPostgrest({
  supabaseUrl: Deno.env.get('SUPABASE_URL') ?? '',
  restUrl,
  serviceRoleKey: Deno.env.get('SUPABASE_SERVICE_ROLE_KEY') ?? '',
  anonKey: Deno.env.get('SUPABASE_ANON_KEY') ?? '',
});

/**
 * A function's `supabase.rpc` goes to `SUPABASE_URL/rest/v1`, which is the gateway, as Kong is on
 * Supabase. For a call with the service role's key the gateway does nothing but relay (its key check
 * passes, it drops no `Prefer` count, there is no `apikey` parameter to strip), so the host, standing in
 * for the edge runtime's network, sends exactly those calls to PostgREST itself: one hop and one
 * proxy's CPU less per money call. The functions' code is the same as on Supabase; anything else (a
 * user's token, a percent-escape the gateway checks, a Request object) still goes through the gateway.
 * An outage reads the same to the function: PostgREST refusing the connection gives no answer (status
 * 0) where the gateway answered 503, and errors.ts makes both `service_unavailable`; the function's own
 * bound, shorter than the gateway's, still decides `upstream_timeout`.
 */
function routeServiceCallsToPostgrest(stack: { supabaseUrl: string; restUrl: string; serviceRoleKey: string; anonKey: string }) {
  const viaGateway = `${stack.supabaseUrl}/rest/v1/`;
  const direct = `${stack.restUrl}/`;
  const serviceBearer = `Bearer ${stack.serviceRoleKey}`;
  const fetchOverNetwork = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    if (typeof input === 'string' && input.startsWith(viaGateway) && !input.includes('%')) {
      // supabase-js passes a Headers object today; a plain object (or pairs) keeps the shortcut too.
      const headers = init?.headers instanceof Headers ? init.headers : new Headers(init?.headers ?? {});
      const apiKey = headers.get('apikey');
      if (headers.get('authorization') === serviceBearer && (apiKey === stack.serviceRoleKey || apiKey === stack.anonKey)) {
        return fetchOverNetwork(direct + input.slice(viaGateway.length), init);
      }
    }
    return fetchOverNetwork(input, init);
  };
}

const projectRoot = new URL('../', import.meta.url);
const supabaseDir = new URL('supabase/', projectRoot);
const functionsDir = new URL('functions/', projectRoot);

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

async function readConfig(): Promise<FunctionsConfig> {
  try {
    return parseToml(await Deno.readTextFile(new URL('config.toml', supabaseDir))) as FunctionsConfig;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw error;
  }
}

/** Imports one function with `Deno.serve` swapped for a recorder, and returns the handler it registered. */
async function captureHandler(name: string, entrypoint: URL): Promise<ServeHandler> {
  const realServe = Deno.serve;
  let captured: ServeHandler | undefined;
  const recorder = (...args: unknown[]) => {
    const [first, second] = args as [unknown, unknown];
    const handler =
      typeof first === 'function' ? first : typeof second === 'function' ? second : (first as { handler?: unknown })?.handler;
    if (typeof handler !== 'function') throw new Error(`${name}: Deno.serve was called without a handler`);
    if (captured) throw new Error(`${name}: Deno.serve was called twice; a function serves one handler`);
    captured = handler as ServeHandler;
    // What Deno.serve returns, minus the socket: the host owns the one real server.
    return {
      addr: { transport: 'tcp', hostname: '127.0.0.1', port },
      finished: new Promise<void>(() => undefined),
      ref() {},
      unref() {},
      shutdown: () => Promise.resolve(),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    };
  };
  Object.defineProperty(Deno, 'serve', { value: recorder, configurable: true, writable: true });
  try {
    await import(entrypoint.href);
  } finally {
    Object.defineProperty(Deno, 'serve', { value: realServe, configurable: true, writable: true });
  }
  if (!captured) throw new Error(`${name}: ${entrypoint.pathname} did not call Deno.serve while loading`);
  return captured;
}

async function loadFunctions(): Promise<Map<string, HostedFunction>> {
  const config = (await readConfig()).functions ?? {};
  const names: string[] = [];
  for await (const entry of Deno.readDir(functionsDir)) {
    // Folders starting with `_` hold shared code, never a function (the Supabase CLI's rule).
    if (entry.isDirectory && !entry.name.startsWith('_')) names.push(entry.name);
  }
  names.sort();
  const hosted = new Map<string, HostedFunction>();
  for (const name of names) {
    const settings = config[name] ?? {};
    if (settings.enabled === false) continue;
    const entrypoint = settings.entrypoint
      ? new URL(settings.entrypoint, supabaseDir)
      : new URL(`${name}/index.ts`, functionsDir);
    hosted.set(name, { handler: await captureHandler(name, entrypoint), verifyJwt: settings.verify_jwt ?? true });
  }
  return hosted;
}

// Only HS256 is accepted: `alg: none` and algorithm confusion fail here.
async function isValidJwt(token: string): Promise<boolean> {
  try {
    await jwtVerify(token, jwtKey, { algorithms: ['HS256'] });
    return true;
  } catch {
    return false;
  }
}

/** The edge runtime's verify_jwt: a Bearer token signed with the project's secret and not expired. */
async function refuseWithoutValidJwt(request: Request): Promise<Response | undefined> {
  const header = request.headers.get('authorization');
  if (!header) return json(401, { msg: 'Error: Missing authorization header' });
  const [scheme, token] = header.split(' ');
  if (scheme !== 'Bearer' || !token) return json(401, { msg: "Error: Auth header is not 'Bearer {token}'" });
  return (await isValidJwt(token)) ? undefined : json(401, { msg: 'Invalid JWT' });
}

/** `/name/rest?query` -> `name`, without building a URL object per request. */
function functionName(url: string): string {
  const pathStart = url.indexOf('/', url.indexOf('//') + 2);
  let end = pathStart + 1;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) break;
    end++;
  }
  return url.slice(pathStart + 1, end);
}

const functions = await loadFunctions();
const unknownFunction = createRouter('', {});

Deno.serve({
  hostname: '127.0.0.1',
  port,
  onListen: ({ hostname, port }) =>
    console.log(`functions host on http://${hostname}:${port}: ${[...functions.keys()].join(', ') || '(no functions)'}`),
  handler: async (request, info) => {
    const name = functionName(request.url);
    if (name === '_internal') return json(200, { message: 'ok', functions: [...functions.keys()] });
    const fn = functions.get(name);
    // A function with no routes: its router answers 404 route_not_found in the error contract.
    if (!fn) return unknownFunction(request);
    // Preflights carry no credentials; the function answers them itself, as on Supabase.
    if (fn.verifyJwt && request.method !== 'OPTIONS') {
      const refusal = await refuseWithoutValidJwt(request);
      if (refusal) return refusal;
    }
    try {
      return await fn.handler(request, info);
    } catch (error) {
      console.error(`${name}: uncaught error`, error);
      return json(500, { code: 'WORKER_ERROR', message: 'Function exited due to an error (please check logs)' });
    }
  },
});
