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
    created_at: z.string(),
  })
  .openapi('Collection');

export type CollectionView = z.infer<typeof CollectionSchema>;

export function collectionView(c: CollectionRecord, documents: number): CollectionView {
  return {
    name: c.name,
    model: { id: c.modelId, revision: c.modelRevision, pooling: c.pooling, normalize: c.normalize, max_tokens: c.maxTokens, dims: c.dims, prompts: { query: c.queryPrefix, document: c.documentPrefix } },
    distance: c.distance as CollectionView['distance'],
    chunk_overlap: c.chunkOverlap,
    documents,
    index: c.indexName,
    created_at: c.createdAt.toISOString(),
  };
}
