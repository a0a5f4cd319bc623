import { z } from '@hono/zod-openapi';
import type { CollectionRecord } from '../catalog/collections.js';

export const CollectionSchema = z
  .object({
    name: z.string(),
    model: z.object({ id: z.string(), revision: z.string().nullable(), pooling: z.string(), normalize: z.boolean(), max_tokens: z.number().int(), dims: z.number().int(),
      prompts: z.object({ query: z.string(), document: z.string() }).describe('Text put before queries and before document chunks') }),
    distance: z.enum(['cosine', 'dot', 'euclid']),
    chunk_overlap: z.number().int(),
    documents: z.number().int(),
    index: z.string(),
    version: z.number().int().describe('The version in use (see /v1/collections/{name}/versions): its model embeds searches and writes'),
    building: z.object({ version: z.number().int(), model: z.string(), job_id: z.string().nullable(), embedded: z.number().int(), documents: z.number().int() }).nullable().optional()
      .describe('A version being re-indexed in the background, and its progress (documents embedded of all); null when none'),
    created_at: z.string(),
  })
  .openapi('Collection');

/** A building version as the collection view shows it. */
export interface BuildingView {
  version: number;
  model: string;
  job_id: string | null;
  embedded: number;
  documents: number;
}

export type CollectionView = z.infer<typeof CollectionSchema>;

/** `building`: given (null for none) where the caller looked it up (a single collection's view). */
export function collectionView(c: CollectionRecord, documents: number, building?: BuildingView | null): CollectionView {
  return {
    name: c.name,
    model: { id: c.modelId, revision: c.modelRevision, pooling: c.pooling, normalize: c.normalize, max_tokens: c.maxTokens, dims: c.dims, prompts: { query: c.queryPrefix, document: c.documentPrefix } },
    distance: c.distance as CollectionView['distance'],
    chunk_overlap: c.chunkOverlap,
    documents,
    index: c.indexName,
    version: c.version,
    ...(building !== undefined ? { building } : {}),
    created_at: c.createdAt.toISOString(),
  };
}
