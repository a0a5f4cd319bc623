import { hostname } from 'node:os';
import type { Database } from '../db/client.js';
import { AppError, ConflictError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { JobFailedError, JobInactiveError, LeaseLostError } from './job-errors.js';
import type { BatchContext, BatchRow, EmbedderSource, JobKind, JobRow, PlanContext } from './job-kind.js';
import {
  appendBatches, batchCounts, claimBatch, claimJob, commitBatch, failBatchAndJob, finishJob, getJob, markCancelled,
  releaseBatch, releaseJob, renewBatchLease, renewJobLease, saveJobState,
} from './job-store.js';
import { LeaseKeeper } from './lease-keeper.js';

export interface JobRunnerOptions {
  db: Database;
  logger: Logger;
  kinds: JobKind[];
  embedders: EmbedderSource;
  /** Claim jobs (plan them, complete them); false: batches only (`biovec worker --embed` without --plan). */
  shouldPlan?: boolean;
  /** Batches this process embeds at once; 0 = none (left to `biovec worker --embed`). */
  batchConcurrency?: number;
  /** A lease not renewed for this long is taken over by another process. */
  leaseMs?: number;
  /** How often an idle loop looks for work (a local notify() wakes it at once). */
  pollMs?: number;
  /** A planner waits while its job has this many batches pending (bounds the queue, and memory in Postgres). */
  maxPendingBatches?: number;
  /** Claims of one batch (crashes included) before it fails for good: input that kills workers must not kill them all. */
  maxBatchAttempts?: number;
  /** Identifies this process in leases; default host:pid:random. */
  owner?: string;
  /** After each committed batch (the server wakes its outbox worker). */
  onBatch?: () => void;
}

interface LocalWork {
  abort: AbortController;
  settled: Promise<void>;
}

/**
 * Runs jobs of any kind from the shared catalog: claims jobs to plan (the lease holder cuts the
 * input into batches, with backpressure) and batches to embed, each under a lease kept by
 * heartbeats. A process that dies stops renewing: once its lease expires another takes the work
 * over, where it stopped (a job's plan resumes from its saved state; a batch is redone, and its
 * commit is idempotent). A process only ever works on what it has claimed.
 */
export class JobRunner {
  readonly owner: string;
  private readonly kinds: Map<string, JobKind>;
  private readonly stopping = new AbortController();
  private readonly local = new Map<string, Set<LocalWork>>();
  private loops: Promise<void>[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly leaseMs: number;
  private readonly pollMs: number;

  constructor(private readonly opts: JobRunnerOptions) {
    this.owner = opts.owner ?? `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`;
    this.kinds = new Map(opts.kinds.map((k) => [k.kind, k]));
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.pollMs = opts.pollMs ?? 1_000;
  }

  /** Starts claiming work. */
  start(): void {
    if (this.loops.length > 0 || this.stopping.signal.aborted) return;
    if (this.opts.shouldPlan ?? true) this.loops.push(this.loop(() => this.planOnce()));
    for (let i = 0; i < (this.opts.batchConcurrency ?? 1); i += 1) this.loops.push(this.loop(() => this.embedOnce()));
  }

  /** Wakes idle loops (a job was just created here, or batches added). */
  notify(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /**
   * Cancels a queued or running job: marks it cancelled (no process claims it or commits a batch
   * of it after that), stops this process's work on it at once and the others' at their next
   * heartbeat or commit (documents already written stay), and cleans up (an import's upload).
   * Cancelling a cancelled job again returns it unchanged.
   * @throws NotFoundError for an unknown job; ConflictError for one that completed or failed.
   */
  async cancel(jobId: string): Promise<JobRow> {
    const cancelled = await markCancelled(this.opts.db, jobId);
    if (!cancelled) {
      const job = await getJob(this.opts.db, jobId);
      if (job.status === 'cancelled') return job;
      throw new ConflictError(`job ${jobId} has already ${job.status === 'completed' ? 'completed' : 'failed'}; there is nothing to cancel`);
    }
    const work = [...(this.local.get(jobId) ?? [])];
    for (const w of work) w.abort.abort(new JobInactiveError(jobId));
    await Promise.all(work.map((w) => w.settled));
    await this.cleanup(cancelled);
    return getJob(this.opts.db, jobId);
  }

  /** Stops claiming, stops local work at once and gives its leases back (another process continues it). */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('shutting down'));
    this.notify();
    await Promise.all(this.loops);
  }

  private async loop(once: () => Promise<boolean>): Promise<void> {
    while (!this.stopping.signal.aborted) {
      let didWork = false;
      try {
        didWork = await once();
      } catch (err) {
        if (!this.stopping.signal.aborted) this.opts.logger.warn({ err }, 'job queue: claiming failed; retrying');
      }
      if (!didWork) await this.sleep(this.pollMs);
    }
  }

  private sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      if (this.stopping.signal.aborted || signal?.aborted) done();
      else signal?.addEventListener('abort', done, { once: true });
    });
  }

  private track(jobId: string): { abort: AbortController; untrack: () => void } {
    const abort = new AbortController();
    // Not AbortSignal.any: one listener per job or batch on the long-lived stop signal, removed
    // again when the work ends (any() accumulates them).
    const onStop = () => abort.abort(this.stopping.signal.reason);
    if (this.stopping.signal.aborted) onStop();
    else this.stopping.signal.addEventListener('abort', onStop, { once: true });
    let untrack!: () => void;
    const work: LocalWork = { abort, settled: new Promise((resolve) => (untrack = resolve)) };
    let set = this.local.get(jobId);
    if (!set) this.local.set(jobId, (set = new Set()));
    set.add(work);
    return {
      abort,
      untrack: () => {
        this.stopping.signal.removeEventListener('abort', onStop);
        set.delete(work);
        if (set.size === 0) this.local.delete(jobId);
        untrack();
      },
    };
  }

  private async planOnce(): Promise<boolean> {
    const job = await claimJob(this.opts.db, { owner: this.owner, leaseMs: this.leaseMs, kinds: [...this.kinds.keys()] });
    if (!job) return false;
    await this.runJob(job);
    return true;
  }

  /** One turn as a job's holder: fail it (collection gone), plan it, or complete it; then give it back. */
  private async runJob(job: JobRow): Promise<void> {
    const { db, logger } = this.opts;
    const kind = this.kinds.get(job.kind)!;
    const { abort, untrack } = this.track(job.id);
    const signal = abort.signal;
    const lease = new LeaseKeeper({
      renew: () => renewJobLease(db, job.id, this.owner, this.leaseMs), everyMs: this.leaseMs / 3, logger, what: `job ${job.id}`,
      onLost: () => abort.abort(new LeaseLostError(`job ${job.id}`)),
    });
    try {
      if (job.collectionId === null) return void (await this.failJob(job, kind, this.collectionGone(job)));
      if (job.state.planned !== true) {
        await this.plan(job, kind, signal);
        return void (await releaseJob(db, job.id, this.owner));
      }
      const counts = await batchCounts(db, job.id);
      if (counts.pending > 0) return void (await releaseJob(db, job.id, this.owner));
      const result = kind.complete ? await kind.complete(job, { db, embedders: this.opts.embedders, logger, signal, addBatches: (b, s) => this.addBatches(job, b, s, signal) }) : 'done';
      if (result === 'more') return void (await releaseJob(db, job.id, this.owner));
      const error = typeof job.state.endError === 'string' ? job.state.endError : undefined;
      // Cleanup first: a final status then means the upload is gone (a crash in between leaves a
      // job that is claimed again to be completed, and cleans up again).
      await this.cleanup(job);
      const finished = await finishJob(db, { id: job.id, status: error === undefined ? 'completed' : 'failed', owner: this.owner, error });
      if (finished) logger.info({ jobId: job.id, kind: job.kind, status: finished.status, done: finished.done, failed: finished.failed }, `${job.kind} job ${finished.status}`);
    } catch (err) {
      await this.afterJobError(job, kind, err, signal);
    } finally {
      lease.stop();
      untrack();
    }
  }

  private async plan(job: JobRow, kind: JobKind, signal: AbortSignal): Promise<void> {
    const { db, logger } = this.opts;
    const ctx: PlanContext = {
      db, logger, signal,
      addBatches: (batches, state) => this.addBatches(job, batches, state, signal),
      saveState: async (state) => {
        if (!(await saveJobState(db, job.id, this.owner, state))) throw new LeaseLostError(`job ${job.id}`);
      },
    };
    let endError: string | undefined;
    try {
      await kind.plan(job, ctx);
    } catch (err) {
      if (!(err instanceof JobFailedError && err.opts.afterBatches)) throw err;
      endError = err.detail;
    }
    signal.throwIfAborted();
    const { records } = await batchCounts(db, job.id);
    // Planned: from now on the job is only claimed again to be completed, once no batch is pending.
    const patch = { planned: true, ...(endError !== undefined ? { endError } : {}) };
    if (!(await saveJobState(db, job.id, this.owner, patch, { total: records }))) throw new LeaseLostError(`job ${job.id}`);
    this.notify();
  }

  private async addBatches(job: JobRow, batches: Parameters<PlanContext['addBatches']>[0], state: Record<string, unknown> | undefined, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    await appendBatches(this.opts.db, { jobId: job.id, owner: this.owner, batches, state });
    this.notify();
    // Backpressure: the planner reads on only while few batches wait (the embedders set the pace).
    const max = this.opts.maxPendingBatches ?? 8;
    while ((await batchCounts(this.opts.db, job.id)).pending >= max) {
      await this.sleep(Math.min(this.pollMs, 250), signal);
      signal.throwIfAborted();
    }
  }

  private async afterJobError(job: JobRow, kind: JobKind, err: unknown, signal: AbortSignal): Promise<void> {
    const { db, logger } = this.opts;
    if (this.stopping.signal.aborted) {
      // Another process continues it at once; a clean stop is not a crash (see the import's stall check).
      await releaseJob(db, job.id, this.owner, { wasStoppedCleanly: true }).catch(() => undefined);
      return;
    }
    if (signal.aborted || err instanceof LeaseLostError || err instanceof JobInactiveError) {
      const now = await getJob(db, job.id).catch(() => undefined);
      if (now && now.collectionId === null && isActive(now)) await this.failJob(now, kind, this.collectionGone(now));
      else await releaseJob(db, job.id, this.owner).catch(() => undefined);
      return;
    }
    const detail = this.describe(kind, err);
    if (!(err instanceof JobFailedError)) logger.error({ err, jobId: job.id, kind: job.kind }, `${job.kind} job failed`);
    await this.failJob(job, kind, detail);
  }

  private async embedOnce(): Promise<boolean> {
    const batch = await claimBatch(this.opts.db, { owner: this.owner, leaseMs: this.leaseMs, kinds: [...this.kinds.keys()] });
    if (!batch) return false;
    await this.runBatch(batch);
    return true;
  }

  private async runBatch(batch: BatchRow): Promise<void> {
    const { db, logger } = this.opts;
    const job = await getJob(db, batch.jobId);
    const kind = this.kinds.get(job.kind)!;
    const maxAttempts = this.opts.maxBatchAttempts ?? 5;
    if (batch.attempts > maxAttempts) {
      return this.failBatchAndJob(batch, job, kind, `batch ${batch.seq} (${batch.records} records) stopped a worker ${batch.attempts - 1} times in a row; it is not retried`);
    }
    const { abort, untrack } = this.track(job.id);
    const signal = abort.signal;
    const lease = new LeaseKeeper({
      renew: () => renewBatchLease(db, batch, this.owner, this.leaseMs), everyMs: this.leaseMs / 3, logger, what: `batch ${batch.id}`,
      onLost: () => abort.abort(new LeaseLostError(`batch ${batch.id}`)),
    });
    const ctx: BatchContext = {
      db, embedders: this.opts.embedders, logger, signal,
      commit: async (outcome, write) => {
        signal.throwIfAborted();
        await commitBatch(db, { batch, owner: this.owner, outcome, write });
      },
    };
    try {
      await kind.processBatch(batch, job, ctx);
      this.opts.onBatch?.();
      this.notify();
    } catch (err) {
      if (this.stopping.signal.aborted) return void (await releaseBatch(db, batch, this.owner).catch(() => undefined));
      if (signal.aborted || err instanceof LeaseLostError || err instanceof JobInactiveError) {
        await releaseBatch(db, batch, this.owner).catch(() => undefined);
        const now = await getJob(db, job.id).catch(() => undefined);
        if (now && now.collectionId === null && isActive(now)) await this.failJob(now, kind, this.collectionGone(now));
        return;
      }
      if (!isRetryable(err) || batch.attempts >= maxAttempts) {
        logger.error({ err, jobId: job.id, seq: batch.seq, attempts: batch.attempts }, `a ${job.kind} batch failed`);
        return this.failBatchAndJob(batch, job, kind, this.describe(kind, err));
      }
      const retryAfterMs = Math.min(30_000, 500 * 2 ** batch.attempts) * (0.5 + Math.random() / 2);
      logger.warn({ err, jobId: job.id, seq: batch.seq, attempts: batch.attempts, retryAfterMs }, `a ${job.kind} batch failed; it will be retried`);
      await releaseBatch(db, batch, this.owner, { retryAfterMs }).catch(() => undefined);
    } finally {
      lease.stop();
      untrack();
    }
  }

  /**
   * A batch that cannot be done fails its job: what it would have written is missing. The
   * upload goes after the failed status (the two statuses must commit together); a crash in
   * between leaves an upload no active job names, which the start-up sweep removes.
   */
  private async failBatchAndJob(batch: BatchRow, job: JobRow, _kind: JobKind, detail: string): Promise<void> {
    // Not pending any more: another process finished it (done, or failed it and its job).
    if (await failBatchAndJob(this.opts.db, batch, detail)) await this.cleanup(job);
  }

  private async failJob(job: JobRow, _kind: JobKind, detail: string): Promise<void> {
    await this.cleanup(job);
    await finishJob(this.opts.db, { id: job.id, status: 'failed', error: detail });
  }

  private async cleanup(job: JobRow): Promise<void> {
    await this.kinds.get(job.kind)?.cleanup?.(job).catch((err: unknown) => this.opts.logger.warn({ err, jobId: job.id }, 'job cleanup failed'));
  }

  private collectionGone(job: JobRow): string {
    const hasStarted = job.state.planned === true || job.attempts > 1 || job.done + job.failed > 0 || typeof job.state.startedAt === 'string';
    return hasStarted ? `the collection was deleted during the ${job.kind}` : 'the collection was deleted';
  }

  private describe(kind: JobKind, err: unknown): string {
    if (err instanceof JobFailedError) return err.detail;
    if (kind.describeFailure) return kind.describeFailure(err);
    return err instanceof AppError ? err.detail : `the ${kind.kind} failed; see the server log`;
  }
}

const isActive = (job: JobRow) => job.status === 'queued' || job.status === 'running';

/**
 * Failures worth another attempt: an unavailable or overloaded dependency, or an unexpected
 * error (a crash-like bug may be transient). Input and binding errors fail the same way again.
 */
function isRetryable(err: unknown): boolean {
  if (err instanceof JobFailedError) return false;
  if (err instanceof AppError) return err.code === 'upstream-unavailable' || err.code === 'overloaded';
  return true;
}
