import { and, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { jobs } from '../db/schema.js';
import { NotFoundError } from '../lib/errors.js';
import type { ImportError, ImportFormat, ImportProgress } from './import-records.js';
import type { FieldMapping } from '../ingest/parsers/parsed-record.js';

export type JobRecord = typeof jobs.$inferSelect;

export interface ImportJobState {
  file: string;
  format: ImportFormat;
  mapping: Partial<FieldMapping>;
  bytes: number;
  bytesRead: number;
  progress: ImportProgress;
  startedAt?: string;
  error?: string;
  /** The cursor when the job last started, and how many starts in a row found it unmoved after a crash. */
  lastStartCursor?: number;
  stalledStarts?: number;
  /** The last run ended in a clean shutdown (not a crash), so the next start is not a stall. */
  wasStoppedCleanly?: boolean;
}

/** Statuses a job can still leave; the others are final. */
export const ACTIVE_STATUSES = ['queued', 'running'] as const;
export type JobStatus = (typeof ACTIVE_STATUSES)[number] | 'completed' | 'failed' | 'cancelled';

const MAX_STORED_ERRORS = 1000;

export async function createImportJob(db: Database, collectionId: number, state: ImportJobState): Promise<JobRecord> {
  const [row] = await db.insert(jobs).values({ collectionId, kind: 'import', status: 'queued', state: state as unknown as Record<string, unknown> }).returning();
  return row!;
}

export async function getJob(db: Database, id: string): Promise<JobRecord> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new NotFoundError('job', id);
  const [row] = await db.select().from(jobs).where(eq(jobs.id, id)).limit(1);
  if (!row) throw new NotFoundError('job', id);
  return row;
}

/** Jobs a restart must pick up again. */
export function unfinishedJobs(db: Database): Promise<JobRecord[]> {
  return db.select().from(jobs).where(and(eq(jobs.kind, 'import'), inArray(jobs.status, [...ACTIVE_STATUSES]))).orderBy(jobs.createdAt);
}

/** Marks a queued or running job cancelled; undefined when it is unknown or already finished. */
export async function markCancelled(db: Database, id: string): Promise<JobRecord | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  const [row] = await db
    .update(jobs)
    .set({ status: 'cancelled', updatedAt: new Date(), finishedAt: new Date() })
    .where(and(eq(jobs.id, id), inArray(jobs.status, [...ACTIVE_STATUSES])))
    .returning();
  return row;
}

/**
 * Counts a batch whose write was already under way when the job was cancelled (the next batch
 * is embedded while one is written), so a cancelled job's figures match the documents it kept.
 * Touches only the counters of a cancelled job, never its status.
 */
export async function saveCancelledProgress(db: Database, id: string, state: ImportJobState): Promise<void> {
  await db
    .update(jobs)
    .set({ done: state.progress.done, failed: state.progress.failed, state: state as unknown as Record<string, unknown>, updatedAt: new Date() })
    .where(and(eq(jobs.id, id), eq(jobs.status, 'cancelled')));
}

/**
 * Records progress; appends errors (keeping the first MAX_STORED_ERRORS). Only an active job
 * of a live collection is updated (`isOrphanAllowed` drops the second condition), so a
 * cancel or a collection delete is never overwritten.
 * @returns whether the job was still active, i.e. whether the run should go on.
 */
export async function saveProgress(
  db: Database,
  id: string,
  patch: { status?: JobStatus; state: ImportJobState; errors?: ImportError[]; finished?: boolean; isOrphanAllowed?: boolean },
): Promise<boolean> {
  const p = patch.state.progress;
  const errors = patch.errors?.map((e) => ({ record: e.record, detail: storable(e.detail) }));
  if (patch.state.error !== undefined) patch.state.error = storable(patch.state.error);
  const active = and(eq(jobs.id, id), inArray(jobs.status, [...ACTIVE_STATUSES]), patch.isOrphanAllowed ? undefined : isNotNull(jobs.collectionId));
  const updated = await db
    .update(jobs)
    .set({
      status: patch.status ?? 'running',
      done: p.done,
      failed: p.failed,
      state: patch.state as unknown as Record<string, unknown>,
      updatedAt: new Date(),
      ...(patch.finished ? { finishedAt: new Date() } : {}),
      ...(errors && errors.length > 0
        ? { errors: sql`(${jobs.errors} || ${JSON.stringify(errors)}::jsonb)` }
        : {}),
    })
    .where(active)
    .returning({ id: jobs.id });
  if (updated.length === 0) return false;
  if (errors && errors.length > 0) {
    await db.update(jobs).set({ errors: sql`(select coalesce(jsonb_agg(e), '[]'::jsonb) from (select e from jsonb_array_elements(${jobs.errors}) e limit ${MAX_STORED_ERRORS}) s)` }).where(eq(jobs.id, id));
  }
  return true;
}

/**
 * A message as jsonb can hold it: details quote the bad record's keys and values, and a
 * U+0000 or a lone surrogate there would make the progress write itself fail (issue 10).
 */
function storable(detail: string): string {
  return detail.replaceAll('\u0000', '\\u0000').toWellFormed();
}
