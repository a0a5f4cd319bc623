import { z } from '@hono/zod-openapi';
import type { VersionSummary } from './version-service.js';

export const VersionSchema = z
  .object({
    version: z.number().int(),
    status: z.enum(['building', 'ready', 'failed']).describe('building: its re-index runs; ready: complete (may be switched to); failed: its re-index failed or was cancelled'),
    current: z.boolean().describe('Searches, exports and writes use this version'),
    model: z.object({ id: z.string(), revision: z.string().nullable(), pooling: z.string(), normalize: z.boolean(), max_tokens: z.number().int(), dims: z.number().int(), quantize: z.string(),
      prompts: z.object({ query: z.string(), document: z.string() }) }),
    chunk_overlap: z.number().int(),
    index: z.string().describe('The index collection holding its vectors'),
    job_id: z.string().nullable().describe('The re-index job that fills it (GET /v1/jobs/{id}); null for a first version'),
    progress: z.object({ embedded: z.number().int().describe('Documents embedded at this version'), documents: z.number().int().describe('Documents in the collection') }).optional()
      .describe('While building'),
    created_at: z.string(),
    ready_at: z.string().nullable(),
  })
  .openapi('CollectionVersion');

export type VersionView = z.infer<typeof VersionSchema>;

export function versionView(s: VersionSummary): VersionView {
  const v = s.record;
  return {
    version: v.version,
    status: v.status as VersionView['status'],
    current: s.isCurrent,
    model: { id: v.modelId, revision: v.modelRevision, pooling: v.pooling, normalize: v.normalize, max_tokens: v.maxTokens, dims: v.dims, quantize: v.quantize, prompts: { query: v.queryPrefix, document: v.documentPrefix } },
    chunk_overlap: v.chunkOverlap,
    index: v.indexName,
    job_id: v.jobId,
    ...(s.progress ? { progress: { embedded: s.progress.embedded, documents: s.progress.documents } } : {}),
    created_at: v.createdAt.toISOString(),
    ready_at: v.readyAt?.toISOString() ?? null,
  };
}
