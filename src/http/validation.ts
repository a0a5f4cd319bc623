import type { Context, MiddlewareHandler } from 'hono';
import type { ZodError } from 'zod';
import type { FieldIssue } from '../lib/errors.js';
import { MalformedRequestError, problemResponse } from './problem.js';

/** zod issues as JSON pointers into the request, e.g. `/filter/year/gte`. */
export function zodIssues(error: ZodError, base = ''): FieldIssue[] {
  return error.issues.map((issue) => ({
    pointer: `${base}/${issue.path.map((p) => String(p).replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`.replace(/\/$/, '') || '/',
    detail: issue.message,
  }));
}

/** The hook OpenAPIHono runs after validation: a schema violation becomes 422 problem+json naming each field. */
export function validationHook(result: { success: boolean; error?: unknown; target?: string }, c: Context): Response | undefined {
  if (result.success) return undefined;
  const issues = zodIssues(result.error as ZodError);
  const where = result.target === 'query' ? 'query parameter' : result.target === 'param' ? 'path parameter' : 'field';
  const detail = issues.slice(0, 3).map((i) => `${where} ${i.pointer}: ${i.detail}`).join('; ');
  return problemResponse(c, 'invalid-input', detail, { errors: issues });
}

/** The JSON pointer of the first string (key or value) holding U+FFFD, where a lossy decode put one. */
function pointerOfReplacement(value: unknown): string | undefined {
  const stack: { value: unknown; pointer: string }[] = [{ value, pointer: '' }];
  while (stack.length > 0) {
    const { value: v, pointer } = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\ufffd')) return pointer || '/';
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        const at = `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
        if (key.includes('\ufffd')) return at;
        stack.push({ value: child, pointer: at });
      }
    }
  }
  return undefined;
}

/**
 * The body must be UTF-8, on every JSON route alike (issue 10: /search and /v1/embeddings took
 * invalid bytes as U+FFFD while /documents refused them). Throws MalformedRequestError (400)
 * naming the field where that can be told. Non-JSON bodies pass on, to the 415 check.
 */
export function invalidUtf8Problem(bytes: ArrayBuffer): MalformedRequestError | undefined {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return undefined;
  } catch {
    let pointer: string | undefined;
    try {
      pointer = pointerOfReplacement(JSON.parse(new TextDecoder('utf-8').decode(bytes)));
    } catch {
      // not JSON either: no field to name
    }
    return new MalformedRequestError(`the body is not valid UTF-8${pointer ? ` (in ${pointer})` : ''}`);
  }
}

/** Route middleware for JSON-body routes: refuses a body that is not UTF-8 before the validator decodes it lossily. */
export const requireUtf8Body: MiddlewareHandler = async (c, next) => {
  if (/json/i.test(c.req.header('content-type') ?? '')) {
    const problem = invalidUtf8Problem(await c.req.arrayBuffer());
    if (problem) throw problem;
  }
  await next();
};
