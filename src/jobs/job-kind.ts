import type { CollectionRecord } from '../catalog/collections.js';
import type { Database } from '../db/client.js';
import type { jobBatches, jobs } from '../db/schema.js';
import type { Embedder } from '../embedding/embedder.js';
import type { Logger } from '../lib/logger.js';

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
  /** Appends batches in order (seq continues from the job's last); resolves when there is room for more. */
  addBatches(batches: NewBatch[]): Promise<void>;
  /** Saves the kind's resumable planning state into jobs.state (merged). */
  saveState(state: Record<string, unknown>): Promise<void>;
}

export interface BatchOutcome {
  done: number;
  failed: number;
  errors: { record: number; detail: string }[];
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
  commit(outcome: BatchOutcome, write: (tx: Database) => Promise<void>): Promise<void>;
}

export interface JobKind {
  readonly kind: string;
  /** Run by the job's lease holder until its input is exhausted; resumes from job.state after a takeover. */
  plan(job: JobRow, ctx: PlanContext): Promise<void>;
  /** Embeds and writes one batch through ctx.commit. Throwing fails the batch after retries. */
  processBatch(batch: BatchRow, job: JobRow, ctx: BatchContext): Promise<void>;
  /** Once planning ended and every batch is done or failed: e.g. a re-index's catch-up and switch. */
  complete?(job: JobRow, ctx: { db: Database; embedders: EmbedderSource; logger: Logger; signal: AbortSignal; addBatches: PlanContext['addBatches'] }): Promise<'done' | 'more'>;
}
