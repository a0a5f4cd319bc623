import { z } from '@hono/zod-openapi';
import { findMetadataIssues, stringProblem } from '../documents/validate-document-fields.js';

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: '/problems/invalid-input' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    requestId: z.string(),
    errors: z.array(z.object({ pointer: z.string(), detail: z.string() })).optional(),
    error: z.object({ message: z.string(), type: z.string(), param: z.string().nullable(), code: z.string() }).optional()
      .describe('On the OpenAI-compatible routes (/v1/embeddings, /v1/models): the same reason in OpenAI\'s error shape'),
  })
  .openapi('Problem');

const problem = (description: string) => ({ content: { 'application/problem+json': { schema: ProblemSchema } }, description });

/** The error responses a route can give, from the one problem table. */
export const errorResponses = {
  400: problem('Malformed request (not JSON, not UTF-8)'),
  401: problem('No API key, or one that is unknown or revoked (sent while any key is active, and always off loopback)'),
  403: problem('The API key lacks the scope this request needs'),
  404: problem('Collection or document not found'),
  409: problem('Conflict'),
  413: problem('Body or batch too large'),
  415: problem('Unsupported media type: send the body as application/json'),
  422: problem('Invalid input: `errors` names each field'),
  429: problem('Overloaded, or over the API key\'s rate limit: retry after the Retry-After header'),
  503: problem('A dependency (vector index, database) is unavailable'),
};

/** Answers every authenticated route can give, whatever it does: auth, rate limit, an unavailable catalog. */
export const authErrorResponses = { 401: errorResponses[401], 403: errorResponses[403], 429: errorResponses[429], 503: errorResponses[503] };

/** Answers every route with a JSON body can give, besides authErrorResponses. */
export const jsonBodyErrorResponses = { 400: errorResponses[400], 413: errorResponses[413], 415: errorResponses[415], 422: errorResponses[422] };

/**
 * JavaScript's whitespace (what String#trim removes), spelled out so that the OpenAPI pattern
 * means the same to other regex engines (Python's \s differs: it lacks U+FEFF, adds U+001C-1F).
 */
const WHITESPACE = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

/**
 * A string the catalog can store: no U+0000 (Postgres text and jsonb refuse it) and well-formed
 * Unicode; with `notBlank`, also some non-whitespace. Checked in code, not by the documented
 * pattern, whose backtracking would be quadratic on long hostile input.
 */
export function storableString(opts: { notBlank?: boolean } = {}) {
  return z
    .string()
    .superRefine((value, ctx) => {
      const problem = stringProblem(value) ?? (opts.notBlank && value.trim() === '' ? 'is empty' : undefined);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .openapi({ pattern: opts.notBlank ? `^[^\\u0000]*[^\\u0000${WHITESPACE}][^\\u0000]*$` : '^[^\\u0000]*$' });
}

/**
 * An integer query parameter. z.coerce alone reads `?year_gte=` as 0 (Number('') is 0), a
 * filter nobody asked for; a blank value is refused instead.
 */
export function queryInteger(min: number, max: number) {
  return z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? Number.NaN : v), z.coerce.number().int().min(min).max(max));
}

const STORABLE_KEY = { pattern: '^[^\\u0000]*$', not: { const: '__proto__' } };

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Document metadata: a JSON object, kept as sent (z.record would rebuild it and silently drop
 * a `__proto__` key), within the checks of findMetadataIssues (NUL, depth, `__proto__`).
 */
export const MetadataSchema = z
  .custom<Record<string, unknown>>(isPlainObject, 'must be a JSON object')
  .superRefine((value, ctx) => {
    for (const issue of findMetadataIssues(value)) ctx.addIssue({ code: 'custom', message: issue.detail, path: issue.path });
  })
  .openapi({
    type: 'object',
    ...({ propertyNames: STORABLE_KEY } as object),
    additionalProperties: { $ref: '#/components/schemas/MetadataValue' },
    description: 'Any JSON object, nested at most 32 levels; no U+0000 in keys or strings, no `__proto__` key',
    example: { journal: 'Cell', year: 2018 },
  });

/**
 * The JSON Schema (2020-12, as OpenAPI 3.1 allows) of a metadata value, registered as the
 * `MetadataValue` component by registerSharedSchemas(): recursive, so fuzzers know that
 * nested keys and strings are refused with U+0000 too. The depth limit it cannot state.
 */
const METADATA_VALUE_SCHEMA = {
  anyOf: [
    { type: 'string', pattern: '^[^\\u0000]*$' }, { type: 'number' }, { type: 'boolean' }, { type: 'null' },
    { type: 'array', items: { $ref: '#/components/schemas/MetadataValue' } },
    { type: 'object', propertyNames: STORABLE_KEY, additionalProperties: { $ref: '#/components/schemas/MetadataValue' } },
  ],
};

/** Registers the raw components the route schemas point at; call once per app. */
export function registerSharedSchemas(registry: { registerComponent(type: 'schemas', name: string, component: never): unknown }): void {
  registry.registerComponent('schemas', 'MetadataValue', METADATA_VALUE_SCHEMA as never);
}

export const CollectionParams = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, _ . - (max 63), starting with a letter or digit').openapi({ param: { name: 'name', in: 'path' }, example: 'default' }),
});

export const DocumentParams = CollectionParams.extend({
  id: storableString().min(1).max(512).openapi({ param: { name: 'id', in: 'path' }, example: 'pmid:29768149' }),
});
