import type { Database } from '../db/client.js';
import { jobs } from '../db/schema.js';
import type { JobRow } from '../jobs/job-kind.js';
import type { FieldMapping } from '../ingest/parsers/parsed-record.js';
import type { ImportFormat } from './import-records.js';

export { getJob, ACTIVE_STATUSES, type JobStatus } from '../jobs/job-store.js';
export type JobRecord = JobRow;

/** An import job's state (jobs.state): what the planner needs to resume, and what the view shows. */
export interface ImportJobState {
  /** The upload's key in the upload storage. */
  upload?: string;
  /** Jobs made before upload storage: the file's path under the data dir's uploads/. */
  file?: string;
  format: ImportFormat;
  mapping: Partial<FieldMapping>;
  bytes: number;
  bytesRead: number;
  /** cursor: the last record put into a batch, where a resumed plan goes on. */
  progress: { cursor: number };
  /** Records put into batches so far. */
  plannedRecords?: number;
  /** Written by batch commits: documents created, updated and unchanged. */
  counts?: { created?: number; updated?: number; unchanged?: number };
  startedAt?: string;
  error?: string;
  /** The cursor when the job last started, and how many starts in a row found it unmoved after a crash. */
  lastStartCursor?: number;
  stalledStarts?: number;
  /** The last run ended in a clean shutdown (not a crash), so the next start is not a stall. */
  wasStoppedCleanly?: boolean;
  /** Planning ended: the job is only claimed again to be completed (see JobRunner). */
  planned?: boolean;
}

export async function createImportJob(db: Database, collectionId: number, state: ImportJobState): Promise<JobRecord> {
  const [row] = await db.insert(jobs).values({ collectionId, kind: 'import', status: 'queued', state: state as unknown as Record<string, unknown> }).returning();
  return row!;
}
