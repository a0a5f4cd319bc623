import type { Context } from 'hono';
import type { ZodError } from 'zod';
import type { FieldIssue } from '../lib/errors.js';
import { problemResponse } from './problem.js';

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
