import type { z } from 'zod';
import { ApiError, isErrorCode } from './errors.ts';
import { idempotencyKey } from './schemas.ts';

export const MAX_BODY_BYTES = 16 * 1024;

// Reads the request as JSON within the contract's limits and validates it with `schema`.
// A client cannot make a function buffer megabytes by lying in (or omitting) Content-Length: a
// declared length over the limit is refused before reading, the server reads no more than the
// declared length (HTTP frames the body by it), and a body without one is read as a stream and
// abandoned past the limit.
export async function readJsonBody<Schema extends z.ZodType>(
  request: Request,
  schema: Schema,
): Promise<z.output<Schema>> {
  requireJsonContentType(request);
  const text = await readTextWithinLimit(request, MAX_BODY_BYTES);
  return validate(schema, parseJson(text), 'The request body is not valid.');
}

// A GET route's parameters, from the query string, validated as a body is. A parameter given twice
// (`?shop_id=A&shop_id=B`) is refused, as a body naming a key twice is: each reader may take another.
export function readQuery<Schema extends z.ZodType>(request: Request, schema: Schema): z.output<Schema> {
  const params = new URL(request.url).searchParams;
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (seen.has(key)) {
      throw new ApiError('validation_failed', `The query gives the parameter "${key}" more than once.`, [
        { code: 'custom', path: [key], message: 'must be given once' },
      ]);
    }
    seen.add(key);
  }
  return validate(schema, Object.fromEntries(params), 'The query parameters are not valid.');
}

// The one check of a body or a query against its schema.
function validate<Schema extends z.ZodType>(schema: Schema, value: unknown, message: string): z.output<Schema> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw contractIssue(result.error.issues) ?? new ApiError('validation_failed', message, result.error.issues);
  }
  return result.data;
}

/**
 * A body or query whose one problem has a code of its own in the contract (a phone that is no Korean
 * mobile number: `invalid_phone`, as SQL answers it) is refused with that code, so the caller meets the
 * same code whichever layer saw the problem first; anything else is `validation_failed` with every issue.
 */
function contractIssue(issues: readonly z.core.$ZodIssue[]): ApiError | undefined {
  if (issues.length !== 1 || issues[0].code !== 'custom') return undefined;
  const { contract_code: code, details } = (issues[0].params ?? {}) as { contract_code?: unknown; details?: unknown };
  if (!isErrorCode(code)) return undefined;
  return new ApiError(code, `${issues[0].path.join('.')} ${issues[0].message}`, details ?? null);
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
  if (request.headers.has('content-length')) {
    // Read in one go (the runtime's fast path, no reader and no promise per chunk); still checked,
    // for a Request made in code rather than read from the network.
    const bytes = new Uint8Array(await request.arrayBuffer());
    if (bytes.byteLength > limit) throw tooLarge();
    return decodeUtf8(bytes);
  }

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
  return decodeUtf8(bytes);
}

function decodeUtf8(bytes: Uint8Array): string {
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
  const problem = findSpellingProblem(text);
  if (problem === null) return value;
  if ('duplicateKey' in problem) {
    // JSON.parse keeps the last of two equal keys, while a proxy, a log or a signature may have read the
    // first: `{"amount":1,"amount":30000}` must not mean two things. RFC 8259 leaves it open; we refuse.
    const key = problem.duplicateKey;
    throw new ApiError('invalid_json', `The body names the key "${key}" twice in one object.`, { key });
  }
  // JSON.parse reads 1e3 and 1000.0 as the integer 1000; amounts are KRW written as plain
  // integers, so such spellings are refused before they can pass as one.
  throw new ApiError('validation_failed', 'The request body is not valid.', [
    {
      code: 'custom',
      path: [],
      message: `numbers must be plain integers without a fraction or exponent (found ${problem.nonIntegerNumber})`,
    },
  ]);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

export type SpellingProblem = { duplicateKey: string } | { nonIntegerNumber: string };

// What JSON.parse accepts but its value hides, found in one pass over text it accepted (so the token
// structure is known to be valid): the first key named twice in one object, compared after unescaping
// (`"\u0061mount"` is `"amount"`), else the first number literal outside strings with a fraction or an
// exponent. A duplicate wins wherever it stands, since it makes the body mean two things.
export function findSpellingProblem(json: string): SpellingProblem | null {
  const objects: (Set<string> | null)[] = []; // null for an array
  let expectKey = false;
  let nonIntegerNumber: string | null = null;
  const length = json.length;
  for (let i = 0; i < length; i++) {
    const char = json.charCodeAt(i);
    if (char === QUOTE) {
      const start = i;
      let escaped = false;
      for (i++; json.charCodeAt(i) !== QUOTE; i++) {
        if (json.charCodeAt(i) === BACKSLASH) {
          escaped = true;
          i++;
        }
      }
      const keys = objects[objects.length - 1];
      if (keys && expectKey) {
        const key = escaped ? (JSON.parse(json.slice(start, i + 1)) as string) : json.slice(start + 1, i);
        if (keys.has(key)) return { duplicateKey: key };
        keys.add(key);
        expectKey = false;
      }
    } else if (char === OPEN_BRACE) {
      objects.push(new Set());
      expectKey = true;
    } else if (char === OPEN_BRACKET) objects.push(null);
    else if (char === CLOSE_BRACE || char === CLOSE_BRACKET) objects.pop();
    else if (char === COMMA) expectKey = objects[objects.length - 1] !== null;
    else if (char === MINUS || (char >= DIGIT_0 && char <= DIGIT_9)) {
      const start = i;
      let integer = true;
      for (; i + 1 < length; i++) {
        const next = json.charCodeAt(i + 1);
        if (next === DOT || next === LOWER_E || next === UPPER_E) integer = false;
        else if (!((next >= DIGIT_0 && next <= DIGIT_9) || next === PLUS || next === MINUS)) break;
      }
      if (!integer && nonIntegerNumber === null) nonIntegerNumber = json.slice(start, i + 1);
    }
  }
  return nonIntegerNumber === null ? null : { nonIntegerNumber };
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
