import { z } from '@hono/zod-openapi';
import { stringProblem } from '../documents/validate-document-fields.js';
import { storableString } from '../http/common-schemas.js';

/** Largest finite float32: vectors are stored and scored as float32, where 1e39 is Infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38;

const METADATA_KEY = /^[A-Za-z0-9_.-]{1,128}$/;

/** Why one metadata filter entry is unusable, or undefined. */
function metadataFilterProblem(key: string, value: unknown): { path: (string | number)[]; message: string } | undefined {
  if (key === '__proto__' || !METADATA_KEY.test(key)) return { path: [key], message: 'metadata keys are letters, digits, _ . - (1-128)' };
  const isScalar = (v: unknown) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean';
  const problemOf = (v: unknown) => (typeof v === 'string' ? stringProblem(v) : undefined);
  if (Array.isArray(value)) {
    if (value.length === 0 || value.length > 1000) return { path: [key], message: 'must list 1 to 1000 values' };
    const bad = value.findIndex((v) => !(typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) || problemOf(v));
    if (bad >= 0) return { path: [key, bad], message: problemOf(value[bad]) ?? 'must be a string or a number' };
    return undefined;
  }
  if (!isScalar(value)) return { path: [key], message: 'must be a string, number, boolean or a non-empty array of strings or numbers' };
  const problem = problemOf(value);
  return problem ? { path: [key], message: problem } : undefined;
}

/**
 * Equality on metadata fields. Checked on the object as sent (z.record would rebuild it and
 * silently drop a `__proto__` key, turning a filter into no filter).
 */
const MetadataFilterSchema = z
  .custom<Record<string, string | number | boolean | (string | number)[]>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be a JSON object')
  .superRefine((filter, ctx) => {
    for (const [key, value] of Object.entries(filter)) {
      const problem = metadataFilterProblem(key, value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
    }
  })
  .openapi({
    type: 'object',
    // JSON Schema 2020-12 (OpenAPI 3.1); the generator's types only know OpenAPI 3.0.
    ...({ propertyNames: { pattern: METADATA_KEY.source, not: { const: '__proto__' } } } as object),
    additionalProperties: {
      anyOf: [
        { type: 'string', pattern: '^[^\\u0000]*$' }, { type: 'number' }, { type: 'boolean' },
        { type: 'array', minItems: 1, maxItems: 1000, items: { anyOf: [{ type: 'string', pattern: '^[^\\u0000]*$' }, { type: 'number' }] } },
      ],
    },
    description: 'Equality on metadata fields; an array means any of its values',
    example: { journal: ['Cell', 'Nature'] },
  });

// Strict: an unknown key (a typo, `__proto__`) is refused rather than silently matching everything.
export const SearchFilterSchema = z
  .object({
    metadata: MetadataFilterSchema.optional(),
    labels: z.array(storableString()).min(1).max(1000).optional().openapi({ description: 'Documents with any of these labels' }),
    year: z.object({ gte: z.number().int().optional(), lte: z.number().int().optional() }).strict().optional().openapi({ description: 'Publication year range (from metadata year/pub_year/date)' }),
  })
  .strict()
  .openapi('SearchFilter');

export const FusionSchema = z
  .object({
    method: z.enum(['weighted', 'rrf']).default('weighted').openapi({ description: 'weighted: min-max normalised scores, dense_weight·dense + (1 − dense_weight)·lexical; rrf: reciprocal rank fusion, Σ 1/(rrf_k + rank)' }),
    dense_weight: z.number().min(0).max(1).default(0.55).openapi({ description: 'weighted: the dense leg\'s share of the fused score' }),
    rrf_k: z.number().int().min(1).max(10_000).default(60).openapi({ description: 'rrf: the k in 1/(k + rank)' }),
  })
  .strict()
  .openapi('SearchFusion');

export const SearchRequestSchema = z
  .object({
    query: storableString({ notBlank: true }).min(1).max(100_000).optional().openapi({ description: 'Text, embedded at interactive priority', example: 'aspirin and platelet aggregation' }),
    vector: z.array(z.number().min(-FLOAT32_MAX).max(FLOAT32_MAX)).min(1).max(65_536).optional().openapi({ description: 'A query vector of the collection\'s dimension (float32 values)' }),
    like: storableString().min(1).max(512).optional().openapi({ description: 'Find documents similar to this document id (itself excluded); 422 when the collection has no such document' }),
    k: z.number().int().min(1).max(1000).default(10),
    offset: z.number().int().min(0).max(10_000).default(0),
    score_threshold: z.number().optional().openapi({ description: 'Keep hits scoring at least this, on the score of the mode that runs (dense: cosine/dot similarity, or at most this euclid distance; lexical: BM25; hybrid: the fused score)' }),
    filter: SearchFilterSchema.optional(),
    with_text: z.boolean().default(true).openapi({ description: 'Include the best chunk\'s text' }),
    mode: z.enum(['dense', 'lexical', 'hybrid']).optional().openapi({ description: 'dense: k-NN over the vectors; lexical: BM25 over the chunk text; hybrid: both, fused. Default: hybrid for a text query on a collection with a lexical index, else dense (also when score_threshold is given without a mode: it is then a dense similarity, as before hybrid search). lexical and hybrid need `query`; 422 on a collection without a lexical index' }),
    fusion: FusionSchema.optional().openapi({ description: 'How hybrid fuses its legs (default weighted, dense_weight 0.55)' }),
  })
  .strict()
  .refine((r) => [r.query, r.vector, r.like].filter((x) => x !== undefined).length === 1, { message: 'give exactly one of query, vector or like', path: ['query'] })
  .refine((r) => r.mode === undefined || r.mode === 'dense' || r.query !== undefined, { message: 'lexical and hybrid search need a text query', path: ['mode'] })
  .openapi('SearchRequest');

export type SearchRequest = z.infer<typeof SearchRequestSchema>;

const LegPlaceSchema = z.object({ rank: z.number().int(), score: z.number() });

export const SearchResponseSchema = z
  .object({
    results: z.array(z.object({
      id: z.string(),
      score: z.number(),
      title: z.string().nullable(),
      metadata: z.record(z.string(), z.unknown()),
      labels: z.array(z.string()),
      chunk: z.object({ index: z.number().int(), start: z.number().int(), end: z.number().int(), text: z.string().optional() }),
      legs: z.object({ dense: LegPlaceSchema.optional(), lexical: LegPlaceSchema.optional() }).openapi({ description: 'The legs that found this document, with its rank (1-based) and score in each; `score` is the fused one in hybrid mode' }),
    })),
    mode: z.enum(['dense', 'lexical', 'hybrid']).openapi({ description: 'The mode that ran' }),
    query_tokens: z.number().int().optional(),
    took_ms: z.number(),
  })
  .openapi('SearchResponse');
