import { z } from '@hono/zod-openapi';

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: '/problems/invalid-input' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    requestId: z.string(),
    errors: z.array(z.object({ pointer: z.string(), detail: z.string() })).optional(),
  })
  .openapi('Problem');

const problem = (description: string) => ({ content: { 'application/problem+json': { schema: ProblemSchema } }, description });

/** The error responses a route can give, from the one problem table. */
export const errorResponses = {
  400: problem('Malformed request (not JSON, not UTF-8)'),
  404: problem('Collection or document not found'),
  409: problem('Conflict'),
  413: problem('Body or batch too large'),
  422: problem('Invalid input: `errors` names each field'),
  429: problem('Overloaded: retry after the Retry-After header'),
  503: problem('A dependency (vector index, database) is unavailable'),
};

export const CollectionParams = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, _ . - (max 63), starting with a letter or digit').openapi({ param: { name: 'name', in: 'path' }, example: 'default' }),
});

export const DocumentParams = CollectionParams.extend({
  id: z.string().min(1).max(512).openapi({ param: { name: 'id', in: 'path' }, example: 'pmid:29768149' }),
});
