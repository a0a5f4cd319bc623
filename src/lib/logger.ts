import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs (pino). The server logs to stdout; CLI commands pass stderr so their stdout
 * stays theirs. Never log text, vectors or secrets: ids, counts and sizes only. Errors go
 * through serializeError, which drops query parameters (document text, vectors).
 */
export function createLogger(opts: { level: string; destination?: 'stdout' | 'stderr' | DestinationStream }): Logger {
  const destination = typeof opts.destination === 'object' ? opts.destination : pino.destination(opts.destination === 'stderr' ? 2 : 1);
  return pino({
    level: opts.level,
    base: { service: 'biovec' },
    redact: ['req.headers.authorization', '*.hfToken', '*.qdrantApiKey'],
    serializers: { err: serializeError, error: serializeError },
  }, destination);
}

export const silentLogger = (): Logger => pino({ level: 'silent' });

// Fields of Node, pg and PGlite errors that say what failed without carrying data. Everything
// else is left out: pg's `detail` ("Failing row contains (…)"), `where`, drizzle's `params`.
const SAFE_FIELDS = ['code', 'errno', 'syscall', 'severity', 'routine', 'schema', 'table', 'column', 'constraint', 'dataType', 'status', 'statusCode', 'retryAfterS'];
const MAX_DEPTH = 5;

/**
 * An error as a log object without the data it was about (issue 10: a failed batch logged
 * its 63 abstracts). Drizzle puts a failed query's parameters into its message and stack
 * (`Failed query: …\nparams: …`), and database errors may quote a value; every parameter
 * found on the cause chain is cut from every message and stack, and only SAFE_FIELDS are kept.
 */
export function serializeError(err: unknown): Record<string, unknown> {
  const params = new Set<string>();
  collectParams(err, params, 0);
  return serializeAt(err, [...params].filter((p) => p.length >= 4).sort((a, b) => b.length - a.length), 0);
}

function collectParams(err: unknown, into: Set<string>, depth: number): void {
  if (!(err instanceof Error) || depth > MAX_DEPTH) return;
  const params = (err as { params?: unknown }).params;
  if (Array.isArray(params)) for (const p of params) into.add(typeof p === 'string' ? p : JSON.stringify(p) ?? '');
  collectParams(err.cause, into, depth + 1);
}

function serializeAt(err: unknown, params: string[], depth: number): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err, message: '[a thrown non-error value, not logged]' };
  const message = scrub(withoutDrizzleParams(err.message), params);
  const out: Record<string, unknown> = { type: err.constructor?.name ?? err.name, message };
  if (err.stack) out.stack = scrub(err.stack.replace(err.message, () => message), params);
  const fields = err as unknown as Record<string, unknown>;
  for (const field of SAFE_FIELDS) {
    const value = fields[field];
    if (typeof value === 'string' || typeof value === 'number') out[field] = value;
  }
  if (typeof fields.query === 'string') out.query = fields.query; // SQL with $n placeholders
  if (err.cause !== undefined && depth < MAX_DEPTH) out.cause = serializeAt(err.cause, params, depth + 1);
  if (err instanceof AggregateError && depth < MAX_DEPTH) out.errors = err.errors.slice(0, 5).map((e) => serializeAt(e, params, depth + 1));
  return out;
}

/** Drizzle's `Failed query: <sql>\nparams: <values>`: the SQL is kept, the values are not. */
function withoutDrizzleParams(message: string): string {
  const at = message.indexOf('\nparams: ');
  return at === -1 ? message : `${message.slice(0, at)}\nparams: [redacted]`;
}

function scrub(text: string, params: string[]): string {
  let out = text;
  for (const p of params) out = out.split(p).join('[redacted]');
  return out;
}
