import { createReadStream } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { getCollectionById } from '../catalog/collections.js';
import type { Database } from '../db/client.js';
import type { Embedder } from '../embedding/embedder.js';
import { AppError, ConflictError, NotFoundError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { ImportBatchError, importRecords, parserFor } from './import-records.js';
import { getJob, markCancelled, saveCancelledProgress, saveProgress, unfinishedJobs, type ImportJobState, type JobRecord } from './job-store.js';

/**
 * A job that crashed the process this many starts in a row without its cursor moving is
 * failed instead of started again: whatever input kills the process must not do it on every
 * restart (issue 10). Clean shutdowns do not count.
 */
const MAX_STALLED_STARTS = 2;
/** An upload no active job names is removed at start once it is this old (a younger one may still be arriving). */
const ORPHAN_UPLOAD_AGE_MS = 10 * 60_000;

/**
 * Runs import jobs one at a time from their uploaded files, saving progress after every
 * batch. A job interrupted by a shutdown or a crash stays `running` and is resumed from its
 * last saved record at the next start. A job that ends (completed, failed, cancelled, its
 * collection deleted) has its upload removed.
 */
export class ImportJobRunner {
  private queue: string[] = [];
  private current: Promise<void> | undefined;
  private running: { jobId: string; cancel: AbortController } | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly opts: {
      db: Database;
      embedder: Embedder;
      logger: Logger;
      onBatch?: () => void;
      /** Largest record a parser holds (BIOVEC_MAX_RECORD_BYTES); the parsers' default when unset. */
      maxRecordBytes?: number;
      /** Where uploads live, for removing orphans at start; no sweep when unset. */
      uploadsDir?: string;
    },
  ) {}

  enqueue(jobId: string): void {
    this.queue.push(jobId);
    this.pump();
  }

  /** Queues every job a previous process left unfinished, and removes uploads no such job names. */
  async resumeUnfinished(): Promise<number> {
    const pending = await unfinishedJobs(this.opts.db);
    await this.removeOrphanUploads(new Set(pending.map((j) => (j.state as unknown as ImportJobState).file)));
    for (const job of pending) this.enqueue(job.id);
    return pending.length;
  }

  /**
   * Cancels a queued or running job: marks it cancelled (so no process resumes it), stops
   * its run at the next batch boundary (documents already written stay) and removes its
   * upload. Cancelling a cancelled job again returns it unchanged.
   * @throws NotFoundError for an unknown job; ConflictError for one that completed or failed.
   */
  async cancel(jobId: string): Promise<JobRecord> {
    const cancelled = await markCancelled(this.opts.db, jobId);
    if (!cancelled) {
      const job = await getJob(this.opts.db, jobId);
      if (job.status === 'cancelled') return job;
      throw new ConflictError(`job ${jobId} has already ${job.status === 'completed' ? 'completed' : 'failed'}; there is nothing to cancel`);
    }
    this.queue = this.queue.filter((id) => id !== jobId);
    if (this.running?.jobId === jobId) {
      this.running.cancel.abort(new Error('job cancelled'));
      await this.current?.catch(() => undefined);
    }
    // Also when another process runs it: that one stops at its next progress save.
    await removeUpload((cancelled.state as unknown as ImportJobState).file);
    return getJob(this.opts.db, jobId);
  }

  /** Stops at the next batch boundary; the interrupted job resumes at the next start. */
  async stop(): Promise<void> {
    this.queue = [];
    this.abort.abort(new Error('shutting down'));
    await this.current?.catch(() => undefined);
  }

  /** Resolves when the queue is empty (tests, CLI). */
  async idle(): Promise<void> {
    while (this.current) await this.current.catch(() => undefined);
  }

  private pump(): void {
    if (this.current || this.abort.signal.aborted) return;
    const next = this.queue.shift();
    if (!next) return;
    this.current = this.run(next).finally(() => {
      this.current = undefined;
      this.running = undefined;
      this.pump();
    });
  }

  private async run(jobId: string): Promise<void> {
    const { db, logger } = this.opts;
    const job = await getJob(db, jobId).catch((err: unknown) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    if (!job || (job.status !== 'queued' && job.status !== 'running')) return;
    const state = job.state as unknown as ImportJobState;
    const collection = job.collectionId === null ? undefined : await getCollectionById(db, job.collectionId);
    if (!collection) {
      await this.finish(jobId, state, 'failed', 'the collection was deleted');
      return;
    }
    const isStalled = !state.wasStoppedCleanly && state.lastStartCursor === state.progress.cursor;
    state.stalledStarts = isStalled ? (state.stalledStarts ?? 0) + 1 : 0;
    state.lastStartCursor = state.progress.cursor;
    state.wasStoppedCleanly = false;
    if (state.stalledStarts >= MAX_STALLED_STARTS) {
      const error = `the import stopped the server ${state.stalledStarts} times in a row after record ${state.progress.cursor}; it is not resumed again`;
      logger.error({ jobId, cursor: state.progress.cursor }, 'import failed: crashed repeatedly at the same record');
      await this.finish(jobId, state, 'failed', error);
      return;
    }
    state.startedAt ??= new Date().toISOString();
    const cancel = new AbortController();
    this.running = { jobId, cancel };
    const signal = AbortSignal.any([this.abort.signal, cancel.signal]);
    const file = createReadStream(state.file);
    const counted = (async function* () {
      for await (const chunk of file) {
        state.bytesRead = file.bytesRead;
        yield chunk as Uint8Array;
      }
    })();
    try {
      if (!(await saveProgress(db, jobId, { status: 'running', state }))) throw new Error('the job is no longer active');
      await importRecords({
        db, embedder: this.opts.embedder, collection, records: parserFor(state.format, counted, state.mapping, { maxRecordBytes: this.opts.maxRecordBytes }),
        startAfter: state.progress.cursor, progress: state.progress, signal,
        onBatch: async (progress, errors) => {
          state.progress = progress;
          // Cancelled (perhaps by another process) or its collection deleted: stop here.
          if (!(await saveProgress(db, jobId, { state, errors }))) {
            await saveCancelledProgress(db, jobId, state);
            cancel.abort(new Error('the job is no longer active'));
          }
          this.opts.onBatch?.();
        },
      });
      signal.throwIfAborted();
      state.bytesRead = state.bytes;
      if (await this.finish(jobId, state, 'completed')) logger.info({ jobId, ...state.progress }, 'import completed');
      else await this.endAfterError(jobId, state, new Error('the job stopped being active at its end'));
    } catch (err) {
      file.destroy();
      if (this.abort.signal.aborted) {
        // Resumed at the next start; a clean stop is not a crash.
        await saveProgress(db, jobId, { state: { ...state, wasStoppedCleanly: true } }).catch(() => undefined);
        return;
      }
      await this.endAfterError(jobId, state, err);
    }
  }

  /** Why the run stopped decides the status: cancelled (left so), collection deleted, or a failure. */
  private async endAfterError(jobId: string, state: ImportJobState, err: unknown): Promise<void> {
    const job = await getJob(this.opts.db, jobId).catch(() => undefined);
    if (!job || job.status === 'cancelled') {
      await removeUpload(state.file);
      return;
    }
    if (job.collectionId === null) {
      await this.finish(jobId, state, 'failed', 'the collection was deleted during the import');
      return;
    }
    this.opts.logger.error({ err, jobId }, 'import failed');
    await this.finish(jobId, state, 'failed', describeFailure(err));
  }

  /**
   * Removes the upload, then saves a final status (unless the job was cancelled or, for
   * `completed`, its collection deleted meanwhile: then false). In that order, a final status
   * means the upload is gone; a crash between the two leaves a job whose resume fails for
   * want of its file.
   */
  private async finish(jobId: string, state: ImportJobState, status: 'completed' | 'failed', error?: string): Promise<boolean> {
    await removeUpload(state.file);
    return saveProgress(this.opts.db, jobId, { status, state: error === undefined ? state : { ...state, error }, finished: true, isOrphanAllowed: status === 'failed' });
  }

  private async removeOrphanUploads(named: Set<string>): Promise<void> {
    const dir = this.opts.uploadsDir;
    if (!dir) return;
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.endsWith('.upload'))) {
      const path = join(dir, name);
      if (named.has(path)) continue;
      const info = await stat(path).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > ORPHAN_UPLOAD_AGE_MS) {
        await removeUpload(path);
        this.opts.logger.info({ file: name, bytes: info.size }, 'removed an upload no job names');
      }
    }
  }
}

/** A job's error as users see it: the detail of an AppError, else only where it stopped. */
function describeFailure(err: unknown): string {
  if (err instanceof AppError) return err.detail;
  if (err instanceof ImportBatchError) return `the import failed at ${err.records}; see the server log`;
  return 'the import failed; see the server log';
}

async function removeUpload(file: string): Promise<void> {
  await rm(file, { force: true });
}
