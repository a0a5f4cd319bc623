import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestDatabase, DATABASE_BACKENDS, type TestDatabase } from '../../test/helpers/database.js';
import { collectionConfigFor } from '../app-deps.js';
import { ensureCollectionRecord, type CollectionRecord } from '../catalog/collections.js';
import { findDocument } from '../catalog/documents.js';
import { jobBatches } from '../db/schema.js';
import { HashEmbedder } from '../embedding/adapters/hash-embedder.js';
import type { Embedder } from '../embedding/embedder.js';
import { ImportKind } from '../imports/import-kind.js';
import { createImportJob } from '../imports/job-store.js';
import { silentLogger } from '../lib/logger.js';
import { DirectoryStorage } from '../storage/directory-storage.js';
import { LeaseLostError } from './job-errors.js';
import type { BatchContext, BatchRow, EmbedderSource } from './job-kind.js';
import { JobRunner } from './job-runner.js';
import { batchCounts, claimBatch, commitBatch, getJob } from './job-store.js';

async function until(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2400; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not reached');
}

/** Fails its first `failures` calls (an engine that fell over), then embeds. */
class FlakyEmbedder extends HashEmbedder {
  calls = 0;
  constructor(private readonly failures: number) {
    super(32, 32);
  }
  override async embedChunks(chunks: Parameters<Embedder['embedChunks']>[0]): Promise<Float32Array[]> {
    this.calls += 1;
    if (this.calls <= this.failures) throw new Error('inference worker crashed');
    return super.embedChunks(chunks);
  }
}

describe.each(DATABASE_BACKENDS)('job queue (%s)', (backend) => {
  let db: TestDatabase;
  let dir: string;
  let storage: DirectoryStorage;
  let collection: CollectionRecord;
  let runners: JobRunner[];
  const embedder = new HashEmbedder(32, 32);
  const source = (e: Embedder = embedder): EmbedderSource => ({ forBinding: async () => e });

  beforeEach(async () => {
    db = await openTestDatabase(backend);
    dir = await mkdtemp(join(tmpdir(), 'biovec-jobs-'));
    storage = new DirectoryStorage(dir);
    collection = await ensureCollectionRecord(db.handle.db, collectionConfigFor(embedder)('default', { distance: 'cosine', chunkOverlap: 0 }));
    runners = [];
  });
  afterEach(async () => {
    await Promise.all(runners.map((r) => r.stop()));
    await db.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  const runner = (opts: Partial<ConstructorParameters<typeof JobRunner>[0]> = {}) => {
    const r = new JobRunner({ db: db.handle.db, logger: silentLogger(), embedders: source(), kinds: [new ImportKind({ storage, batchSize: 4 })], pollMs: 20, ...opts });
    runners.push(r);
    return r;
  };
  const importJob = async (records: { id: string; text: string }[]) => {
    const key = `${crypto.randomUUID()}.upload`;
    await writeFile(storage.pathOf(key), records.map((r) => JSON.stringify(r)).join('\n'));
    return createImportJob(db.handle.db, collection.id, { upload: key, format: 'ndjson', mapping: {}, bytes: 1, bytesRead: 0, progress: { cursor: 0 } });
  };
  const records = (n: number, text = (i: number) => `text ${i}`) => Array.from({ length: n }, (_, i) => ({ id: `d${i}`, text: text(i) }));
  const contextFor = (batch: BatchRow, owner: string): BatchContext => ({
    db: db.handle.db, embedders: source(), logger: silentLogger(), signal: new AbortController().signal,
    commit: async (outcome, write) => void (await commitBatch(db.handle.db, { batch, owner, outcome, write })),
  });

  it('fences a commit by the batch lease: a holder whose lease expired and was taken over writes nothing', async () => {
    const planner = runner({ batchConcurrency: 0 });
    const job = await importJob(records(4));
    planner.start();
    await until(async () => (await getJob(db.handle.db, job.id)).state.planned === true);
    // The planner's part ends here. Left running, it would complete the job once b commits, and
    // the late commit below would then meet the inactive job before it meets the lease.
    await planner.stop();
    const kind = new ImportKind({ storage });
    const stale = (await claimBatch(db.handle.db, { owner: 'a', leaseMs: 60_000, kinds: ['import'] }))!;
    // a stalls past its lease; b takes the batch over.
    await db.handle.db.update(jobBatches).set({ leaseExpiresAt: sql`now() - interval '1 second'` }).where(eq(jobBatches.id, stale.id));
    const fresh = (await claimBatch(db.handle.db, { owner: 'b', leaseMs: 60_000, kinds: ['import'] }))!;
    expect(fresh.id).toBe(stale.id);
    expect(fresh.attempts).toBe(2);
    await expect(kind.processBatch(stale, job, contextFor(stale, 'a'))).rejects.toBeInstanceOf(LeaseLostError);
    expect(await findDocument(db.handle.db, collection, 'd0')).toBeUndefined();
    await kind.processBatch(fresh, job, contextFor(fresh, 'b'));
    expect((await getJob(db.handle.db, job.id)).done).toBe(4);
    // Done once: a late second commit of the same batch is refused too.
    await expect(kind.processBatch(fresh, job, contextFor(fresh, 'b'))).rejects.toBeInstanceOf(LeaseLostError);
    expect((await getJob(db.handle.db, job.id)).done).toBe(4);
  });

  it('keeps the later record of a repeated id when the later batch commits first, and when it commits last', async () => {
    const planner = runner({ batchConcurrency: 0 });
    // Batches of 4: x sits in batch 1 (record 1) and batch 2 (record 5), y in batch 1 (record 2) and batch 2 (record 6).
    const input = [{ id: 'x', text: 'old x' }, { id: 'y', text: 'old y' }, { id: 'p', text: 'p' }, { id: 'q', text: 'q' }, { id: 'x', text: 'new x' }, { id: 'y', text: 'new y' }];
    const job = await importJob(input);
    planner.start();
    await until(async () => (await getJob(db.handle.db, job.id)).state.planned === true);
    const kind = new ImportKind({ storage });
    const first = (await claimBatch(db.handle.db, { owner: 'a', leaseMs: 60_000, kinds: ['import'] }))!;
    const second = (await claimBatch(db.handle.db, { owner: 'b', leaseMs: 60_000, kinds: ['import'] }))!;
    expect([first.seq, second.seq]).toEqual([1, 2]);
    await kind.processBatch(second, job, contextFor(second, 'b'));
    await kind.processBatch(first, job, contextFor(first, 'a'));
    expect((await findDocument(db.handle.db, collection, 'x'))?.body).toBe('new x');
    expect((await findDocument(db.handle.db, collection, 'y'))?.body).toBe('new y');
    await until(async () => (await getJob(db.handle.db, job.id)).status === 'completed');
    expect((await getJob(db.handle.db, job.id)).done).toBe(6);

    // In order, the later one simply overwrites.
    const again = await importJob([{ id: 'x', text: 'newer x' }, { id: 'p', text: 'p' }, { id: 'q', text: 'q' }, { id: 'r', text: 'r' }, { id: 'x', text: 'newest x' }]);
    runner();
    runners.at(-1)!.start();
    await until(async () => (await getJob(db.handle.db, again.id)).status === 'completed');
    expect((await findDocument(db.handle.db, collection, 'x'))?.body).toBe('newest x');
  });

  it('stops reading the upload while the job has maxPendingBatches batches waiting, and goes on as they are embedded', async () => {
    const planner = runner({ batchConcurrency: 0, maxPendingBatches: 2 });
    const job = await importJob(records(40));
    planner.start();
    await until(async () => (await batchCounts(db.handle.db, job.id)).pending === 2);
    // The planner waits: nothing embeds, so the count cannot pass 2 and planning is not done.
    await new Promise((r) => setTimeout(r, 300));
    expect((await batchCounts(db.handle.db, job.id)).pending).toBe(2);
    expect((await getJob(db.handle.db, job.id)).state.planned).toBeUndefined();
    runner({ shouldPlan: false, batchConcurrency: 1 }).start();
    await until(async () => (await getJob(db.handle.db, job.id)).status === 'completed');
    expect(await batchCounts(db.handle.db, job.id)).toMatchObject({ pending: 0, done: 10, failed: 0, records: 40 });
  });

  it('retries a batch whose embedding failed unexpectedly, and fails the job once a batch keeps failing', async () => {
    const flaky = new FlakyEmbedder(1);
    runner({ embedders: source(flaky) }).start();
    const job = await importJob(records(4));
    await until(async () => (await getJob(db.handle.db, job.id)).status !== 'running' && (await getJob(db.handle.db, job.id)).status !== 'queued');
    expect(await getJob(db.handle.db, job.id)).toMatchObject({ status: 'completed', done: 4 });
    expect(flaky.calls).toBe(2);

    await Promise.all(runners.map((r) => r.stop()));
    runner({ embedders: source(new FlakyEmbedder(100)), maxBatchAttempts: 2 }).start();
    const doomed = await importJob(records(4));
    // Its upload goes just after the failed status (both batch and job fail in one transaction).
    await until(async () => (await getJob(db.handle.db, doomed.id)).status !== 'running' && !(await storage.exists(doomed.state.upload as string)));
    const failed = await getJob(db.handle.db, doomed.id);
    // Never `completed`: a job whose batch failed for good once raced to completed, done 0.
    expect(failed).toMatchObject({ status: 'failed', done: 0, failed: 4 });
    expect(failed.state.error).toBe('the import failed at records 1–4; see the server log');
  });
});
