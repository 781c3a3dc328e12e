import type { z } from 'zod';
import { ApiError, isErrorCode } from './errors.ts';
import { idempotencyKey } from './schemas.ts';

export const MAX_BODY_BYTES = 16 * 1024;

// Reads the request as JSON within the contract's limits and validates it with `schema`.
// The body is read as a stream and abandoned past the limit, so a client cannot make a function
// buffer megabytes by lying in (or omitting) Content-Length.
export async function readJsonBody<Schema extends z.ZodType>(
  request: Request,
  schema: Schema,
): Promise<z.output<Schema>> {
  requireJsonContentType(request);
  const text = await readTextWithinLimit(request, MAX_BODY_BYTES);
  const value = parseJson(text);
  const result = schema.safeParse(value);
  if (!result.success) {
    throw contractIssue(result.error.issues) ??
      new ApiError('validation_failed', 'The request body is not valid.', result.error.issues);
  }
  return result.data;
}

/**
 * A body whose one problem has a code of its own in the contract (a phone that is no Korean mobile
 * number: `invalid_phone`, as SQL answers it) is refused with that code, so the caller meets the same
 * code whichever layer saw the problem first; anything else is `validation_failed` with every issue.
 */
function contractIssue(issues: readonly z.core.$ZodIssue[]): ApiError | undefined {
  if (issues.length !== 1 || issues[0].code !== 'custom') return undefined;
  const { contract_code: code, details } = (issues[0].params ?? {}) as { contract_code?: unknown; details?: unknown };
  if (!isErrorCode(code)) return undefined;
  return new ApiError(code, `${issues[0].path.join('.')} ${issues[0].message}`, details ?? null);
}

// A GET route's parameters, from the query string, validated as a body would be.
export function readQuery<Schema extends z.ZodType>(request: Request, schema: Schema): z.output<Schema> {
  const result = schema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!result.success) {
    throw new ApiError('validation_failed', 'The query parameters are not valid.', result.error.issues);
  }
  return result.data;
}

function requireJsonContentType(request: Request): void {
  const mediaType = (request.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw new ApiError('unsupported_media_type', 'Send the body as application/json.', {
      content_type: request.headers.get('content-type'),
    });
  }
}

// Fatal, so that invalid UTF-8 is refused rather than replaced; one-shot decode() keeps no state.
const utf8 = new TextDecoder('utf-8', { fatal: true });

async function readTextWithinLimit(request: Request, limit: number): Promise<string> {
  const tooLarge = () =>
    new ApiError('payload_too_large', `The body must be at most ${limit} bytes.`, { limit_bytes: limit });
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  if (request.body === null) return '';

  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ApiError('invalid_json', 'The body is not valid UTF-8 JSON.');
  }
}

function parseJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError('invalid_json', 'The body is not valid JSON.');
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== null) {
    // JSON.parse keeps the last of two equal keys, while a proxy, a log or a signature may have read the
    // first: `{"amount":1,"amount":30000}` must not mean two things. RFC 8259 leaves it open; we refuse.
    throw new ApiError('invalid_json', `The body names the key "${duplicate}" twice in one object.`, { key: duplicate });
  }
  const spelled = findNonIntegerNumberSpelling(text);
  if (spelled !== null) {
    // JSON.parse reads 1e3 and 1000.0 as the integer 1000; amounts are KRW written as plain
    // integers, so such spellings are refused before they can pass as one.
    throw new ApiError('validation_failed', 'The request body is not valid.', [
      {
        code: 'custom',
        path: [],
        message: `numbers must be plain integers without a fraction or exponent (found ${spelled})`,
      },
    ]);
  }
  return value;
}

// Returns the first number literal outside strings that has a fraction or an exponent, or null.
// Only called on text that JSON.parse accepted, so the token structure is known to be valid.
export function findNonIntegerNumberSpelling(json: string): string | null {
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const char = json[i];
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') {
      inString = true;
      continue;
    }
    if (char === '-' || (char >= '0' && char <= '9')) {
      let end = i + 1;
      while (end < json.length && /[0-9.eE+-]/.test(json[end])) end++;
      const literal = json.slice(i, end);
      if (/[.eE]/.test(literal)) return literal;
      i = end - 1;
    }
  }
  return null;
}

// Returns the first key that appears twice in one object (compared after unescaping, so `"\u0061mount"`
// is `"amount"`), or null. Only called on text that JSON.parse accepted.
export function findDuplicateKey(json: string): string | null {
  const objects: (Set<string> | null)[] = []; // null for an array
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const char = json[i];
    if (char === '"') {
      const start = i;
      for (i++; json[i] !== '"'; i++) if (json[i] === '\\') i++;
      const keys = objects[objects.length - 1];
      if (keys && expectKey) {
        const key = JSON.parse(json.slice(start, i + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
    } else if (char === '{') {
      objects.push(new Set());
      expectKey = true;
    } else if (char === '[') objects.push(null);
    else if (char === '}' || char === ']') objects.pop();
    else if (char === ',') expectKey = objects[objects.length - 1] !== null;
  }
  return null;
}

// A kiosk or a browser that retries after a timeout sends the same key again; SQL then returns the
// first result instead of moving the money twice. A money call without a key is refused outright.
export function requireIdempotencyKey(request: Request): string {
  const parsed = idempotencyKey.safeParse(request.headers.get('idempotency-key'));
  if (!parsed.success) {
    throw new ApiError(
      'idempotency_key_required',
      'Send an Idempotency-Key header of 1 to 200 visible ASCII characters, the same on every retry.',
    );
  }
  return parsed.data;
}
