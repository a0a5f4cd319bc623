import type { Context } from 'hono';
import { AppError, InvalidInputError, OverloadedError, UpstreamUnavailableError, type ErrorCode, type FieldIssue } from '../lib/errors.js';

/** Stable problem types: one row per error code. Drives responses and the OpenAPI docs. */
export const PROBLEMS: Record<ErrorCode | 'malformed' | 'internal' | 'unauthorized' | 'forbidden' | 'unsupported-media-type' | 'method-not-allowed', { status: number; title: string }> = {
  'invalid-input': { status: 422, title: 'Invalid input' },
  malformed: { status: 400, title: 'Malformed request' },
  'not-found': { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'Conflict' },
  'payload-too-large': { status: 413, title: 'Payload too large' },
  overloaded: { status: 429, title: 'Too many requests' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'upstream-unavailable': { status: 503, title: 'Service unavailable' },
  'model-error': { status: 500, title: 'Model error' },
  internal: { status: 500, title: 'Internal error' },
};

export type ProblemCode = keyof typeof PROBLEMS;

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId: string;
  errors?: FieldIssue[];
  [extension: string]: unknown;
}

/** A malformed body (not JSON, not UTF-8): 400, unlike a well-formed body that breaks the schema (422). */
export class MalformedRequestError extends AppError {
  constructor(detail: string) {
    super('invalid-input', detail);
  }
}

export function problemBody(c: Context, code: ProblemCode, detail: string, extra: Record<string, unknown> = {}): ProblemBody {
  const { status, title } = PROBLEMS[code];
  const body: ProblemBody = { type: `/problems/${code}`, title, status, detail, instance: c.req.path, requestId: String(c.get('requestId') ?? ''), ...extra };
  if (isOpenAiPath(c.req.path)) body.error = openAiError(body, code);
  return body;
}

/** The OpenAI-compatible routes, whose clients read only `error.message` (issue 12). */
export const isOpenAiPath = (path: string) => path === '/v1/embeddings' || path === '/v1/models';

/**
 * OpenAI's error member, added beside the problem+json fields so that both kinds of client
 * read the reason: the openai SDK prints `error.message` and nothing else. `param` is the top
 * field of the first failing pointer (`/input/1` → `input`), `code` the problem type's slug.
 */
function openAiError(body: ProblemBody, code: ProblemCode) {
  const pointer = body.errors?.[0]?.pointer;
  const param = pointer ? (pointer.split('/')[1] ?? null) || null : null;
  const type = body.status === 401 ? 'authentication_error' : body.status === 403 ? 'permission_error' : body.status === 429 ? 'rate_limit_error' : body.status >= 500 ? 'server_error' : 'invalid_request_error';
  return { message: body.detail, type, param, code };
}

export function problemResponse(c: Context, code: ProblemCode, detail: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Response {
  const body = problemBody(c, code, detail, extra);
  return new Response(JSON.stringify(body), { status: body.status, headers: { 'content-type': 'application/problem+json', ...headers } });
}

/**
 * Maps any thrown value to problem+json. AppErrors show their public detail; anything else
 * is a 500 with a generic detail (the full error goes to the log with the request id).
 */
export function errorToResponse(c: Context, err: unknown, log: (err: unknown) => void): Response {
  // A dependency failure wrapped by a library (drizzle wraps pool errors in its own query
  // error) is still a 503.
  const upstream = err instanceof AppError ? undefined : upstreamCause(err);
  if (upstream) {
    log(err);
    return problemResponse(c, 'upstream-unavailable', upstream.detail, {}, { 'retry-after': '1' });
  }
  if (err instanceof MalformedRequestError) return problemResponse(c, 'malformed', err.detail);
  if (err instanceof OverloadedError) {
    return problemResponse(c, 'overloaded', err.detail, {}, { 'retry-after': String(err.retryAfterS) });
  }
  if (err instanceof AppError) {
    const extra: Record<string, unknown> = { ...err.extensions };
    if (err instanceof InvalidInputError && err.issues.length > 0) extra.errors = err.issues;
    if (err.code === 'model-error' || err.code === 'upstream-unavailable') log(err);
    return problemResponse(c, err.code, err.detail, extra);
  }
  log(err);
  return problemResponse(c, 'internal', 'the server failed to handle this request; it has been logged with the request id');
}

function upstreamCause(err: unknown): UpstreamUnavailableError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof UpstreamUnavailableError) return e;
  }
  return undefined;
}
