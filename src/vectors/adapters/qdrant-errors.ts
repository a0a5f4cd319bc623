import {
  QdrantClientResourceExhaustedError,
  QdrantClientTimeoutError,
  QdrantClientUnexpectedResponseError,
} from '@qdrant/js-client-rest';
import { AppError, ConflictError, InvalidInputError, NotFoundError, UpstreamUnavailableError } from '../../lib/errors.js';

/** What a failed call was doing, for the error detail. */
export interface QdrantCallContext {
  /** e.g. `upsert into pubmed_v2`. */
  action: string;
  /** The collection (or alias) the call addressed; a 404 names it. */
  collection: string;
}

/** The shape of @qdrant/openapi-typescript-fetch's ApiError, which the client throws for non-2xx answers. */
interface HttpFailure {
  status: number;
  statusText?: string;
  data?: unknown;
  headers?: Headers;
}

// Failures of the connection itself that a new attempt can outlive: a restart, a dropped
// keep-alive socket, a DNS hiccup. Node's fetch reports them as TypeError('fetch failed') with
// the code on `cause`.
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT',
]);

function asHttpFailure(err: unknown): HttpFailure | undefined {
  if (!(err instanceof Error) || !('status' in err) || typeof err.status !== 'number') return undefined;
  return err as Error & HttpFailure;
}

function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function isNetworkFailure(err: unknown): boolean {
  return (err instanceof TypeError && err.message === 'fetch failed') || TRANSIENT_NETWORK_CODES.has(networkCode(err) ?? '');
}

// Client 1.17.0 turns a 429 into QdrantClientResourceExhaustedError, or, when Retry-After is
// not a number, throws a bare CustomError('Invalid retryAfter value: …') from the constructor.
function isRateLimited(err: unknown): boolean {
  if (err instanceof QdrantClientResourceExhaustedError) return true;
  if (asHttpFailure(err)?.status === 429) return true;
  return err instanceof Error && err.message.startsWith('Invalid retryAfter value');
}

/** Whether a raw client failure is worth another attempt: a timeout, a 429, a 5xx or a dropped connection; never another 4xx. */
export function isTransientQdrantError(err: unknown): boolean {
  if (err instanceof QdrantClientTimeoutError || isRateLimited(err)) return true;
  const status = asHttpFailure(err)?.status;
  if (status !== undefined) return status >= 500;
  return TRANSIENT_NETWORK_CODES.has(networkCode(err) ?? '');
}

/**
 * Qdrant's Retry-After hint in ms, when a 429 carries one. Qdrant sends whole seconds. Client
 * 1.17.0 keeps only the header's first character (`headers.get(...)?.[0]`), so a hint of 10 s
 * or more arrives shortened; the backoff still applies on top.
 */
export function qdrantRetryAfterMs(err: unknown): number | undefined {
  if (err instanceof QdrantClientResourceExhaustedError && Number.isFinite(err.retry_after)) return err.retry_after * 1000;
  const header = asHttpFailure(err)?.headers?.get('retry-after');
  const seconds = header ? Number(header) : NaN;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** Qdrant's own message from an error body `{ status: { error: "…" } }`. */
function qdrantMessage(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null || !('status' in data)) return undefined;
  const status = (data as { status: unknown }).status;
  if (typeof status !== 'object' || status === null || !('error' in status)) return undefined;
  const message = (status as { error: unknown }).error;
  return typeof message === 'string' ? message : undefined;
}

function translateHttpFailure(failure: HttpFailure, ctx: QdrantCallContext, cause: unknown): AppError {
  const message = qdrantMessage(failure.data);
  const said = message ?? `${failure.status} ${failure.statusText ?? ''}`.trim();
  if (failure.status >= 500) return new UpstreamUnavailableError(`Qdrant failed (${ctx.action}): ${said}`, { cause });
  if (failure.status === 429) return new UpstreamUnavailableError(`Qdrant is rate-limiting requests (${ctx.action})`, { cause });
  // An answer without Qdrant's error body comes from a proxy or an old server lacking the
  // endpoint, not from a missing collection.
  if (failure.status === 404) {
    return message !== undefined
      ? new NotFoundError('collection', ctx.collection, { cause })
      : new UpstreamUnavailableError(`Qdrant has no such endpoint (${ctx.action}); check the Qdrant URL and the server version (1.10 or later)`, { cause });
  }
  if (failure.status === 409) return new ConflictError(`Qdrant refused (${ctx.action}): ${said}`, { cause });
  // Bad credentials are the operator's to fix, not the caller's input: report the index as unusable.
  if (failure.status === 401 || failure.status === 403) {
    return new UpstreamUnavailableError(`Qdrant refused the credentials with ${failure.status} (${ctx.action})`, { cause });
  }
  return new InvalidInputError(`Qdrant rejected the request (${ctx.action}): ${said}`, [], { cause });
}

/**
 * Translates a failure of a Qdrant client call into the app's typed errors, so no client class
 * crosses the port: timeouts, 429s, 5xx and connection failures → UpstreamUnavailableError;
 * 404 → NotFoundError('collection', …); 409 → ConflictError; other 4xx → InvalidInputError with
 * Qdrant's message. App errors and unrecognised errors (our own bugs) pass through unchanged.
 */
export function translateQdrantError(err: unknown, ctx: QdrantCallContext): unknown {
  if (err instanceof AppError) return err;
  if (err instanceof QdrantClientTimeoutError) {
    return new UpstreamUnavailableError(`Qdrant did not answer in time (${ctx.action})`, { cause: err });
  }
  if (isRateLimited(err) && !asHttpFailure(err)) {
    return new UpstreamUnavailableError(`Qdrant is rate-limiting requests (${ctx.action})`, { cause: err });
  }
  const failure = asHttpFailure(err);
  if (failure) return translateHttpFailure(failure, ctx, err);
  if (isNetworkFailure(err)) {
    const code = networkCode(err);
    return new UpstreamUnavailableError(`Qdrant is unreachable${code ? `: ${code}` : ''} (${ctx.action})`, { cause: err });
  }
  if (err instanceof QdrantClientUnexpectedResponseError) {
    return new UpstreamUnavailableError(`Qdrant gave an unexpected answer (${ctx.action})`, { cause: err });
  }
  return err;
}
