import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { getCollectionById } from '../catalog/collections.js';
import type { Database } from '../db/client.js';
import type { Embedder } from '../embedding/embedder.js';
import { AppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { importRecords, parserFor } from './import-records.js';
import { getJob, saveProgress, unfinishedJobs, type ImportJobState } from './job-store.js';

/**
 * Runs import jobs one at a time from their uploaded files, saving progress after every
 * batch. A job interrupted by a shutdown or a crash stays `running` and is resumed from its
 * last saved record at the next start.
 */
export class ImportJobRunner {
  private queue: string[] = [];
  private current: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly opts: { db: Database; embedder: Embedder; logger: Logger; onBatch?: () => void }) {}

  enqueue(jobId: string): void {
    this.queue.push(jobId);
    this.pump();
  }

  /** Queues every job a previous process left unfinished. */
  async resumeUnfinished(): Promise<number> {
    const pending = await unfinishedJobs(this.opts.db);
    for (const job of pending) this.enqueue(job.id);
    return pending.length;
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
      this.pump();
    });
  }

  private async run(jobId: string): Promise<void> {
    const { db, embedder, logger } = this.opts;
    const job = await getJob(db, jobId);
    const state = job.state as unknown as ImportJobState;
    const collection = job.collectionId === null ? undefined : await getCollectionById(db, job.collectionId);
    if (!collection) {
      await saveProgress(db, jobId, { status: 'failed', state: { ...state, error: 'the collection was deleted' }, finished: true });
      return;
    }
    state.startedAt ??= new Date().toISOString();
    const file = createReadStream(state.file);
    const counted = (async function* () {
      for await (const chunk of file) {
        state.bytesRead = file.bytesRead;
        yield chunk as Uint8Array;
      }
    })();
    try {
      await saveProgress(db, jobId, { status: 'running', state });
      await importRecords({
        db, embedder, collection, records: parserFor(state.format, counted, state.mapping), startAfter: state.progress.cursor, progress: state.progress, signal: this.abort.signal,
        onBatch: async (progress, errors) => {
          state.progress = progress;
          await saveProgress(db, jobId, { state, errors });
          this.opts.onBatch?.();
        },
      });
      state.bytesRead = state.bytes;
      await saveProgress(db, jobId, { status: 'completed', state, finished: true });
      await rm(state.file, { force: true });
      logger.info({ jobId, ...state.progress }, 'import completed');
    } catch (err) {
      file.destroy();
      if (this.abort.signal.aborted) return; // resumed at the next start
      state.error = err instanceof AppError ? err.detail : 'the import failed; see the server log';
      logger.error({ err, jobId }, 'import failed');
      await saveProgress(db, jobId, { status: 'failed', state, finished: true });
    }
  }
}
