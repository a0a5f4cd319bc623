import type { CollectionConfig } from '../../src/catalog/collections.js';

export const CHAOS_COLLECTION: CollectionConfig = {
  name: 'chaos', modelId: 'test/hash-embedder', modelRevision: 'v1', pooling: 'mean', normalize: true, maxTokens: 24, dims: 32, distance: 'cosine', queryPrefix: '', documentPrefix: '', chunkOverlap: 4,
};
