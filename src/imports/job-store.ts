import { and, eq, inArray, sql } from 'drizzle-orm';
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
}

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
  return db.select().from(jobs).where(and(eq(jobs.kind, 'import'), inArray(jobs.status, ['queued', 'running']))).orderBy(jobs.createdAt);
}

/** Records progress; appends errors (keeping the first MAX_STORED_ERRORS). */
export async function saveProgress(db: Database, id: string, patch: { status?: string; state: ImportJobState; errors?: ImportError[]; finished?: boolean }): Promise<void> {
  const p = patch.state.progress;
  await db
    .update(jobs)
    .set({
      status: patch.status ?? 'running',
      done: p.done,
      failed: p.failed,
      state: patch.state as unknown as Record<string, unknown>,
      updatedAt: new Date(),
      ...(patch.finished ? { finishedAt: new Date() } : {}),
      ...(patch.errors && patch.errors.length > 0
        ? { errors: sql`(${jobs.errors} || ${JSON.stringify(patch.errors)}::jsonb)` }
        : {}),
    })
    .where(eq(jobs.id, id));
  if (patch.errors && patch.errors.length > 0) {
    await db.update(jobs).set({ errors: sql`(select coalesce(jsonb_agg(e), '[]'::jsonb) from (select e from jsonb_array_elements(${jobs.errors}) e limit ${MAX_STORED_ERRORS}) s)` }).where(eq(jobs.id, id));
  }
}
