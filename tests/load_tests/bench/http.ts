// HTTP for the benchmark: an undici pool of keep-alive connections per phase, one connection per
// client (no pipelining), so the concurrency the table names is the concurrency the stack sees.

import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or null when the body is not JSON. */
  body: unknown;
  text: string;
}

export type Headers = Record<string, string>;

const REQUEST_TIMEOUT_MS = 10_000;

export class HttpClient {
  private readonly pool: Pool;

  constructor(origin: string, connections: number) {
    this.pool = new Pool(origin, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
  }

  async send(method: 'GET' | 'POST', path: string, headers: Headers, body?: unknown): Promise<HttpAnswer> {
    const res = await this.pool.request({
      method,
      path,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON (a proxy's error page): the outcome check sees null and says so.
    }
    return { status: res.statusCode, headers: res.headers, body: parsed, text };
  }

  post(path: string, body: unknown, headers: Headers): Promise<HttpAnswer> {
    return this.send('POST', path, headers, body);
  }

  get(path: string, headers: Headers): Promise<HttpAnswer> {
    return this.send('GET', path, headers);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** A fresh key per money request, as a kiosk or the frontend sends one per payment. */
export function withIdempotencyKey(headers: Headers): Headers {
  return { ...headers, 'idempotency-key': randomUUID() };
}

/** What an unexpected answer was, in a line. */
export function describeAnswer(answer: HttpAnswer): string {
  return `${answer.status} ${answer.text.slice(0, 200)}`;
}
