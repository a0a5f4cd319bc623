import { z } from '@hono/zod-openapi';
import type { ImportJobState, JobRecord, JobStatus } from './job-store.js';

export const JobSchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    status: z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']),
    collection_id: z.number().int().nullable(),
    format: z.string().optional(),
    done: z.number().int().describe('Documents ingested (created, updated or unchanged)'),
    failed: z.number().int().describe('Records skipped, each listed in errors'),
    created: z.number().int(),
    updated: z.number().int(),
    unchanged: z.number().int(),
    total: z.number().int().nullable().describe('Records in the file when known (not for streamed XML)'),
    progress: z.number().describe('Fraction of the job done, 0..1: of the records in its batches once the file is read, else estimated from the bytes read'),
    rate_per_s: z.number().nullable().describe('Records per second since the job started'),
    eta_s: z.number().nullable(),
    errors: z.array(z.object({ record: z.number().int(), detail: z.string() })).describe('Skipped records with their line/record numbers (first 1000)'),
    error: z.string().optional().describe('Why a failed job stopped, naming the record or line where it could'),
    created_at: z.string(),
    finished_at: z.string().nullable(),
  })
  .openapi('Job');

export function jobView(job: JobRecord): z.infer<typeof JobSchema> {
  const state = job.state as unknown as ImportJobState;
  // The sum of finished batches over the records batched, scaled by how much of the file was read.
  const records = job.done + job.failed;
  const planned = state.plannedRecords ?? 0;
  const read = state.planned ? 1 : state.bytes > 0 ? Math.min(1, (state.bytesRead ?? 0) / state.bytes) : 0;
  const progress = job.status === 'completed' ? 1 : planned > 0 ? Math.min(1, (records / planned) * read) : 0;
  const started = state.startedAt ? Date.parse(state.startedAt) : undefined;
  const end = job.finishedAt ? job.finishedAt.getTime() : Date.now();
  const seconds = started ? Math.max(0.001, (end - started) / 1000) : undefined;
  const rate = seconds && records > 0 ? Number((records / seconds).toFixed(2)) : null;
  const eta = job.status === 'running' && seconds && progress > 0 ? Number(((seconds * (1 - progress)) / progress).toFixed(1)) : job.status === 'completed' ? 0 : null;
  return {
    id: job.id, kind: job.kind, status: job.status as JobStatus, collection_id: job.collectionId, format: state.format,
    done: job.done, failed: job.failed, created: state.counts?.created ?? 0, updated: state.counts?.updated ?? 0, unchanged: state.counts?.unchanged ?? 0,
    total: job.total, progress: Number(progress.toFixed(4)), rate_per_s: rate, eta_s: eta,
    // Batches finish in any order; errors read best in record order.
    errors: [...job.errors].sort((a, b) => a.record - b.record),
    ...(state.error ? { error: state.error } : {}),
    created_at: job.createdAt.toISOString(), finished_at: job.finishedAt?.toISOString() ?? null,
  };
}
