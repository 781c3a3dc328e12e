import { corsHeaders } from './cors.ts';
import { ApiError, errorBody, internalError } from './errors.ts';

export interface Reply {
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
}

export type Handler = (request: Request) => Promise<Reply>;

type Method = 'GET' | 'POST' | 'PATCH';

// Sub-path after the function's name ('' for the function itself) → method → handler.
export type Routes = Record<string, Partial<Record<Method, Handler>>>;

// Everything a function's index.ts would otherwise repeat: CORS on every answer, the request id,
// 404/405, and turning any failure into the error contract. A hosted project hands the function
// `/<name>/<rest>`, the local host `/functions/v1/<name>/<rest>`; both are matched from the name on.
export function createRouter(functionName: string, routes: Routes): (request: Request) => Promise<Response> {
  const allMethods = [...new Set(Object.values(routes).flatMap((methods) => Object.keys(methods)))];
  const cors = corsHeaders(allMethods);

  return async (request) => {
    const requestId = crypto.randomUUID();
    const respond = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      new Response(body === null ? null : JSON.stringify(body), {
        status,
        headers: {
          ...cors,
          ...(body === null ? {} : { 'Content-Type': 'application/json; charset=utf-8' }),
          'X-Request-Id': requestId,
          ...headers,
        },
      });

    if (request.method === 'OPTIONS') return respond(204, null);
    try {
      const pathname = new URL(request.url).pathname;
      const path = subPath(pathname, functionName);
      // Own keys only, so that paths or methods such as `constructor` never reach Object.prototype.
      const methods = path !== null && Object.hasOwn(routes, path) ? routes[path] : undefined;
      if (methods === undefined) throw new ApiError('route_not_found', `No route ${request.method} ${pathname}.`);
      const handler = Object.hasOwn(methods, request.method) ? methods[request.method as Method] : undefined;
      if (!handler) {
        const allow = Object.keys(methods).join(', ');
        throw new ApiError('method_not_allowed', `Use ${allow} here.`, { allow: Object.keys(methods) }, {
          Allow: allow,
        });
      }
      const reply = await handler(request);
      return respond(reply.status ?? 200, reply.body, reply.headers);
    } catch (caught) {
      const error = caught instanceof ApiError ? caught : internalError();
      if (!(caught instanceof ApiError)) logUnexpected(requestId, functionName, request, caught);
      return respond(error.status, errorBody(error, requestId), error.headers);
    }
  };
}

function subPath(pathname: string, functionName: string): string | null {
  const segments = pathname.split('/').filter((segment) => segment !== '');
  const at = segments.indexOf(functionName);
  return at === -1 ? null : segments.slice(at + 1).join('/');
}

// The full cause (a PostgREST error with SQL text, a stack) goes to the function's log only, keyed by
// the request id that the caller received.
function logUnexpected(requestId: string, functionName: string, request: Request, cause: unknown): void {
  console.error(
    JSON.stringify({
      level: 'error',
      request_id: requestId,
      function: functionName,
      method: request.method,
      path: new URL(request.url).pathname,
      cause: cause instanceof Error ? { name: cause.name, message: cause.message, stack: cause.stack } : cause,
    }),
  );
}
