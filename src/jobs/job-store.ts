import { and, asc, eq, inArray, isNotNull, isNull, lt, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { jobBatches, jobs } from '../db/schema.js';
import { NotFoundError } from '../lib/errors.js';
import type { BatchOutcome, BatchRow, JobRow, NewBatch } from './job-kind.js';
import { JobInactiveError, LeaseLostError } from './job-errors.js';

/**
 * The queue's SQL. Every write a lease holder makes is fenced: conditioned on lease_owner =
 * the caller, so a process that lost its lease (paused, partitioned, presumed dead) changes
 * nothing once another process took over. Claims use FOR UPDATE SKIP LOCKED, so claimers
 * never wait on each other and never get the same row.
 */

/** Statuses a job can still leave; the others are final. */
export const ACTIVE_STATUSES = ['queued', 'running'] as const;
export type JobStatus = (typeof ACTIVE_STATUSES)[number] | 'completed' | 'failed' | 'cancelled';

const MAX_STORED_ERRORS = 1000;

const leaseUntil = (ms: number) => sql`now() + ${`${Math.max(1, Math.round(ms))} milliseconds`}::interval`;
const isJobActive = and(inArray(jobs.status, [...ACTIVE_STATUSES]), isNotNull(jobs.collectionId));
const merged = (patch: Record<string, unknown>) => sql`(${jobs.state} || ${JSON.stringify(patch)}::jsonb)`;

export async function getJob(db: Database, id: string): Promise<JobRow> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new NotFoundError('job', id);
  const [row] = await db.select().from(jobs).where(eq(jobs.id, id)).limit(1);
  if (!row) throw new NotFoundError('job', id);
  return row;
}

/** Marks a queued or running job cancelled; undefined when it is unknown or already finished. */
export async function markCancelled(db: Database, id: string): Promise<JobRow | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  const [row] = await db
    .update(jobs)
    .set({ status: 'cancelled', updatedAt: new Date(), finishedAt: new Date(), leaseOwner: null, leaseExpiresAt: null })
    .where(and(eq(jobs.id, id), inArray(jobs.status, [...ACTIVE_STATUSES])))
    .returning();
  return row;
}

/**
 * Claims the oldest job of `kinds` whose lease is free or expired and that has something for
 * a job holder to do: planning not finished, every batch finished (complete it), or its
 * collection deleted (fail it). A job another live process holds is never returned.
 */
export async function claimJob(db: Database, opts: { owner: string; leaseMs: number; kinds: string[] }): Promise<JobRow | undefined> {
  return db.transaction(async (tx) => {
    const [due] = await tx
      .select({ id: jobs.id })
      .from(jobs)
      .where(and(
        inArray(jobs.status, [...ACTIVE_STATUSES]),
        inArray(jobs.kind, opts.kinds),
        or(isNull(jobs.leaseExpiresAt), lt(jobs.leaseExpiresAt, sql`now()`)),
        or(
          sql`${jobs.state}->>'planned' is null`,
          isNull(jobs.collectionId),
          sql`not exists (select 1 from ${jobBatches} b where b.job_id = ${jobs.id} and b.status = 'pending')`,
        ),
      ))
      .orderBy(asc(jobs.createdAt))
      .limit(1)
      .for('update', { skipLocked: true });
    if (!due) return undefined;
    const [claimed] = await tx
      .update(jobs)
      .set({ leaseOwner: opts.owner, leaseExpiresAt: leaseUntil(opts.leaseMs), attempts: sql`${jobs.attempts} + 1`, status: 'running', updatedAt: new Date() })
      .where(eq(jobs.id, due.id))
      .returning();
    return claimed;
  });
}

/**
 * Frees every lease: only for a catalog that one process alone opens (PGlite), where any lease
 * found at start belongs to a previous run of this process that crashed, so waiting for it to
 * expire would only delay the resume.
 */
export async function releaseAllLeases(db: Database): Promise<void> {
  await db.update(jobs).set({ leaseOwner: null, leaseExpiresAt: null }).where(and(inArray(jobs.status, [...ACTIVE_STATUSES]), isNotNull(jobs.leaseOwner)));
  await db.update(jobBatches).set({ leaseOwner: null, leaseExpiresAt: null }).where(and(eq(jobBatches.status, 'pending'), isNotNull(jobBatches.leaseOwner)));
}

/** Extends a held job lease; false once it is lost, or the job ended or lost its collection. */
export async function renewJobLease(db: Database, id: string, owner: string, leaseMs: number): Promise<boolean> {
  const rows = await db.update(jobs).set({ leaseExpiresAt: leaseUntil(leaseMs) }).where(and(eq(jobs.id, id), eq(jobs.leaseOwner, owner), isJobActive)).returning({ id: jobs.id });
  return rows.length > 0;
}

/** Merges `patch` into a held job's state; false when this process no longer holds it. */
export async function saveJobState(db: Database, id: string, owner: string, patch: Record<string, unknown>, extra: { total?: number } = {}): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({ state: merged(patch), updatedAt: new Date(), ...(extra.total !== undefined ? { total: extra.total } : {}) })
    .where(and(eq(jobs.id, id), eq(jobs.leaseOwner, owner), isJobActive))
    .returning({ id: jobs.id });
  return rows.length > 0;
}

/** Gives a held job back (another process may claim it at once), merging `patch` into its state. */
export async function releaseJob(db: Database, id: string, owner: string, patch: Record<string, unknown> = {}): Promise<void> {
  await db.update(jobs).set({ leaseOwner: null, leaseExpiresAt: null, state: merged(patch), updatedAt: new Date() }).where(and(eq(jobs.id, id), eq(jobs.leaseOwner, owner)));
}

/**
 * Sets a final status on an active job: fenced by `owner` when given (completing); without
 * one (a batch failed for good, or the collection is gone) any process may. Returns the row,
 * or undefined when the job was no longer active (cancelled meanwhile: that status stays).
 */
export async function finishJob(db: Database, opts: { id: string; status: 'completed' | 'failed'; owner?: string; error?: string }): Promise<JobRow | undefined> {
  const [row] = await db
    .update(jobs)
    .set({
      status: opts.status, finishedAt: new Date(), updatedAt: new Date(), leaseOwner: null, leaseExpiresAt: null,
      ...(opts.error !== undefined ? { state: merged({ error: storable(opts.error) }) } : {}),
    })
    .where(and(eq(jobs.id, opts.id), inArray(jobs.status, [...ACTIVE_STATUSES]), opts.owner ? eq(jobs.leaseOwner, opts.owner) : undefined))
    .returning();
  return row;
}

/**
 * Appends batches after the job's last seq and merges the planner's state, in one
 * transaction fenced by the job lease (the job row lock also orders it with batch commits).
 * @throws LeaseLostError when this process no longer holds the job, or it stopped being active.
 */
export async function appendBatches(db: Database, opts: { jobId: string; owner: string; batches: NewBatch[]; state?: Record<string, unknown> }): Promise<void> {
  await db.transaction(async (tx) => {
    const held = await tx
      .update(jobs)
      .set({ state: merged(opts.state ?? {}), updatedAt: new Date() })
      .where(and(eq(jobs.id, opts.jobId), eq(jobs.leaseOwner, opts.owner), isJobActive))
      .returning({ id: jobs.id });
    if (held.length === 0) throw new LeaseLostError(`job ${opts.jobId}`);
    if (opts.batches.length === 0) return;
    const [last] = await tx.select({ seq: sql<number>`coalesce(max(${jobBatches.seq}), 0)::int` }).from(jobBatches).where(eq(jobBatches.jobId, opts.jobId));
    const start = (last?.seq ?? 0) + 1;
    await tx.insert(jobBatches).values(opts.batches.map((b, i) => ({ jobId: opts.jobId, seq: start + i, status: 'pending', payload: b.payload, externalIds: b.externalIds, records: b.records })));
  });
}

/** Batches of a job by status, and the records they cover. */
export async function batchCounts(db: Database, jobId: string): Promise<{ pending: number; done: number; failed: number; records: number }> {
  const [row] = await db
    .select({
      pending: sql<number>`count(*) filter (where ${jobBatches.status} = 'pending')::int`,
      done: sql<number>`count(*) filter (where ${jobBatches.status} = 'done')::int`,
      failed: sql<number>`count(*) filter (where ${jobBatches.status} = 'failed')::int`,
      records: sql<number>`coalesce(sum(${jobBatches.records}), 0)::int`,
    })
    .from(jobBatches)
    .where(eq(jobBatches.jobId, jobId));
  return row ?? { pending: 0, done: 0, failed: 0, records: 0 };
}

/** Claims the first pending batch (by job age, then seq) of an active job of `kinds` whose lease is free or expired. */
export async function claimBatch(db: Database, opts: { owner: string; leaseMs: number; kinds: string[] }): Promise<BatchRow | undefined> {
  return db.transaction(async (tx) => {
    const [due] = await tx
      .select({ id: jobBatches.id })
      .from(jobBatches)
      .where(and(
        eq(jobBatches.status, 'pending'),
        or(isNull(jobBatches.leaseExpiresAt), lt(jobBatches.leaseExpiresAt, sql`now()`)),
        sql`exists (select 1 from ${jobs} j where j.id = ${jobBatches.jobId} and j.status in ('queued', 'running') and j.collection_id is not null and j.kind in (${sql.join(opts.kinds.map((k) => sql`${k}`), sql`, `)}))`,
      ))
      .orderBy(asc(jobBatches.id))
      .limit(1)
      .for('update', { skipLocked: true });
    if (!due) return undefined;
    const [claimed] = await tx
      .update(jobBatches)
      .set({ leaseOwner: opts.owner, leaseExpiresAt: leaseUntil(opts.leaseMs), attempts: sql`${jobBatches.attempts} + 1` })
      .where(eq(jobBatches.id, due.id))
      .returning();
    return claimed;
  });
}

/** Extends a held batch lease; false once it is lost or its job stopped being active. */
export async function renewBatchLease(db: Database, batch: BatchRow, owner: string, leaseMs: number): Promise<boolean> {
  const rows = await db
    .update(jobBatches)
    .set({ leaseExpiresAt: leaseUntil(leaseMs) })
    .where(and(
      eq(jobBatches.id, batch.id), eq(jobBatches.leaseOwner, owner), eq(jobBatches.status, 'pending'),
      sql`exists (select 1 from ${jobs} j where j.id = ${batch.jobId} and j.status in ('queued', 'running') and j.collection_id is not null)`,
    ))
    .returning({ id: jobBatches.id });
  return rows.length > 0;
}

/**
 * Gives a held batch back: at once (a clean stop: the attempt is not counted), or after
 * `retryAfterMs` (it failed; the attempt counts towards the limit).
 */
export async function releaseBatch(db: Database, batch: BatchRow, owner: string, opts: { retryAfterMs?: number } = {}): Promise<void> {
  await db
    .update(jobBatches)
    .set({
      leaseOwner: null,
      leaseExpiresAt: opts.retryAfterMs === undefined ? null : leaseUntil(opts.retryAfterMs),
      ...(opts.retryAfterMs === undefined ? { attempts: sql`greatest(${jobBatches.attempts} - 1, 0)` } : {}),
    })
    .where(and(eq(jobBatches.id, batch.id), eq(jobBatches.leaseOwner, owner), eq(jobBatches.status, 'pending')));
}

/**
 * Fails a pending batch for good (every record counted failed, with one error line) and its
 * job with `detail`, in one transaction: failed apart, another process could find the job
 * with no pending batch in between and complete it, reporting a job that lost a batch as
 * completed. False when the batch was not pending.
 */
export async function failBatchAndJob(db: Database, batch: BatchRow, detail: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .update(jobBatches)
      .set({ status: 'failed', failed: batch.records, errors: [{ record: 0, detail: storable(detail) }], leaseOwner: null, leaseExpiresAt: null, finishedAt: new Date() })
      .where(and(eq(jobBatches.id, batch.id), eq(jobBatches.status, 'pending')))
      .returning({ id: jobBatches.id });
    if (rows.length === 0) return false;
    await tx
      .update(jobs)
      .set({
        status: 'failed', failed: sql`${jobs.failed} + ${batch.records}`, state: merged({ error: storable(detail) }),
        finishedAt: new Date(), updatedAt: new Date(), leaseOwner: null, leaseExpiresAt: null,
      })
      .where(and(eq(jobs.id, batch.jobId), inArray(jobs.status, [...ACTIVE_STATUSES])));
    return true;
  });
}

/**
 * BatchContext.commit: under the job's row lock, checks the job is active and the batch still
 * held by `owner`, runs `write`, marks the batch done (dropping its payload: only its ids are
 * needed from now on) and adds its outcome to the job's counters. All or nothing.
 * @throws JobInactiveError, LeaseLostError (nothing written); what `write` throws.
 */
export async function commitBatch(
  db: Database,
  opts: { batch: BatchRow; owner: string; outcome: BatchOutcome; write: (tx: Database) => Promise<void | BatchOutcome> },
): Promise<BatchOutcome> {
  return db.transaction(async (tx) => {
    const [job] = await tx.select({ status: jobs.status, collectionId: jobs.collectionId, counts: sql<Record<string, number> | null>`${jobs.state}->'counts'` }).from(jobs).where(eq(jobs.id, opts.batch.jobId)).for('update');
    if (!job || !(ACTIVE_STATUSES as readonly string[]).includes(job.status) || job.collectionId === null) throw new JobInactiveError(opts.batch.jobId);
    const [held] = await tx
      .select({ id: jobBatches.id })
      .from(jobBatches)
      .where(and(eq(jobBatches.id, opts.batch.id), eq(jobBatches.leaseOwner, opts.owner), eq(jobBatches.status, 'pending')))
      .for('update');
    if (!held) throw new LeaseLostError(`batch ${opts.batch.seq} of job ${opts.batch.jobId}`);
    const outcome = (await opts.write(tx as unknown as Database)) ?? opts.outcome;
    const errors = outcome.errors.map((e) => ({ record: e.record, detail: storable(e.detail) }));
    await tx
      .update(jobBatches)
      // lease_owner stays: which process wrote the batch (a done batch is never claimed again).
      .set({ status: 'done', done: outcome.done, failed: outcome.failed, errors, payload: {}, leaseExpiresAt: null, finishedAt: new Date() })
      .where(eq(jobBatches.id, opts.batch.id));
    const counts = { ...(job.counts ?? {}) };
    for (const [key, n] of Object.entries(outcome.counts ?? {})) counts[key] = (counts[key] ?? 0) + n;
    await tx
      .update(jobs)
      .set({
        done: sql`${jobs.done} + ${outcome.done}`,
        failed: sql`${jobs.failed} + ${outcome.failed}`,
        state: sql`jsonb_set(${jobs.state}, '{counts}', ${JSON.stringify(counts)}::jsonb)`,
        updatedAt: new Date(),
        ...(errors.length > 0
          ? { errors: sql`(select coalesce(jsonb_agg(e), '[]'::jsonb) from (select e from jsonb_array_elements(${jobs.errors} || ${JSON.stringify(errors)}::jsonb) e limit ${MAX_STORED_ERRORS}) s)` }
          : {}),
      })
      .where(eq(jobs.id, opts.batch.jobId));
    return outcome;
  });
}

/**
 * Of `ids`, those a later batch of the same job already wrote (seq > this batch's, done):
 * the later record wins, so this batch must not write them. Only batches after this one
 * are scanned, and backpressure keeps those few.
 */
export async function idsWrittenLater(db: Database, batch: Pick<BatchRow, 'jobId' | 'seq'>, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .select({ ids: jobBatches.externalIds })
    .from(jobBatches)
    .where(and(
      eq(jobBatches.jobId, batch.jobId),
      sql`${jobBatches.seq} > ${batch.seq}`,
      eq(jobBatches.status, 'done'),
      sql`${jobBatches.externalIds} && ARRAY[${sql.join(ids.map((id) => sql`${id}`), sql`, `)}]::text[]`,
    ));
  const wanted = new Set(ids);
  return new Set(rows.flatMap((r) => r.ids).filter((id) => wanted.has(id)));
}

/**
 * A message as jsonb can hold it: details quote the bad record's keys and values, and a
 * U+0000 or a lone surrogate there would make the progress write itself fail (issue 10).
 */
export function storable(detail: string): string {
  return detail.replaceAll('\u0000', '\\u0000').toWellFormed();
}
