import { z } from '@hono/zod-openapi';

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

export const SearchFilterSchema = z
  .object({
    metadata: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), z.union([Scalar, z.array(z.union([z.string(), z.number()])).min(1)])).optional()
      .openapi({ description: 'Equality on metadata fields; an array means any of its values', example: { journal: ['Cell', 'Nature'] } }),
    labels: z.array(z.string()).min(1).optional().openapi({ description: 'Documents with any of these labels' }),
    year: z.object({ gte: z.number().int().optional(), lte: z.number().int().optional() }).optional().openapi({ description: 'Publication year range (from metadata year/pub_year/date)' }),
  })
  .openapi('SearchFilter');

export const SearchRequestSchema = z
  .object({
    query: z.string().min(1).max(100_000).optional().openapi({ description: 'Text, embedded at interactive priority', example: 'aspirin and platelet aggregation' }),
    vector: z.array(z.number()).min(1).optional().openapi({ description: 'A query vector of the collection\'s dimension' }),
    like: z.string().min(1).optional().openapi({ description: 'Find documents similar to this document id (itself excluded)' }),
    k: z.number().int().min(1).max(1000).default(10),
    offset: z.number().int().min(0).max(10_000).default(0),
    score_threshold: z.number().optional(),
    filter: SearchFilterSchema.optional(),
    with_text: z.boolean().default(true).openapi({ description: 'Include the best chunk\'s text' }),
  })
  .refine((r) => [r.query, r.vector, r.like].filter((x) => x !== undefined).length === 1, { message: 'give exactly one of query, vector or like', path: ['query'] })
  .openapi('SearchRequest');

export type SearchRequest = z.infer<typeof SearchRequestSchema>;

export const SearchResponseSchema = z
  .object({
    results: z.array(z.object({
      id: z.string(),
      score: z.number(),
      title: z.string().nullable(),
      metadata: z.record(z.string(), z.unknown()),
      labels: z.array(z.string()),
      chunk: z.object({ index: z.number().int(), start: z.number().int(), end: z.number().int(), text: z.string().optional() }),
    })),
    query_tokens: z.number().int().optional(),
    took_ms: z.number(),
  })
  .openapi('SearchResponse');
