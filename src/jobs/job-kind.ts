import type { CollectionRecord } from '../catalog/collections.js';
import type { Database } from '../db/client.js';
import type { jobBatches, jobs } from '../db/schema.js';
import type { Embedder } from '../embedding/embedder.js';
import type { Logger } from '../lib/logger.js';

// Refined by the work-queue helper (issue 16), all additions optional and compatible:
// addBatches takes the planner's state to save in the same transaction; BatchOutcome may carry
// kind-specific counters; commit's write may return the outcome (decided under the job lock);
// JobKind may clean up after a final status and describe its own failures.

/**
 * The seam between the work queue (src/jobs: leases, heartbeats, batch claims, takeover) and
 * what a job does (an import, a re-index). The queue knows nothing of documents or models; a
 * kind knows nothing of leases: it plans batches, processes one, and finishes.
 */

export type JobRow = typeof jobs.$inferSelect;
export type BatchRow = typeof jobBatches.$inferSelect;

/** A collection version's model binding, as an embedder is looked up by. */
export type ModelBinding = Pick<
  CollectionRecord,
  'modelId' | 'modelRevision' | 'pooling' | 'normalize' | 'maxTokens' | 'dims' | 'queryPrefix' | 'documentPrefix' | 'quantize'
>;

/** Embedders by binding: the served model, or another one loaded on demand (a re-index's target). */
export interface EmbedderSource {
  /** Throws ConflictError when this process cannot load a model of that binding. */
  forBinding(binding: ModelBinding): Promise<Embedder>;
}

export interface NewBatch {
  payload: Record<string, unknown>;
  externalIds: string[];
  records: number;
}

export interface PlanContext {
  db: Database;
  logger: Logger;
  signal: AbortSignal;
  /**
   * Appends batches in order (seq continues from the job's last), merging `state` into
   * jobs.state in the same transaction (a resume point never runs ahead of or behind the
   * batches it covers); resolves when the job has room for more pending batches.
   * Throws LeaseLostError (nothing written) once this process no longer holds the job.
   */
  addBatches(batches: NewBatch[], state?: Record<string, unknown>): Promise<void>;
  /** Saves the kind's resumable planning state into jobs.state (merged). */
  saveState(state: Record<string, unknown>): Promise<void>;
}

export interface BatchOutcome {
  done: number;
  failed: number;
  errors: { record: number; detail: string }[];
  /** Kind-specific counters (an import's created/updated/unchanged), added into jobs.state.counts. */
  counts?: Record<string, number>;
}

export interface BatchContext {
  db: Database;
  embedders: EmbedderSource;
  logger: Logger;
  signal: AbortSignal;
  /**
   * Runs `write` in one transaction with marking the batch done, only while this process still
   * holds the batch's lease (else throws LeaseLostError and nothing is written). Everything a
   * batch changes must be written through it: that is what makes a batch embedded twice write once.
   */
  /**
   * The transaction holds the job's row lock (commits of one job are serialised), so `write`
   * may read what earlier commits wrote and decide; an outcome it returns replaces `outcome`.
   * Throws JobInactiveError (nothing written) when the job was cancelled or its collection deleted.
   */
  commit(outcome: BatchOutcome, write: (tx: Database) => Promise<void | BatchOutcome>): Promise<void>;
}

export interface JobKind {
  readonly kind: string;
  /** Run by the job's lease holder until its input is exhausted; resumes from job.state after a takeover. */
  plan(job: JobRow, ctx: PlanContext): Promise<void>;
  /** Embeds and writes one batch through ctx.commit. Throwing fails the batch after retries. */
  processBatch(batch: BatchRow, job: JobRow, ctx: BatchContext): Promise<void>;
  /** Once planning ended and every batch is done or failed: e.g. a re-index's catch-up and switch. */
  /** After the job reached a final status (completed, failed, cancelled), by the process that set it: e.g. remove the upload. */
  cleanup?(job: JobRow): Promise<void>;
  /** The user-facing reason for a failure (jobs.state.error); default: an AppError's detail, else a generic line. */
  describeFailure?(err: unknown): string;
  complete?(job: JobRow, ctx: { db: Database; embedders: EmbedderSource; logger: Logger; signal: AbortSignal; addBatches: PlanContext['addBatches'] }): Promise<'done' | 'more'>;
}
